import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { packLabel } from '../../activities/labels.js';
import { readPackPlan, writePlan, type Manifest } from '../../results/manifest.js';
import { MANIFEST_KEY } from '../../results/layout.js';
import { expandGrid, packsOf, parseGrid, planPacks } from '../../core/grid/index.js';
import { LocalStore } from '../../storage/local.js';

/** Planning (planSweep): pack files and a constant-size manifest, linear in the trials, with heartbeats. */

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
  it('packsOf streams the packs planPacks makes of expandGrid, in the same order', () => {
    const spec = parseGrid(gridYaml(3), 'g.yaml');
    expect([...packsOf(spec)]).toEqual(planPacks(expandGrid(spec), 4));
    const mixed = parseGrid(gridYaml(3).replace('loss: [ce, dce]', 'loss: [dce, mse, ce, dmse1]'), 'g.yaml');
    expect([...packsOf(mixed)]).toEqual(planPacks(expandGrid(mixed), 4));
  });

  it('writePlan writes one file per pack and a constant-size manifest last, with progress along the way', async () => {
    const text = gridYaml(700); // 2 widths x 2 lr x 700 seeds x (1 + 4) = 14,000 trials
    const store = new LocalStore(mkdtempSync(path.join(os.tmpdir(), 'dynsweep-plan-')), { fsync: false });
    const progress: number[] = [];
    const { manifest } = await writePlan(store, { sweepId: 's', gridYaml: text, gridFile: 'g.yaml' }, (n) => progress.push(n));
    const packs = planPacks(expandGrid(parseGrid(text, 'g.yaml')), 4);
    expect(manifest).toMatchObject({ schema: 'dynsweep.manifest/2', totalTrials: 14_000, packCount: packs.length });
    expect(JSON.parse((await store.getText(MANIFEST_KEY))!)).toEqual(manifest);
    expect((await store.getText(MANIFEST_KEY))!.length).toBeLessThan(4_000); // no trial lists
    for (const i of [0, 1, packs.length - 1]) {
      expect(await readPackPlan(store, manifest, i)).toEqual({ schema: 'dynsweep.pack/1', gridHash: manifest.gridHash, versions: manifest.versions, ...packs[i] });
    }
    expect(await readPackPlan(store, manifest, packs.length)).toBeNull();
    expect(progress).toHaveLength(packs.length);
    expect(progress.at(-1)).toBe(14_000);
  });

  it('packLabel names what a pack trains', () => {
    const packs = [...packsOf(parseGrid(gridYaml(2), 'g.yaml'))];
    expect(packs.map(packLabel).slice(0, 3)).toEqual([
      '4 trials · w=2 · ce · lr 0.5,1 · seeds 0,1 · 10 steps',
      '4 trials · w=2 · dce · lr 0.5 · T 10 · A 1,5 · seeds 0,1 · 10 steps',
      '4 trials · w=2 · dce · lr 0.5 · T 20 · A 1,5 · seeds 0,1 · 10 steps',
    ]);
  });

  it('planSweep returns the plan in brief (constant size), heartbeating', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-plan-'));
    const store = new LocalStore(dir, { fsync: false });
    const activities = createActivities({ openStore: () => store, runner: { run: () => Promise.reject(new Error('not in planning')) } });
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const text = gridYaml(700);
    const out = await env.run(activities.planSweep, { resultsUri: dir, sweepId: 's', gridYaml: text, gridFile: 'g.yaml' });
    const manifest = JSON.parse((await store.getText(MANIFEST_KEY))!) as Manifest;
    expect(out).toMatchObject({ totalTrials: 14_000, packCount: manifest.packCount, gridHash: manifest.gridHash });
    expect(JSON.stringify(out).length).toBeLessThan(1_000);
    expect(beats.length).toBe(manifest.packCount);
    expect(beats.at(-1)).toEqual({ trials: 14_000 });
  });
});
