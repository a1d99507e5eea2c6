import { describe, expect, it } from 'vitest';
import { createReferenceEngine, engineIdentity } from '../../core/engines/index.js';
import { createReferenceKernel } from '../../core/engines/reference-kernel.js';
import type { PackKernel } from '../../core/kernel.js';
import { makeSpirals } from '../../core/data.js';
import { flattenParams } from '../../core/model.js';
import { packSharpness } from '../../core/sharpness.js';
import { trainPack } from '../../core/train.js';
import type { TrialConfig, TrialOutcome, TrialRecord } from '../../core/types.js';
import { naiveLoss, packOf, trialConfig } from './science-helpers.js';

const run = (configs: TrialConfig[], index = 0) => createReferenceEngine().trainPack(packOf(configs, index));

/** Everything that must be reproducible: the record minus timing and identity. */
function numbers(o: TrialOutcome) {
  const { wallTimeS, stepsPerSecond, trialId, config, artifactKey, ...rest } = o.record;
  void [wallTimeS, stepsPerSecond, trialId, config, artifactKey];
  const { loss, ...artifact } = o.artifact;
  void loss;
  return { ...rest, artifact };
}

/** Every number in a JSON-ish value is finite (null allowed). */
function allFinite(x: unknown): boolean {
  if (typeof x === 'number') return Number.isFinite(x);
  if (Array.isArray(x)) return x.every(allFinite);
  if (x && typeof x === 'object') return Object.values(x).every(allFinite);
  return true;
}

const ce = trialConfig({ loss: 'ce', seed: 1 });
const dce = (amplitude: number, o: Partial<TrialConfig> = {}) =>
  trialConfig({ loss: 'dce', period: 50, amplitude, seed: 1, ...o });

describe('trainPack records', () => {
  it('have the documented structure, cadence and self-consistent numbers', async () => {
    const configs = [ce, dce(5, { finalStaticSteps: 20 }), dce(20, { seed: 2 })];
    const out = await run(configs);
    expect(out).toHaveLength(3);
    const train = makeSpirals(ce.dataset, 'train');
    for (const [k, { record: r, artifact: a }] of out.entries()) {
      expect(r.schema).toBe('dynsweep.trial/2');
      expect(r.params).toBe(6 * 6 + 3);
      expect(r.engine).toEqual({ name: 'reference', version: engineIdentity('reference').version, backend: 'float64' });
      expect(r.artifactKey).toBe(`artifacts/${r.trialId}.json`);
      expect(r.diverged).toBe(false);
      expect(r.divergedAtStep).toBeNull();
      expect(r.stepsRun).toBe(120);
      expect(r.curves.step).toEqual([0, 20, 40, 60, 80, 100, 120]);
      expect(r.sharpness.step).toEqual([0, 40, 80, 120]);
      for (const key of ['trainLoss', 'trainLossStatic', 'trainAcc', 'valLoss', 'valAcc'] as const) {
        expect(r.curves[key]).toHaveLength(7);
      }
      r.sharpness.dynamic.forEach((lam, i) => expect(r.sharpness.eosRatio[i]).toBe(((lam as number) * configs[k].lr) / 2));
      // It learns (the A = 20 trial is mid-cycle at the end, so only the others are checked).
      if (k < 2) expect(r.curves.trainLossStatic[6]).toBeLessThan(r.curves.trainLossStatic[0]);
      // Final metrics are the last samples; artifact sharpness is the final one.
      expect(r.final.trainLoss).toBe(r.curves.trainLoss[6]);
      expect(r.final.valAcc).toBe(r.curves.valAcc[6]);
      expect(r.final.sharpnessDynamic).toBe(r.sharpness.dynamic[3]);
      expect(r.final.sharpnessStatic).toBe(r.sharpness.static[3]);
      expect(a.finalSharpness).toEqual({ dynamic: r.final.sharpnessDynamic, static: r.final.sharpnessStatic });
      expect(a.train.y).toEqual(Array.from(train.y));
      expect(a.train.x[7]).toEqual([train.x[14], train.x[15]]);
      expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    }
    // Static loss: dynamic and static sharpness coincide; mid-cycle dce: they differ.
    expect(out[0].record.sharpness.static).toEqual(out[0].record.sharpness.dynamic);
    expect(out[2].record.sharpness.static[1]).not.toBe(out[2].record.sharpness.dynamic[1]);
    // Final gamma: ones for ce and inside the final static segment; the formula otherwise
    // (t = 120, T = 50: period 2, class 2 emphasised, tau = 20, triangle g = 1 + 19 * 0.8).
    expect(out[0].artifact.gamma).toEqual([1, 1, 1]);
    expect(out[1].artifact.gamma).toEqual([1, 1, 1]);
    const g = 1 + 19 * 0.8;
    const gam = out[2].artifact.gamma;
    expect(gam[2]).toBeCloseTo((3 * g) / (g + 2), 12);
    expect(gam[0]).toBeCloseTo(3 / (g + 2), 12);
  });

  it('artifacts recompute the final loss and sharpness independently', async () => {
    const out = await run([ce, dce(20, { seed: 3 })]);
    for (const { record: r, artifact: a } of out) {
      const theta = flattenParams(a);
      const x = Float64Array.from(a.train.x.flat());
      const data = { x, y: Int32Array.from(a.train.y), n: a.train.y.length, d: 2, classes: 3 };
      expect(naiveLoss(theta, data, 6, a.loss, a.gamma)).toBeCloseTo(r.final.trainLoss as number, 12);
      const kernel = createReferenceKernel({ width: 6, train: data, validation: data, trials: [{ loss: a.loss, lr: 1, theta }] }) as PackKernel;
      const lam = packSharpness(kernel, Float64Array.from(a.gamma), r.config.sharpness).lambda[0];
      expect(lam).toBe(a.finalSharpness.dynamic);
    }
  });
});

describe('A = 1 is the static loss', () => {
  it('dce with A = 1 gives bit-identical records to ce with the same seed, alone or packed', async () => {
    const [ceAlone] = await run([ce]);
    const [dceAlone] = await run([dce(1)]);
    expect(numbers(dceAlone)).toEqual(numbers(ceAlone));
    const mixed = await run([dce(5), dce(1), ce]);
    expect(numbers(mixed[1])).toEqual(numbers(ceAlone));
    expect(numbers(mixed[2])).toEqual(numbers(ceAlone));
    expect(numbers(mixed[0])).not.toEqual(numbers(ceAlone));
  });

  it('dmse1 and dmse2 with A = 1 give bit-identical records to mse', async () => {
    const base = { lr: 0.2, seed: 4 };
    const out = await run([
      trialConfig({ loss: 'mse', ...base }),
      trialConfig({ loss: 'dmse1', period: 30, amplitude: 1, ...base }),
      trialConfig({ loss: 'dmse2', period: 30, amplitude: 1, ...base }),
      trialConfig({ loss: 'dmse2', period: 30, amplitude: 9, ...base }),
    ]);
    expect(numbers(out[1])).toEqual(numbers(out[0]));
    expect(numbers(out[2])).toEqual(numbers(out[0]));
    expect(numbers(out[3])).not.toEqual(numbers(out[0]));
  });
});

describe('divergence', () => {
  it('is recorded with its step, not thrown; records stay finite JSON; pack-mates are unaffected', async () => {
    const healthy = trialConfig({ loss: 'mse', lr: 0.1, seed: 5, evalEvery: 10 });
    const wild = trialConfig({ loss: 'mse', lr: 50, seed: 5, evalEvery: 10 });
    const out = await run([wild, healthy]);
    const r: TrialRecord = out[0].record;
    expect(r.diverged).toBe(true);
    expect(r.divergedAtStep).toBeGreaterThan(0);
    expect(r.divergedAtStep).toBeLessThan(120);
    expect(r.stepsRun).toBe(r.divergedAtStep);
    const last = r.curves.step.length - 1;
    expect(r.curves.step[last]).toBeLessThanOrEqual(r.divergedAtStep as number);
    expect(r.curves.step.every((s) => s < (r.divergedAtStep as number))).toBe(true);
    // Final metrics are those of the last finite state, which is what the artifact holds.
    expect(r.final.trainLoss).toBe(r.curves.trainLoss[last]);
    expect(r.final.trainAcc).toBe(r.curves.trainAcc[last]);
    expect(Number.isFinite(r.final.trainLoss)).toBe(true);
    expect(allFinite(out[0])).toBe(true);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    const theta = flattenParams(out[0].artifact);
    const train = makeSpirals(wild.dataset, 'train');
    const recomputed = naiveLoss(theta, train, 6, 'mse', [1, 1, 1]);
    expect(Math.abs(recomputed / (r.final.trainLoss as number) - 1)).toBeLessThan(1e-12);
    // The healthy pack-mate is exactly what it is alone.
    expect(out[1].record.diverged).toBe(false);
    const [alone] = await run([healthy]);
    expect(numbers(out[1])).toEqual(numbers(alone));
  });

  it('a pack where every trial diverges still returns records', async () => {
    const out = await run([trialConfig({ loss: 'mse', lr: 80, seed: 6 }), trialConfig({ loss: 'dmse1', period: 20, amplitude: 5, lr: 80, seed: 7 })]);
    for (const { record } of out) {
      expect(record.diverged).toBe(true);
      expect(allFinite(record)).toBe(true);
    }
  });
});

describe('trainPack mechanics', () => {
  it('is deterministic', async () => {
    const power = { sharpness: { method: 'power' as const, iterations: 30 } };
    const configs = [dce(20, power), trialConfig({ ...power, loss: 'ce', seed: 9 })];
    const a = await run(configs);
    const b = await run(configs);
    expect(a.map(numbers)).toEqual(b.map(numbers));
  });

  it('power iteration agrees with Lanczos on the final sharpness', async () => {
    const [lan] = await run([dce(20, { sharpness: { method: 'lanczos', iterations: 20 } })]);
    const [pow] = await run([dce(20, { sharpness: { method: 'power', iterations: 2000 } })]);
    const l = lan.record.final.sharpnessDynamic as number;
    const p = pow.record.final.sharpnessDynamic as number;
    expect(Math.abs(p - l)).toBeLessThan(1e-4 * Math.abs(l));
    expect(pow.record.sharpness.dynamicResidual.at(-1) as number).toBeLessThan(1e-5 * Math.abs(p));
  });

  it('reports progress and honours abort', async () => {
    const steps: number[] = [];
    await createReferenceEngine().trainPack(packOf([trialConfig({ steps: 450, sharpnessEvery: 0 })]), {
      onProgress: (p) => steps.push(p.step),
    });
    expect(steps).toEqual([200, 400, 450]);

    const ctl = new AbortController();
    const aborted = createReferenceEngine().trainPack(packOf([trialConfig({ steps: 1000 })]), {
      signal: ctl.signal,
      onProgress: () => ctl.abort(),
    });
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects packs whose trials do not share the loop', async () => {
    await expect(run([ce, trialConfig({ loss: 'mse' })])).rejects.toThrow(/family/);
    await expect(run([ce, trialConfig({ steps: 99 })])).rejects.toThrow();
    await expect(trainPack({ index: 0, width: 7, trials: [{ id: 'x', config: ce }] }, createReferenceKernel, engineIdentity('reference'))).rejects.toThrow(/width/);
  });

  it('sharpnessEvery = 0 records sharpness only at the end', async () => {
    const [o] = await run([trialConfig({ sharpnessEvery: 0 })]);
    expect(o.record.sharpness.step).toEqual([120]);
  });
});
