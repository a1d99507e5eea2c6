/**
 * The TensorFlow.js engine against the float64 reference: kernel numbers (loss, gradient, R-operator hvp),
 * driver curves and sharpness, pack independence, tensor hygiene, and backend selection.
 * Tolerances are float32-sized: relative ~1e-4 on max-abs-scaled vectors, ~1e-3 on lambda_max.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createReferenceEngine, engineIdentity } from '../../core/engines/index.js';
import { createReferenceKernel } from '../../core/engines/reference-kernel.js';
import { createTfjsEngine, createTfjsKernel, selectTfjsBackend, TFJS_BACKEND_ENV } from '../../core/engines/tfjs.js';
import type { KernelInit, PackKernel } from '../../core/kernel.js';
import { defaultDatasetSpec, makeSpirals } from '../../core/data.js';
import { initParams } from '../../core/model.js';
import { createRng } from '../../core/prng.js';
import { trainPack } from '../../core/train.js';
import { LOSSES, lossFamily, type LossName, type TrialConfig, type TrialOutcome } from '../../core/types.js';
import { maxAbs, maxAbsDiff, packOf, trialConfig } from './science-helpers.js';

// The native TensorFlow backend joins when it is built (`npm run native`; scripts/test.sh builds it, and
// test/unit/tfjs-native.test.ts fails where it must be there and is not).
const NATIVE = await selectTfjsBackend('tensorflow').then(() => true, () => false);
const BACKENDS = ['cpu', 'wasm', ...(NATIVE ? (['tensorflow'] as const) : [])];
const WIDTH = 8;
const dataset = defaultDatasetSpec({ pointsPerClass: 20 }); // 60 training points
const TFJS_ENGINE = engineIdentity('tfjs');

/** Max-abs difference relative to the reference's max-abs, per trial block of length `block`. */
function relBlocks(a: ArrayLike<number>, ref: ArrayLike<number>, block: number): number[] {
  const out: number[] = [];
  for (let off = 0; off < ref.length; off += block) {
    const ra = Array.from(a).slice(off, off + block);
    const rr = Array.from(ref).slice(off, off + block);
    out.push(maxAbsDiff(ra, rr) / Math.max(maxAbs(rr), 1e-12));
  }
  return out;
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

/** K = 3 trials of one loss, different seeds and learning rates, non-trivial class weights. */
function packInit(loss: LossName, init: 'glorot-normal' | 'standard' = 'standard'): { init: KernelInit; gammas: Float64Array } {
  const train = makeSpirals(dataset, 'train');
  const validation = makeSpirals(dataset, 'validation');
  const seeds = [11, 12, 13];
  const trials = seeds.map((seed, k) => ({ loss, lr: [0.5, 0.1, 1][k], theta: initParams(WIDTH, 3, init, seed, 2) }));
  // 'standard' init has zero biases; give them some size so every block of the gradient is exercised.
  const rng = createRng(99, 'test/bias');
  for (const t of trials) for (let i = 2 * WIDTH; i < 3 * WIDTH; i++) t.theta[i] = 0.3 * rng.normal();
  const gammas = Float64Array.from([0.4, 1.9, 0.7, 1.2, 0.3, 1.5, 2.2, 0.5, 0.3]);
  return { init: { width: WIDTH, train, validation, trials }, gammas };
}

function randomVector(n: number, seed: number): Float64Array {
  const rng = createRng(seed, 'test/v');
  return Float64Array.from({ length: n }, () => rng.normal());
}

/** Everything numeric of an outcome that must agree across engines. */
function curvesOf(o: TrialOutcome) {
  return { curves: o.record.curves, sharpness: o.record.sharpness, final: o.record.final };
}

const savedEnv = process.env[TFJS_BACKEND_ENV];
afterAll(() => {
  if (savedEnv === undefined) delete process.env[TFJS_BACKEND_ENV];
  else process.env[TFJS_BACKEND_ENV] = savedEnv;
});

for (const backend of BACKENDS) {
  describe(`tfjs kernel on ${backend}`, () => {
    beforeAll(async () => {
      const sel = await selectTfjsBackend(backend);
      expect(sel.label).toBe(backend);
      expect(tf.getBackend()).toBe(backend);
    });

    for (const loss of LOSSES) {
      it(`${loss}: loss, accuracy, gradient, hvp and one step agree with the reference`, async () => {
        const { init, gammas } = packInit(loss);
        const ref = await createReferenceKernel(init);
        const ker = await createTfjsKernel(init);
        try {
          expect(ker.backend).toBe(backend);
          expect(ker.size).toBe(3);
          expect(ker.paramCount).toBe(ref.paramCount);
          const P = ref.paramCount;
          for (const split of ['train', 'validation'] as const) {
            const a = ker.evaluate(split, gammas);
            const b = ref.evaluate(split, gammas);
            for (let k = 0; k < 3; k++) {
              expect(relErr(a.loss[k], b.loss[k])).toBeLessThan(1e-5);
              expect(relErr(a.lossStatic[k], b.lossStatic[k])).toBeLessThan(1e-5);
              expect(a.acc[k]).toBe(b.acc[k]);
            }
          }
          // Dynamical losses really see the weights (guards against a silently static kernel).
          if (loss !== 'ce' && loss !== 'mse') {
            const a = ker.evaluate('train', gammas);
            expect(relErr(a.loss[0], a.lossStatic[0])).toBeGreaterThan(1e-2);
          }
          for (const r of relBlocks(ker.gradient(gammas), ref.gradient(gammas), P)) expect(r).toBeLessThan(1e-4);
          for (const seed of [1, 2]) {
            const v = randomVector(3 * P, seed);
            for (const r of relBlocks(ker.hvp(v, gammas), ref.hvp(v, gammas), P)) expect(r).toBeLessThan(1e-4);
          }
          // One step with trial 1 inactive: losses before the step, parameters after.
          const active = Uint8Array.from([1, 0, 1]);
          const la = ker.step(gammas, active);
          const lb = ref.step(gammas, active);
          for (let k = 0; k < 3; k++) expect(relErr(la[k], lb[k])).toBeLessThan(1e-5);
          for (let k = 0; k < 3; k++) {
            const pa = ker.getParams(k);
            const pb = ref.getParams(k);
            expect(maxAbsDiff(pa, pb) / maxAbs(pb)).toBeLessThan(1e-5);
          }
          // The inactive trial kept its parameters (up to float32 rounding of the upload).
          expect(maxAbsDiff(ker.getParams(1), init.trials[1].theta)).toBeLessThan(1e-6);
          // hvp after a step uses the new parameters (forward cache invalidated).
          const v = randomVector(3 * P, 3);
          for (const r of relBlocks(ker.hvp(v, gammas), ref.hvp(v, gammas), P)) expect(r).toBeLessThan(1e-4);
          // setParams round trip, and it invalidates cached forward state.
          const theta = randomVector(P, 4).map((x) => 0.5 * x);
          ker.setParams(2, theta);
          ref.setParams(2, theta);
          expect(maxAbsDiff(ker.getParams(2), theta)).toBeLessThan(1e-6);
          for (const r of relBlocks(ker.hvp(v, gammas), ref.hvp(v, gammas), P)) expect(r).toBeLessThan(1e-4);
          for (const r of relBlocks(ker.gradient(gammas), ref.gradient(gammas), P)) expect(r).toBeLessThan(1e-4);
        } finally {
          ker.dispose();
          ref.dispose();
        }
      });
    }

    it('driver: curves and lambda_max follow the reference engine (both families)', async () => {
      const common: Partial<TrialConfig> = {
        dataset,
        width: WIDTH,
        steps: 40,
        evalEvery: 10,
        sharpnessEvery: 20,
        sharpness: { method: 'lanczos', iterations: 12 },
      };
      const packs = [
        [
          trialConfig({ ...common, loss: 'ce', seed: 1, lr: 0.5 }),
          trialConfig({ ...common, loss: 'dce', period: 20, amplitude: 5, seed: 2, lr: 1 }),
          trialConfig({ ...common, loss: 'dce', period: 16, amplitude: 20, seed: 3, lr: 0.5 }),
        ],
        [
          trialConfig({ ...common, loss: 'mse', seed: 1, lr: 0.5 }),
          trialConfig({ ...common, loss: 'dmse1', period: 20, amplitude: 5, seed: 2, lr: 0.3 }),
          trialConfig({ ...common, loss: 'dmse2', period: 16, amplitude: 20, seed: 3, lr: 0.3 }),
        ],
      ];
      const refEngine = createReferenceEngine();
      for (const configs of packs) {
        const pack = packOf(configs.map((c) => ({ ...c, engine: 'tfjs' as const })));
        const got = await trainPack(pack, createTfjsKernel, TFJS_ENGINE);
        const want = await refEngine.trainPack(pack);
        for (let k = 0; k < configs.length; k++) {
          const a = curvesOf(got[k]);
          const b = curvesOf(want[k]);
          expect(got[k].record.diverged).toBe(false);
          expect(got[k].record.engine).toEqual({ name: 'tfjs', version: TFJS_ENGINE.version, backend });
          expect(a.curves.step).toEqual(b.curves.step);
          expect(a.sharpness.step).toEqual(b.sharpness.step);
          // It trains (not a frozen kernel); dynamical trials mid-cycle need not have a lower static loss.
          if (k === 0) expect(a.curves.trainLossStatic.at(-1)).toBeLessThan(a.curves.trainLossStatic[0]);
          expect(a.curves.trainLoss.at(-1)).not.toBe(a.curves.trainLoss[0]);
          for (const key of ['trainLoss', 'trainLossStatic'] as const) {
            a.curves[key].forEach((x, i) => expect(relErr(x, b.curves[key][i])).toBeLessThan(1e-3));
          }
          a.curves.valLoss.forEach((x, i) => expect(relErr(x as number, b.curves.valLoss[i] as number)).toBeLessThan(1e-3));
          a.curves.trainAcc.forEach((x, i) => expect(Math.abs(x - b.curves.trainAcc[i])).toBeLessThanOrEqual(1 / 60 + 1e-12));
          for (const key of ['dynamic', 'static'] as const) {
            a.sharpness[key].forEach((x, i) => expect(relErr(x as number, b.sharpness[key][i] as number)).toBeLessThan(1e-3));
          }
          expect(relErr(a.final.sharpnessDynamic as number, b.final.sharpnessDynamic as number)).toBeLessThan(1e-3);
          // Same artifact layout; parameters close.
          expect(got[k].artifact.gamma).toEqual(want[k].artifact.gamma);
          const fa = got[k].artifact.W2.flat();
          const fb = want[k].artifact.W2.flat();
          expect(maxAbsDiff(fa, fb) / maxAbs(fb)).toBeLessThan(1e-3);
        }
      }
    });

    it('a pack of K equals K packs of 1, also when a pack-mate blows up', async () => {
      for (const loss of ['dce', 'dmse2'] as const) {
        const { init, gammas } = packInit(loss);
        const K = init.trials.length;
        const P = init.trials[0].theta.length;
        const big = await createTfjsKernel(init);
        const singles: PackKernel[] = [];
        for (let k = 0; k < K; k++) {
          singles.push(await createTfjsKernel({ ...init, trials: [init.trials[k]] }));
        }
        try {
          // Trial 1 of the pack gets absurd parameters (non-finite loss); 0 and 2 must not notice.
          big.setParams(1, new Float64Array(P).fill(1e30));
          const g = (k: number) => gammas.subarray(k * 3, (k + 1) * 3);
          const ones = new Uint8Array(K).fill(1);
          for (let s = 0; s < 5; s++) {
            const lb = big.step(gammas, ones);
            expect(Number.isFinite(lb[1])).toBe(false);
            for (const k of [0, 2]) {
              const l1 = singles[k].step(Float64Array.from(g(k)), Uint8Array.of(1));
              expect(relErr(lb[k], l1[0])).toBeLessThan(1e-6);
            }
          }
          const v = randomVector(K * P, 7);
          const hb = big.hvp(v, gammas);
          for (const k of [0, 2]) {
            expect(maxAbsDiff(big.getParams(k), singles[k].getParams(0)) / maxAbs(singles[k].getParams(0))).toBeLessThan(1e-6);
            const h1 = singles[k].hvp(v.slice(k * P, (k + 1) * P), Float64Array.from(g(k)));
            expect(maxAbsDiff(hb.subarray(k * P, (k + 1) * P), h1) / maxAbs(h1)).toBeLessThan(1e-6);
          }
        } finally {
          big.dispose();
          for (const s of singles) s.dispose();
        }
      }
      // Through the driver: trials of one pack train exactly as alone.
      const cfg = (seed: number, amplitude: number) =>
        trialConfig({ dataset, width: WIDTH, loss: 'dce', period: 10, amplitude, seed, steps: 20, evalEvery: 10, sharpnessEvery: 10 });
      const configs = [cfg(1, 5), cfg(2, 20), cfg(3, 2)];
      const packed = await trainPack(packOf(configs), createTfjsKernel, TFJS_ENGINE);
      for (let k = 0; k < configs.length; k++) {
        const [alone] = await trainPack(packOf([configs[k]]), createTfjsKernel, TFJS_ENGINE);
        const a = curvesOf(packed[k]);
        const b = curvesOf(alone);
        a.curves.trainLoss.forEach((x, i) => expect(relErr(x, b.curves.trainLoss[i])).toBeLessThan(1e-6));
        a.sharpness.dynamic.forEach((x, i) => expect(relErr(x as number, b.sharpness.dynamic[i] as number)).toBeLessThan(1e-5));
      }
    });

    it('leaks no tensors over 100 steps, evaluations, gradients and hvps', async () => {
      const before = tf.memory().numTensors;
      for (const loss of ['dce', 'dmse1'] as const) {
        const { init, gammas } = packInit(loss);
        const ker = await createTfjsKernel(init);
        const ones = new Float64Array(gammas.length).fill(1);
        const active = new Uint8Array(3).fill(1);
        const P = ker.paramCount;
        const cycle = (s: number) => {
          const gam = s % 2 === 0 ? gammas : ones;
          ker.step(gam, active);
          if (s % 10 === 0) {
            ker.evaluate('train', gam);
            ker.evaluate('validation', ones);
            ker.getParams(s % 3);
            ker.gradient(gam);
            ker.hvp(randomVector(3 * P, s), gam);
            ker.hvp(randomVector(3 * P, s + 1), gam);
          }
          // Some trial inactive for a while (the kernel caches one mask tensor once it has seen one).
          if (s === 5 || s === 80) active[1] = 0;
          if (s === 60) active[1] = 1;
          if (s === 50) ker.setParams(1, init.trials[1].theta);
        };
        for (let s = 0; s < 10; s++) cycle(s);
        const warm = tf.memory().numTensors;
        for (let s = 10; s < 110; s++) cycle(s);
        expect(tf.memory().numTensors).toBe(warm);
        ker.dispose();
        ker.dispose(); // idempotent
        expect(() => ker.step(gammas, active)).toThrow(/dispose/);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}

describe('tfjs backend selection', () => {
  const noNative = (spec: string): Promise<unknown> =>
    spec.startsWith('@tensorflow/tfjs-node') ? Promise.reject(new Error(`Cannot find module '${spec}'`)) : import(spec);
  const nothing = (spec: string): Promise<unknown> => Promise.reject(new Error(`Cannot find module '${spec}'`));

  afterEach(async () => {
    await selectTfjsBackend('cpu');
  });

  it('auto falls back cleanly when the native module is absent: wasm, then cpu', async () => {
    const a = await selectTfjsBackend('auto', { importModule: noNative, env: {} });
    expect(a.label).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(a.skipped.map((s) => s.label)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(a.skipped[0].reason).toMatch(/Cannot find module/);
    const b = await selectTfjsBackend(undefined, { importModule: nothing, env: {} });
    expect(b.label).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(b.skipped.map((s) => s.label)).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm']);
  });

  it('auto with the real module loader picks a working backend', async () => {
    const s = await selectTfjsBackend(undefined, { env: {} });
    expect(['tensorflow-gpu', 'tensorflow', 'wasm']).toContain(s.label);
    if (s.label === 'wasm') expect(s.skipped.map((x) => x.label)).toEqual(['tensorflow-gpu', 'tensorflow']);
  });

  it('honours DYNSWEEP_TFJS_BACKEND; an explicit argument wins; forced backends do not fall back', async () => {
    expect((await selectTfjsBackend(undefined, { env: { [TFJS_BACKEND_ENV]: 'wasm' } })).label).toBe('wasm');
    expect((await selectTfjsBackend(undefined, { env: { [TFJS_BACKEND_ENV]: ' CPU ' } })).label).toBe('cpu');
    expect((await selectTfjsBackend('wasm', { env: { [TFJS_BACKEND_ENV]: 'cpu' } })).label).toBe('wasm');
    await expect(selectTfjsBackend(undefined, { env: { [TFJS_BACKEND_ENV]: 'gpu-please' } })).rejects.toThrow(/unknown backend/);
    await expect(selectTfjsBackend('tensorflow', { importModule: noNative })).rejects.toThrow(/no usable backend.*Cannot find module/);
    await expect(selectTfjsBackend('native', { importModule: noNative })).rejects.toThrow(/tensorflow-gpu.*tensorflow/);
  });

  it('createTfjsEngine reports the backend it runs on (env var via process.env)', async () => {
    process.env[TFJS_BACKEND_ENV] = 'cpu';
    const e = await createTfjsEngine();
    expect({ name: e.name, backend: e.backend }).toEqual({ name: 'tfjs', backend: 'cpu' });
    process.env[TFJS_BACKEND_ENV] = 'wasm';
    const w = await createTfjsEngine();
    expect(w.backend).toBe('wasm');
    // The engine switches back to its own backend when another one became current meanwhile.
    await selectTfjsBackend('cpu');
    const cfg = trialConfig({ dataset, width: WIDTH, loss: 'ce', steps: 5, evalEvery: 5, sharpnessEvery: 0, engine: 'tfjs' });
    const [o] = await w.trainPack(packOf([cfg]));
    expect(o.record.engine.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(lossFamily(o.artifact.loss)).toBe('ce');
  });
});
