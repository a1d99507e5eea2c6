import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTemporal, type TemporalServer } from '../support/servers.js';
import { cleanEnv, lastJson, runCli, startWorker, type WorkerProcess } from '../support/cli.js';
import type { TrialArtifact, TrialRecord } from '../../core/types.js';

/**
 * SCIENCE.md: "A = 1 gives exactly the static loss". Through the whole product (CLI, Temporal, worker, store),
 * a sweep with dce at A = 1 must give, trial for trial (same width, lr, seed), the results of ce, and dmse1 /
 * dmse2 at A = 1 those of mse: bit-identical final metrics, curves, sharpness traces and final parameters on the
 * same engine. No final static segment, so A = 1 is the only reason the losses coincide; packs of 3 put the
 * trials in different packs and lanes, so this also shows a trial's numbers do not depend on its pack-mates.
 */
function a1Grid(engine: 'fast' | 'reference'): string {
  return `name: a1-${engine}
dataset:
  pointsPerClass: 40
  revolutions: 2
training:
  steps: 400
  finalStaticSteps: 0
  evalEvery: 25
  sharpnessEvery: 50
grid:
  width: [3, 16]
  lr: [0.5, 2]
  loss: [ce, dce, mse, dmse1, dmse2]
  period: [30, 200]
  amplitude: [1]
  seed: [0, 1]
threshold:
  level: 0.9
  bootstrap: 100
engine: ${engine}
execution:
  packSize: 3
`;
}

describe('A = 1 reproduces the static loss through the product', () => {
  let temporal: TemporalServer;
  let worker: WorkerProcess;
  let env: NodeJS.ProcessEnv;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-a1-'));
  const store = path.join(dir, 'store');

  beforeAll(async () => {
    temporal = await startTemporal();
    env = cleanEnv({ ...temporal.env(), SWEEP_STORE: store });
    worker = await startWorker(env);
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.stop();
  });

  /** What must coincide: everything but the trial's identity, its configuration and its timing. */
  function results(rec: TrialRecord, art: TrialArtifact) {
    return {
      engine: rec.engine,
      params: rec.params,
      curves: rec.curves,
      sharpness: rec.sharpness,
      final: rec.final,
      diverged: rec.diverged,
      divergedAtStep: rec.divergedAtStep,
      stepsRun: rec.stepsRun,
      artifact: { W1: art.W1, b1: art.b1, W2: art.W2, b2: art.b2, train: art.train, gamma: art.gamma, finalSharpness: art.finalSharpness },
    };
  }

  it.each(['fast', 'reference'] as const)('%s engine: dce(A=1) = ce, dmse1(A=1) = dmse2(A=1) = mse, bit for bit', { timeout: 400_000 }, async (engine) => {
    const grid = path.join(dir, `${engine}.yaml`);
    writeFileSync(grid, a1Grid(engine));
    const run = await runCli(['start', grid, '--wait', '--json'], env, 360_000);
    expect(run.code, run.stderr).toBe(0);
    const { sweepId, trials } = lastJson<{ sweepId: string; trials: number }>(run);
    // 2 static losses x 2 widths x 2 lr x 2 seeds + 3 dynamical x 2 widths x 2 lr x 2 periods x 2 seeds.
    expect(trials).toBe(2 * 8 + 3 * 16);

    const root = path.join(store, sweepId);
    const recs = readdirSync(path.join(root, 'trials')).map((f) => JSON.parse(readFileSync(path.join(root, 'trials', f), 'utf8')) as TrialRecord);
    expect(recs).toHaveLength(trials);
    const artOf = (r: TrialRecord) => JSON.parse(readFileSync(path.join(root, r.artifactKey), 'utf8')) as TrialArtifact;
    const key = (r: TrialRecord, loss: string) => `${loss}/${r.config.width}/${r.config.lr}/${r.config.seed}`;
    const statics = new Map(recs.filter((r) => r.config.loss === 'ce' || r.config.loss === 'mse').map((r) => [key(r, r.config.loss), r]));
    expect(statics.size).toBe(16);

    let compared = 0;
    let trained = 0;
    for (const r of recs) {
      if (r.config.loss === 'ce' || r.config.loss === 'mse') continue;
      expect(r.config.amplitude).toBe(1);
      const counterpart = statics.get(key(r, r.config.loss === 'dce' ? 'ce' : 'mse'))!;
      expect(counterpart, key(r, '?')).toBeDefined();
      expect(r.trialId).not.toBe(counterpart.trialId);
      expect(r.engine.name).toBe(engine);
      // JSON text equality: bit-identical doubles (JSON round-trips every finite double exactly).
      expect(JSON.stringify(results(r, artOf(r)))).toBe(JSON.stringify(results(counterpart, artOf(counterpart))));
      // The dynamical loss's own and static curves coincide too (Gamma = 1 throughout).
      expect(r.curves.trainLoss).toEqual(r.curves.trainLossStatic);
      expect(r.sharpness.dynamic).toEqual(r.sharpness.static);
      compared++;
      if (!r.diverged && r.final.trainAcc > 0.5) trained++;
    }
    expect(compared).toBe(48);
    expect(trained).toBeGreaterThan(0); // the comparison is not between networks that learned nothing
  });
});
