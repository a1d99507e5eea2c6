import { describe, expect, it } from 'vitest';
import { createFastEngine, createReferenceEngine } from '../../core/engines/index.js';
import type { GuardSpec, TrialConfig, TrialOutcome } from '../../core/types.js';
import { packOf, trialConfig } from './science-helpers.js';

/** Everything a record says about training, without timing and identity. */
function numbers(o: TrialOutcome) {
  const { wallTimeS, stepsPerSecond, trialId, config, artifactKey, guard, ...rest } = o.record;
  void [wallTimeS, stepsPerSecond, trialId, config, artifactKey, guard];
  return { ...rest, artifact: o.artifact };
}

const GUARD: GuardSpec = { lossJump: 10, every: 10, lrFactor: 0.5, maxInterventions: 6 };
/** lr 30 on mse: diverges within the 120 steps without help. */
const wild = (o: Partial<TrialConfig> = {}) => trialConfig({ loss: 'mse', lr: 30, seed: 1, sharpnessEvery: 0, ...o });

describe('training.guard', () => {
  it('rescues a trial that diverges without it, recording every intervention', async () => {
    const engine = createReferenceEngine();
    const [bare] = await engine.trainPack(packOf([wild()]));
    expect(bare.record.diverged).toBe(true);
    expect(bare.record.guard).toBeUndefined();

    const [kept] = await engine.trainPack(packOf([wild({ guard: GUARD })]));
    const log = kept.record.guard!;
    expect(kept.record.diverged).toBe(false);
    expect(kept.record.stepsRun).toBe(120);
    expect(log.interventions.length).toBeGreaterThan(0);
    expect(log.interventions.length).toBeLessThanOrEqual(GUARD.maxInterventions);
    log.interventions.forEach((iv, i) => {
      expect(iv.lr).toBeCloseTo(30 * 0.5 ** (i + 1), 12);
      expect(iv.restoredToStep % GUARD.every).toBe(0);
      expect(iv.restoredToStep).toBeLessThanOrEqual(iv.step);
    });
    expect(log.finalLr).toBe(log.interventions[log.interventions.length - 1].lr);
    expect(kept.record.curves.trainLoss.every(Number.isFinite)).toBe(true);
  });

  it('records a trial that exhausts its budget as diverged', async () => {
    const [out] = await createReferenceEngine().trainPack(packOf([wild({ lr: 1e4, guard: { ...GUARD, maxInterventions: 1, lrFactor: 0.9 } })]));
    expect(out.record.diverged).toBe(true);
    expect(out.record.guard!.interventions).toHaveLength(1);
    expect(out.record.divergedAtStep).toBeGreaterThanOrEqual(out.record.guard!.interventions[0].step);
  });

  it('changes no number while it does not intervene, and none of its pack-mates', async () => {
    for (const engine of [createReferenceEngine(), await createFastEngine()]) {
      const calm = trialConfig({ loss: 'dce', period: 50, amplitude: 5, seed: 2 });
      const [plain, mate] = await engine.trainPack(packOf([calm, trialConfig({ loss: 'ce', seed: 3 })]));
      const [watched, mate2] = await engine.trainPack(packOf([{ ...calm, guard: { ...GUARD, lossJump: 1e300 } }, trialConfig({ loss: 'ce', seed: 3 })]));
      expect(watched.record.guard!.interventions).toEqual([]);
      expect(numbers(watched)).toEqual(numbers(plain));
      expect(numbers(mate2)).toEqual(numbers(mate));
      expect(mate2.record.guard).toBeUndefined();
    }
  });
});
