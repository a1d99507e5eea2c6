/**
 * Every engine on shapes other than the spirals' (d = 2, C = 3): d, C in {(2, 3), (5, 2), (64, 10), (784, 10), (3, 4)},
 * small widths (not multiples of 4) and few points (an odd count), synthetic float inputs. Oracles, all float64:
 * the SCIENCE.md loss from nested loops (science-helpers naiveLoss), its central finite differences (every
 * coordinate for small P, random directions for large P), finite differences of the float64 reference gradient
 * for Hessian-vector products, and the dense Hessian's largest eigenvalue (Jacobi) for Lanczos' lambda_max.
 * Then a pack of a non-spirals shape through the driver: the record names the engine and backend that trained it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFastEngine, createReferenceEngine, engineVersions } from '../../core/engines/index.js';
import { createReferenceKernel } from '../../core/engines/reference-kernel.js';
import { createFastKernel, createFastKernelOn, fastWasmCandidates } from '../../core/engines/fast-kernel.js';
import { createTfjsKernel, selectTfjsBackend } from '../../core/engines/tfjs.js';
import type { KernelData, KernelFactory, KernelInit, PackKernel } from '../../core/kernel.js';
import { jacobiEigen, lanczosBatched } from '../../core/linalg.js';
import { defaultDatasetSpec } from '../../core/data.js';
import { paramCount } from '../../core/model.js';
import { createRng } from '../../core/prng.js';
import type { LossName } from '../../core/types.js';
import { maxAbs, maxAbsDiff, minAbsPreactivation, naiveLoss, packOf, trialConfig } from './science-helpers.js';

beforeAll(() => {
  if (!fastWasmCandidates().some((p) => existsSync(p))) execFileSync('npm', ['run', '-s', 'asbuild'], { stdio: 'inherit' });
});

const EPS = 1e-6;

interface Shape {
  d: number;
  C: number;
  width: number;
  n: number;
}

const SHAPES: Shape[] = [
  { d: 2, C: 3, width: 5, n: 13 },
  { d: 5, C: 2, width: 3, n: 11 },
  { d: 64, C: 10, width: 2, n: 21 },
  { d: 784, C: 10, width: 5, n: 15 },
  { d: 3, C: 4, width: 64, n: 9 }, // a wide layer: the fast kernel pads it to 68 units (an odd count of lines)
];

/** Synthetic data: inputs N(0, 1) (d <= 64) or pixel-like values in [0, 1) (d = 784), labels mu mod C. */
function dataOf(s: Shape, seed: number): KernelData {
  const rng = createRng(seed, 'test/shapes-data');
  const x = Float64Array.from({ length: s.n * s.d }, () => (s.d > 100 ? rng.next() : rng.normal()));
  return { x, y: Int32Array.from({ length: s.n }, (_, mu) => mu % s.C), n: s.n, d: s.d, classes: s.C };
}

/** Glorot-sized parameters with biases, every pre-activation at least 1e-3 from the ReLU kink. */
function thetaOf(s: Shape, data: KernelData, seed: number): Float64Array {
  const P = paramCount(s.width, s.C, s.d);
  for (let t = seed; t < seed + 1000; t++) {
    const rng = createRng(t, 'test/shapes-theta');
    const th = new Float64Array(P);
    const s1 = Math.sqrt(2 / (s.d + s.width));
    for (let i = 0; i < P; i++) th[i] = (i < s.d * s.width ? s1 : 0.6) * rng.normal();
    if (minAbsPreactivation(th, data, s.width) > 1e-3) return th;
  }
  throw new Error('no point away from kinks');
}

const FAMILIES: LossName[][] = [
  ['ce', 'dce', 'dce'],
  ['mse', 'dmse1', 'dmse2'],
];

/** Class weights: all ones for ce (the driver's convention; the kernels treat ce and dce alike), else random. */
function gammasOf(losses: LossName[], C: number): Float64Array {
  const rng = createRng(5, 'test/shapes-gamma');
  return Float64Array.from({ length: losses.length * C }, (_, i) => (losses[Math.floor(i / C)] === 'ce' ? 1 : 0.3 + 1.7 * rng.next()));
}

/** Largest eigenvalue of the dense float64 Hessian of trial k (Jacobi), shared by every engine's case. */
const denseTops = new Map<string, number>();
function denseTop(key: string, ref: PackKernel, gammas: Float64Array, k: number): number {
  const known = denseTops.get(key);
  if (known !== undefined) return known;
  const K = ref.size;
  const P = ref.paramCount;
  const dense = new Float64Array(P * P);
  for (let j = 0; j < P; j++) {
    const e = new Float64Array(K * P);
    e[k * P + j] = 1;
    const col = ref.hvp(e, gammas);
    for (let i = 0; i < P; i++) dense[i * P + j] = col[k * P + i];
  }
  for (let i = 0; i < P; i++) for (let j = 0; j < i; j++) dense[i * P + j] = dense[j * P + i] = (dense[i * P + j] + dense[j * P + i]) / 2;
  const top = Math.max(...jacobiEigen(dense, P).values);
  denseTops.set(key, top);
  return top;
}

function initOf(s: Shape, losses: LossName[]): KernelInit {
  const train = dataOf(s, 1);
  const validation = dataOf(s, 2);
  const trials = losses.map((loss, k) => ({ loss, lr: 0.1 + 0.1 * k, theta: thetaOf(s, train, 10 + 100 * k) }));
  return { width: s.width, train, validation, trials };
}

const copyInit = (init: KernelInit): KernelInit => ({ ...init, trials: init.trials.map((t) => ({ ...t, theta: Float64Array.from(t.theta) })) });

/** Relative max-abs error of a against the oracle b. */
const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => maxAbsDiff(a, b) / Math.max(maxAbs(b), 1e-12);

/** The SCIENCE.md loss of trial k as the kernels see it (ce: all-ones weights, as the driver passes them). */
function lossOf(init: KernelInit, k: number, gammas: Float64Array, theta: Float64Array): number {
  const C = init.train.classes;
  return naiveLoss(theta, init.train, init.width, init.trials[k].loss, gammas.subarray(k * C, (k + 1) * C));
}

interface EngineCase {
  name: string;
  factory: KernelFactory;
  backend: string;
  /** Relative tolerance of float vectors (gradients, hvps) and of lambda_max. */
  tol: number;
  before?: () => Promise<void>;
}

const ENGINES: EngineCase[] = [
  { name: 'reference', factory: createReferenceKernel, backend: 'float64', tol: 1e-6 },
  { name: 'fast', factory: createFastKernelOn('wasm'), backend: 'wasm-simd', tol: 2e-4 }, // native: fast-native.test.ts
  { name: 'tfjs cpu', factory: createTfjsKernel, backend: 'cpu', tol: 2e-4, before: async () => void (await selectTfjsBackend('cpu')) },
  { name: 'tfjs wasm', factory: createTfjsKernel, backend: 'wasm', tol: 2e-4, before: async () => void (await selectTfjsBackend('wasm')) },
];

describe.each(ENGINES)('$name kernel on any shape', (engine) => {
  beforeAll(async () => engine.before?.());

  for (const s of SHAPES) {
    for (const losses of FAMILIES) {
      it(`d = ${s.d}, C = ${s.C}, width ${s.width}, ${s.n} points, ${losses.join('/')}`, async () => {
        const init = initOf(s, losses);
        const K = losses.length;
        const P = paramCount(s.width, s.C, s.d);
        const gammas = gammasOf(losses, s.C);
        const kernel: PackKernel = await engine.factory(copyInit(init));
        const ref = createReferenceKernel(copyInit(init)) as PackKernel;
        try {
          expect(kernel.backend).toBe(engine.backend);
          expect(kernel.paramCount).toBe(P);

          // Loss: the naive float64 loss.
          const m = kernel.evaluate('train', gammas);
          for (let k = 0; k < K; k++) {
            const want = lossOf(init, k, gammas, init.trials[k].theta);
            expect(Math.abs(m.loss[k] - want) / Math.abs(want), `loss ${k}`).toBeLessThan(engine.tol / 10);
          }
          expect(maxAbsDiff(m.acc, ref.evaluate('train', gammas).acc)).toBeLessThanOrEqual(1 / s.n + 1e-12);

          // Gradient: central differences of the naive loss, every coordinate (small P) or 6 random directions.
          const g = kernel.gradient(gammas);
          for (let k = 0; k < K; k++) {
            const th = init.trials[k].theta;
            const gk = g.subarray(k * P, (k + 1) * P);
            const f = (t: Float64Array) => lossOf(init, k, gammas, t);
            if (P <= 300) {
              const fd = Float64Array.from({ length: P }, (_, i) => {
                const plus = Float64Array.from(th);
                const minus = Float64Array.from(th);
                plus[i] += EPS;
                minus[i] -= EPS;
                return (f(plus) - f(minus)) / (2 * EPS);
              });
              expect(maxAbs(fd)).toBeGreaterThan(1e-3);
              expect(rel(gk, fd), `gradient ${k} (${losses[k]})`).toBeLessThan(Math.max(engine.tol, 1e-6));
            } else {
              const rng = createRng(k, 'test/shapes-dir');
              const an: number[] = [];
              const fd: number[] = [];
              for (let r = 0; r < 6; r++) {
                const u = Float64Array.from({ length: P }, () => rng.normal());
                an.push(gk.reduce((acc, x, i) => acc + x * u[i], 0));
                const step = (sign: number) => Float64Array.from(th, (t, i) => t + sign * EPS * u[i]);
                fd.push((f(step(1)) - f(step(-1))) / (2 * EPS));
              }
              expect(rel(an, fd), `directional gradient ${k} (${losses[k]})`).toBeLessThan(Math.max(engine.tol, 1e-6));
            }
          }

          // Hessian-vector products: central differences of the float64 reference gradient.
          const v = Float64Array.from({ length: K * P }, (_, i) => Math.sin(1.3 * i + 0.7));
          const hv = kernel.hvp(v, gammas);
          const gradAt = (sign: number) => {
            for (let k = 0; k < K; k++) ref.setParams(k, Float64Array.from(init.trials[k].theta, (t, i) => t + sign * EPS * v[k * P + i]));
            return ref.gradient(gammas);
          };
          const gp = gradAt(1);
          const gm = gradAt(-1);
          for (let k = 0; k < K; k++) ref.setParams(k, init.trials[k].theta);
          for (let k = 0; k < K; k++) {
            const fd = Float64Array.from({ length: P }, (_, i) => (gp[k * P + i] - gm[k * P + i]) / (2 * EPS));
            expect(maxAbs(fd)).toBeGreaterThan(1e-3);
            expect(rel(hv.subarray(k * P, (k + 1) * P), fd), `hvp ${k} (${losses[k]})`).toBeLessThan(Math.max(engine.tol, 1e-5));
          }

          // lambda_max: Lanczos over this kernel's hvp against the dense float64 Hessian (small P only).
          if (P <= 300) {
            const lz = lanczosBatched((u) => kernel.hvp(u, gammas), K, P, { order: Math.min(P, 80) });
            for (let k = 0; k < K; k++) {
              const top = denseTop(`${s.d}/${s.C}/${losses.join('/')}/${k}`, ref, gammas, k);
              expect(Math.abs(lz.lambda[k] - top) / Math.abs(top), `lambda_max ${k} (${losses[k]})`).toBeLessThan(Math.max(engine.tol, 1e-8));
            }
          }

          // One step with trial 1 inactive: theta - lr * grad (the reference's), trial 1 unchanged.
          const active = Uint8Array.from({ length: K }, (_, k) => (k === 1 ? 0 : 1));
          const gr = ref.gradient(gammas);
          kernel.step(gammas, active);
          for (let k = 0; k < K; k++) {
            const th = init.trials[k].theta;
            const want = active[k] ? Float64Array.from(th, (t, i) => t - init.trials[k].lr * gr[k * P + i]) : th;
            expect(rel(kernel.getParams(k), want), `step ${k}`).toBeLessThan(1e-5);
          }
        } finally {
          kernel.dispose();
        }
      });
    }
  }
});

describe('fast kernel shapes', () => {
  it('fails loudly on a shape it cannot train (no silent change of engine)', async () => {
    const s = { d: 0, C: 3, width: 4, n: 4 };
    const data: KernelData = { x: new Float64Array(0), y: new Int32Array(4), n: 4, d: 0, classes: 3 };
    const theta = new Float64Array(paramCount(s.width, s.C, s.d));
    await expect(createFastKernel({ width: 4, train: data, validation: data, trials: [{ loss: 'ce', lr: 1, theta }] })).rejects.toThrow(
      /fast kernel: cannot train d = 0/,
    );
  });

  it('a pack of 5 classes trains on wasm-simd, says so in its records, and follows the reference', async () => {
    const dataset = defaultDatasetSpec({ classes: 5, pointsPerClass: 12 });
    const cfg = (loss: LossName, seed: number) =>
      trialConfig({ dataset, width: 9, loss, seed, steps: 60, evalEvery: 20, sharpnessEvery: 30, engine: 'fast', period: loss === 'dce' ? 20 : null, amplitude: loss === 'dce' ? 5 : null });
    const configs = [cfg('ce', 1), cfg('dce', 2), cfg('dce', 3), cfg('ce', 4), cfg('dce', 5)];
    const fast = await (await createFastEngine()).trainPack(packOf(configs));
    const ref = await createReferenceEngine().trainPack(packOf(configs.map((c) => ({ ...c, engine: 'reference' as const }))));
    for (let k = 0; k < configs.length; k++) {
      const a = fast[k].record;
      const b = ref[k].record;
      expect(a.engine).toEqual({ name: 'fast', version: engineVersions().fast, backend: 'wasm-simd' });
      expect(a.params).toBe(paramCount(9, 5, 2));
      a.curves.trainLoss.forEach((l, i) => expect(Math.abs(l - b.curves.trainLoss[i]) / b.curves.trainLoss[i]).toBeLessThan(1e-4));
      a.sharpness.dynamic.forEach((l, i) => expect(Math.abs(l! - b.sharpness.dynamic[i]!) / b.sharpness.dynamic[i]!).toBeLessThan(1e-3));
    }
  });
});
