import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { packLabel } from '../../activities/labels.js';
import { buildManifest, MANIFEST_KEY, type Manifest } from '../../activities/manifest.js';
import { expandGrid, parseGrid, planPacks } from '../../core/grid/index.js';
import { LocalStore } from '../../storage/local.js';

/** Planning (planSweep): the manifest, the packs and their labels, linear in the trials, with heartbeats. */

const gridYaml = (seeds: number) => `name: plan
training:
  steps: 10
grid:
  width: [2, 4]
  lr: [0.5, 1]
  loss: [ce, dce]
  period: [10, 20]
  amplitude: [1, 5]
  seed: [${Array.from({ length: seeds }, (_, i) => i).join(', ')}]
execution:
  packSize: 4
`;

describe('planning', () => {
  it('buildManifest: the packs planPacks makes of expandGrid, in the manifest by trial id, with progress along the way', async () => {
    const text = gridYaml(700); // 2 widths x 2 lr x 700 seeds x (1 + 4) = 14,000 trials: progress every 5,000
    const progress: number[] = [];
    const { manifest, packs } = await buildManifest('s', text, 'g.yaml', (n) => progress.push(n));
    const spec = parseGrid(text, 'g.yaml');
    const trials = expandGrid(spec);
    expect(manifest.trials).toEqual(trials);
    expect(packs).toEqual(planPacks(trials, 4));
    expect(manifest.packs).toEqual(packs.map((p) => ({ index: p.index, width: p.width, trialIds: p.trials.map((t) => t.id) })));
    expect(progress).toEqual([5_000, 10_000, 14_000]);
  });

  it('packLabel names what a pack trains', async () => {
    const { packs } = await buildManifest('s', gridYaml(2), 'g.yaml');
    expect(packs.map(packLabel).slice(0, 3)).toEqual([
      '4 trials · w=2 · ce · lr 0.5,1 · seeds 0,1 · 10 steps',
      '4 trials · w=2 · dce · lr 0.5 · T 10 · A 1,5 · seeds 0,1 · 10 steps',
      '4 trials · w=2 · dce · lr 0.5 · T 20 · A 1,5 · seeds 0,1 · 10 steps',
    ]);
  });

  it('planSweep writes the manifest and returns every pack with its label, heartbeating', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-plan-'));
    const store = new LocalStore(dir, { fsync: false });
    const activities = createActivities({ openStore: () => store, runner: { run: () => Promise.reject(new Error('not in planning')) } });
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const text = gridYaml(700);
    const out = await env.run(activities.planSweep, { resultsUri: dir, sweepId: 's', gridYaml: text, gridFile: 'g.yaml' });
    const manifest = JSON.parse((await store.getText(MANIFEST_KEY))!) as Manifest;
    expect(out.totalTrials).toBe(14_000);
    expect(out.packs).toHaveLength(manifest.packs.length);
    const { packs } = await buildManifest('s', text, 'g.yaml');
    expect(out.packs).toEqual(packs.map((p) => ({ index: p.index, width: p.width, size: p.trials.length, label: packLabel(p) })));
    expect(beats.slice(0, 3)).toEqual([{ trials: 5_000 }, { trials: 10_000 }, { trials: 14_000 }]); // then every 5 s while it writes
  });
});
