/**
 * The fast (WebAssembly SIMD, float32) kernel and engine against the float64 reference: losses, gradients and
 * R-operator Hessian-vector products on small packs for all five losses; driver-level curves and lambda_max;
 * pack = separate runs; divergence. Builds the wasm module first if it is missing (npm run asbuild).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFastEngine, createReferenceEngine, engineVersions } from '../../core/engines/index.js';
import { createReferenceKernel } from '../../core/engines/reference-kernel.js';
import { createFastKernel, fastBackendOf, fastIsaFor, fastWasmCandidates, flipCapacity } from '../../core/engines/fast-kernel.js';
import type { KernelData, PackKernel } from '../../core/kernel.js';
import { defaultDatasetSpec, makeSpirals } from '../../core/data.js';
import { paramCount } from '../../core/model.js';
import { createRng } from '../../core/prng.js';
import type { LossName, TrialConfig, TrialOutcome } from '../../core/types.js';
import { maxAbs, maxAbsDiff, minAbsPreactivation, packOf, trialConfig } from './science-helpers.js';

beforeAll(() => {
  if (!fastWasmCandidates().some((p) => existsSync(p))) {
    execFileSync('npm', ['run', '-s', 'asbuild'], { stdio: 'inherit' });
  }
});

const C = 3;
const spec = defaultDatasetSpec({ pointsPerClass: 20, seed: 7 });
const train = makeSpirals(spec, 'train');
const validation = makeSpirals(spec, 'validation');

/** A random point whose pre-activations all stay `margin` away from 0 (float32 rounding never flips a ReLU). */
function pointAwayFromKinks(width: number, seed: number, data: KernelData, margin = 2e-4): Float64Array {
  const P = paramCount(width, C);
  for (let s = seed; s < seed + 1000; s++) {
    const rng = createRng(s, 'fast-test-theta');
    const th = Float64Array.from({ length: P }, () => rng.normal() * 0.8);
    if (minAbsPreactivation(th, data, width) > margin) return th;
  }
  throw new Error('no point away from kinks');
}

/** Relative agreement at float32 precision: |a - b|_inf <= tol * max(|b|_inf, floor). */
function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string, floor = 1e-3): void {
  const err = maxAbsDiff(a, b);
  const scale = Math.max(maxAbs(b), floor);
  expect(err / scale, `${what}: max error ${err} vs scale ${scale}`).toBeLessThan(tol);
}

const GAMMAS = [
  [0.45, 1.85, 0.7],
  [1.2, 0.6, 1.2],
  [0.9, 0.3, 1.8],
];

async function pair(width: number, losses: LossName[], seed: number, data = { train, validation }, margin?: number) {
  const thetas = losses.map((_, k) => pointAwayFromKinks(width, seed + 100 * k, data.train, margin));
  const trials = losses.map((loss, k) => ({ loss, lr: 0.2 + 0.1 * k, theta: thetas[k] }));
  const init = { width, ...data, trials };
  const ref = createReferenceKernel(init) as PackKernel;
  const fast = await createFastKernel({ ...init, trials: trials.map((t) => ({ ...t, theta: Float64Array.from(t.theta) })) });
  const gammas = new Float64Array(losses.length * C);
  losses.forEach((_, k) => gammas.set(GAMMAS[k % GAMMAS.length], k * C));
  return { ref, fast, gammas, P: paramCount(width, C) };
}

const CASES: [string, number, LossName[]][] = [
  ['ce family, width 8', 8, ['ce', 'dce', 'dce']],
  ['mse family, width 8', 8, ['mse', 'dmse1', 'dmse2']],
  ['ce family, width 37', 37, ['dce', 'ce', 'dce']],
  ['mse family, width 37', 37, ['dmse2', 'dmse1', 'mse']],
];

describe('fast kernel vs reference at 1,050 points and width 100 (products along the sample tour)', () => {
  const big = defaultDatasetSpec({ pointsPerClass: 350, seed: 8 });
  const data = { train: makeSpirals(big, 'train'), validation: makeSpirals(big, 'validation') };
  it.each([
    ['ce family', ['ce', 'dce', 'dce'] as LossName[]],
    ['mse family', ['mse', 'dmse1', 'dmse2'] as LossName[]],
  ])('%s: hvp() agrees, before and after a step', async (_name, losses) => {
    expect(flipCapacity(data.train.n, 100), 'this shape takes the flip lists').toBeGreaterThan(0);
    const { ref, fast, gammas, P } = await pair(100, losses, 21, data, 1e-5);
    const rng = createRng(10, 'fast-test-v');
    const v = Float64Array.from({ length: 3 * P }, () => rng.normal());
    for (const when of ['at the start', 'after a step']) {
      const h = fast.hvp(v, gammas);
      const hr = ref.hvp(v, gammas);
      for (let k = 0; k < 3; k++) {
        expectClose(h.subarray(k * P, (k + 1) * P), hr.subarray(k * P, (k + 1) * P), 1e-4, `hvp trial ${k} (${losses[k]}) ${when}`);
      }
      // The same small step on both (the reference's parameters copied into the fast kernel: their float32 rounding
      // stays below the tolerance, and no pre-activation crosses zero at this margin).
      ref.step(gammas, new Uint8Array(3).fill(1));
      for (let k = 0; k < 3; k++) fast.setParams(k, ref.getParams(k));
    }
  });
});

describe.each(CASES)('fast kernel vs reference: %s', (_name, width, losses) => {
  it('has the spirals backend (native when built, else wasm) and the shape of the pack', async () => {
    const { fast, P } = await pair(width, losses, 1);
    expect(fast.backend).toBe(fastBackendOf(fastIsaFor(2, 3, 3)));
    expect(fast.size).toBe(3);
    expect(fast.paramCount).toBe(P);
  });

  it('evaluate() agrees on both splits (loss, static loss, accuracy)', async () => {
    const { ref, fast, gammas } = await pair(width, losses, 2);
    for (const split of ['train', 'validation'] as const) {
      const a = fast.evaluate(split, gammas);
      const b = ref.evaluate(split, gammas);
      expectClose(a.loss, b.loss, 2e-5, `${split} loss`);
      expectClose(a.lossStatic, b.lossStatic, 2e-5, `${split} static loss`);
      expect(maxAbsDiff(a.acc, b.acc)).toBeLessThanOrEqual(1 / 60 + 1e-12); // at most one tie-level flip
    }
  });

  it('gradient() and hvp() agree (all five losses, non-trivial gammas)', async () => {
    const { ref, fast, gammas, P } = await pair(width, losses, 3);
    const g = fast.gradient(gammas);
    const gr = ref.gradient(gammas);
    for (let k = 0; k < 3; k++) {
      expectClose(g.subarray(k * P, (k + 1) * P), gr.subarray(k * P, (k + 1) * P), 1e-4, `gradient trial ${k} (${losses[k]})`);
    }
    const rng = createRng(9, 'fast-test-v');
    const v = Float64Array.from({ length: 3 * P }, () => rng.normal());
    const h = fast.hvp(v, gammas);
    const hr = ref.hvp(v, gammas);
    for (let k = 0; k < 3; k++) {
      expectClose(h.subarray(k * P, (k + 1) * P), hr.subarray(k * P, (k + 1) * P), 1e-4, `hvp trial ${k} (${losses[k]})`);
    }
    // Into given storage (a warm solve's workspace): the same numbers, in that array.
    const out = new Float64Array(3 * P).fill(NaN);
    expect(fast.hvp(v, gammas, undefined, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(h));
  });

  it('step() returns the same losses and moves the parameters the same way; inactive trials stay put', async () => {
    const { ref, fast, gammas, P } = await pair(width, losses, 4);
    const active = Uint8Array.from([1, 0, 1]);
    const before = fast.getParams(1);
    for (let s = 0; s < 5; s++) {
      const l = fast.step(gammas, active);
      const lr = ref.step(gammas, active);
      expectClose(l, lr, 5e-5, `step ${s} loss`);
    }
    expect(fast.getParams(1)).toEqual(before);
    for (let k = 0; k < 3; k++) expectClose(fast.getParams(k), ref.getParams(k), 2e-5, `params ${k}`, 1);
    expect(P).toBe(6 * width + 3);
  });
});

describe('fast kernel details', () => {
  it('setParams/getParams round-trip at float32 precision, lane by lane, with padding lanes', async () => {
    const { fast, P } = await pair(8, ['ce', 'dce', 'ce'], 5);
    const th = Float64Array.from({ length: P }, (_, i) => i / 7 - 3);
    fast.setParams(2, th);
    expect(Array.from(fast.getParams(2))).toEqual(Array.from(Float32Array.from(th)));
  });

  it('reports non-finite losses (overflow and NaN parameters)', async () => {
    const { fast, gammas, P } = await pair(8, ['mse', 'dmse1', 'dmse2'], 6);
    fast.setParams(0, new Float64Array(P).fill(1e30));
    const nan = fast.getParams(1);
    nan[P - 1] = NaN; // b2[2]: NaN logits (a NaN pre-activation would just read as a dead unit, as in the reference)
    fast.setParams(1, nan);
    const l = fast.step(gammas, Uint8Array.from([1, 1, 1]));
    expect(Number.isFinite(l[0])).toBe(false);
    expect(Number.isNaN(l[1])).toBe(true);
    expect(Number.isFinite(l[2])).toBe(true);
    const m = fast.evaluate('train', gammas);
    expect(Number.isFinite(m.loss[0])).toBe(false);
    expect(Number.isFinite(m.loss[2])).toBe(true);
    const { fast: ce, gammas: g2, P: P2 } = await pair(8, ['ce', 'dce', 'dce'], 6);
    ce.setParams(1, new Float64Array(P2).fill(Infinity));
    const lc = ce.step(g2, Uint8Array.from([1, 1, 1]));
    expect(Number.isFinite(lc[1])).toBe(false);
    expect(Number.isFinite(lc[0]) && Number.isFinite(lc[2])).toBe(true);
  });

  it('runs shapes other than d = 2, C = 3 in wasm too (never a silent fallback; exactness: kernel-shapes.test.ts)', async () => {
    const four = makeSpirals(defaultDatasetSpec({ pointsPerClass: 5, classes: 4 }), 'train');
    const init = { width: 4, train: four, validation: four, trials: [{ loss: 'ce' as const, lr: 0.1, theta: Float64Array.from({ length: paramCount(4, 4) }, (_, i) => Math.sin(i)) }] };
    const k = await createFastKernel(init);
    expect(k.backend).toBe('wasm-simd');
    const ref = createReferenceKernel(init);
    const ones = new Float64Array(4).fill(1);
    expectClose(k.gradient(ones), ref.gradient(ones), 1e-4, 'gradient, 4 classes');
  });
});

/** Driver-level: the fast engine against the reference engine on short runs. */
const cfg = (o: Partial<TrialConfig>) =>
  trialConfig({ dataset: spec, width: 16, steps: 150, evalEvery: 25, sharpnessEvery: 50, engine: 'fast', ...o });

function relErr(a: number | null, b: number | null): number {
  if (a === null || b === null) return a === b ? 0 : Infinity;
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

describe('fast engine (driver level)', () => {
  const configs = [
    cfg({ loss: 'ce', seed: 1 }),
    cfg({ loss: 'dce', period: 60, amplitude: 5, seed: 2 }),
    cfg({ loss: 'dce', period: 40, amplitude: 20, seed: 3, lr: 0.3 }),
  ];
  const mseConfigs = [
    cfg({ loss: 'mse', seed: 1, lr: 0.3 }),
    cfg({ loss: 'dmse1', period: 60, amplitude: 5, seed: 2, lr: 0.3 }),
    cfg({ loss: 'dmse2', period: 40, amplitude: 20, seed: 3, lr: 0.3 }),
  ];

  it('has the engine identity', async () => {
    const e = await createFastEngine();
    expect(e.name).toBe('fast');
    expect(e.backend).toBe(fastBackendOf(fastIsaFor(2, 3)));
    const [o] = await e.trainPack(packOf([cfg({ steps: 10 })]));
    expect(o.record.engine).toEqual({ name: 'fast', version: engineVersions().fast, backend: fastBackendOf(fastIsaFor(2, 3, 1)) });
  });

  it.each([
    ['ce family', configs],
    ['mse family', mseConfigs],
  ])('curves and lambda_max agree with the reference (%s)', async (_n, cs) => {
    const fast = await (await createFastEngine()).trainPack(packOf(cs));
    const ref = await createReferenceEngine().trainPack(packOf(cs.map((c) => ({ ...c, engine: 'reference' as const }))));
    for (let k = 0; k < cs.length; k++) {
      const a = fast[k].record;
      const b = ref[k].record;
      expect(a.diverged).toBe(false);
      expect(a.curves.step).toEqual(b.curves.step);
      expect(a.sharpness.step).toEqual(b.sharpness.step);
      a.curves.trainLoss.forEach((l, i) => expect(relErr(l, b.curves.trainLoss[i])).toBeLessThan(1e-3));
      a.curves.valLoss.forEach((l, i) => expect(relErr(l, b.curves.valLoss[i])).toBeLessThan(1e-3));
      a.curves.trainAcc.forEach((x, i) => expect(Math.abs(x - b.curves.trainAcc[i])).toBeLessThanOrEqual(2 / 60));
      a.sharpness.dynamic.forEach((l, i) => expect(relErr(l, b.sharpness.dynamic[i]), `dyn ${k} ${i}`).toBeLessThan(1e-3));
      a.sharpness.static.forEach((l, i) => expect(relErr(l, b.sharpness.static[i]), `stat ${k} ${i}`).toBeLessThan(1e-3));
      expect(relErr(a.final.sharpnessDynamic, b.final.sharpnessDynamic)).toBeLessThan(1e-3);
    }
  });

  it('a pack gives exactly the numbers of separate single-trial runs', async () => {
    const engine = await createFastEngine();
    const cs = [...configs, cfg({ loss: 'ce', seed: 9, lr: 0.7 }), cfg({ loss: 'dce', period: 30, amplitude: 70, seed: 4 })];
    const packed = await engine.trainPack(packOf(cs));
    const numbers = (o: TrialOutcome) => ({ c: o.record.curves, s: o.record.sharpness, f: o.record.final, a: o.artifact });
    for (let k = 0; k < cs.length; k++) {
      const [single] = await engine.trainPack(packOf([cs[k]], 1));
      expect(numbers(packed[k])).toEqual(numbers(single));
    }
  });

  it('detects divergence like the reference (non-finite loss, rollback to the last finite state)', async () => {
    const cs = [cfg({ loss: 'mse', lr: 40, seed: 1 }), cfg({ loss: 'mse', lr: 0.3, seed: 2 })];
    const fast = await (await createFastEngine()).trainPack(packOf(cs));
    const ref = await createReferenceEngine().trainPack(packOf(cs.map((c) => ({ ...c, engine: 'reference' as const }))));
    expect(ref[0].record.diverged).toBe(true);
    expect(fast[0].record.diverged).toBe(true);
    // float32 overflows at 3.4e38, float64 at 1.8e308: the fast engine calls a blow-up earlier, never later.
    const da = fast[0].record.divergedAtStep as number;
    const db = ref[0].record.divergedAtStep as number;
    expect(da).toBeLessThanOrEqual(db);
    expect(fast[0].record.stepsRun).toBe(da);
    const a = fast[0].record.curves;
    const b = ref[0].record.curves;
    expect(a.step).toEqual(b.step.slice(0, a.step.length));
    a.trainLoss.forEach((l, i) => expect(relErr(l, b.trainLoss[i])).toBeLessThan(1e-3));
    expect(Math.max(...(b.trainLoss as number[]))).toBeGreaterThan(1e30); // the reference run had blown up too
    expect(fast[0].record.final.trainLoss).toBe(a.trainLoss[a.trainLoss.length - 1]);
    expect(fast[0].artifact.b2).toEqual(Array.from(fast[0].artifact.b2).map((x) => Math.fround(x)));
    expect(fast[1].record.diverged).toBe(false);
    expect(fast[1].record.stepsRun).toBe(150);
  });
});
