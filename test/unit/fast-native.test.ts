/**
 * The fast engine's native kernels (native/, AVX2 and AVX-512) against its WebAssembly kernel: the same numbers,
 * bit for bit (Object.is on every float, NaN and the sign of zero included). Kernel level: step losses and
 * parameters, evaluate on both splits, gradient, hvp (cached and after the cache is invalidated), on several widths,
 * pack sizes that leave partial blocks of 4, 8 and 16 lanes, both loss families, and trials at awkward points (all
 * zero, overflowing, NaN, infinite). Driver level: packs trained with sharpness and a diverging learning rate give
 * records equal in every field but the backend (and wall times). Builds the addon first (scripts/build-native-kernel.sh);
 * where g++ exists the addon must build and load, so a broken native build fails here instead of being skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { engineOf, engineVersions } from '../../core/engines/index.js';
import { createFastKernelOn, fastBackendOf, fastIsaFor, fastNative, fastWasmCandidates, flipCapacity, type FastIsa } from '../../core/engines/fast-kernel.js';
import type { KernelData, KernelInit, PackKernel } from '../../core/kernel.js';
import { defaultDatasetSpec, makeSpirals } from '../../core/data.js';
import { paramCount } from '../../core/model.js';
import { createRng } from '../../core/prng.js';
import type { LossName, TrialConfig, TrialOutcome } from '../../core/types.js';
import { packOf, trialConfig } from './science-helpers.js';

const compilerPresent = spawnSync('g++', ['--version']).status === 0 && process.arch === 'x64';

beforeAll(() => {
  if (!fastWasmCandidates().some((p) => existsSync(p))) execFileSync('npm', ['run', '-s', 'asbuild'], { stdio: 'inherit' });
  if (compilerPresent) execFileSync('bash', ['scripts/build-native-kernel.sh'], { stdio: 'inherit' });
});

/** The instruction sets this machine runs natively (read after beforeAll built the addon). */
const isas = (): FastIsa[] => fastNative().addon?.isas ?? [];

/** Index and values of the first element where a and b differ by Object.is, or null. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `[${i}]: ${a[i]} vs ${b[i]}`;
  return null;
}

function expectSame(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(firstDifference(a, b), what).toBeNull();
}

const C = 3;
const spec = defaultDatasetSpec({ pointsPerClass: 7, seed: 3 }); // 21 points: odd
const train = makeSpirals(spec, 'train');
const validation = makeSpirals(spec, 'validation');

/** 1,050 points: at widths of 100 and more the Hessian-vector products run along the sample tour (flipCapacity > 0). */
const bigSpec = defaultDatasetSpec({ pointsPerClass: 350, seed: 5 });
const big = { train: makeSpirals(bigSpec, 'train'), validation: makeSpirals(bigSpec, 'validation') };

/** K trials of one family at width w: random points, plus (K >= 4) all-zero, overflowing, NaN and infinite ones. */
function initOf(width: number, K: number, family: 'ce' | 'mse', seed: number, data = { train, validation }): KernelInit {
  const P = paramCount(width, C);
  const losses: LossName[] = family === 'ce' ? ['ce', 'dce'] : ['mse', 'dmse1', 'dmse2'];
  const trials = Array.from({ length: K }, (_, k) => {
    const rng = createRng(seed + k, 'test/fast-native-theta');
    const theta = Float64Array.from({ length: P }, () => rng.normal() * 0.9);
    if (K >= 4 && k === 1) theta.fill(0);
    if (K >= 4 && k === 2) theta.fill(3e12); // logits past float32's range: overflow to Infinity and NaN
    if (K >= 4 && k === 3) theta[P - 3] = NaN; // b2[0]: z0 is NaN, the first operand of the softmax max
    if (K >= 5 && k === 4) theta[0] = Infinity;
    return { loss: losses[k % losses.length], lr: 0.05 + 0.4 * ((k * 7) % 5), theta };
  });
  return { width, ...data, trials };
}

function copy(init: KernelInit): KernelInit {
  return { ...init, trials: init.trials.map((t) => ({ ...t, theta: Float64Array.from(t.theta) })) };
}

function gammasOf(K: number, seed: number): Float64Array {
  const rng = createRng(seed, 'test/fast-native-gamma');
  return Float64Array.from({ length: K * C }, () => 0.2 + 1.8 * rng.next());
}

/** Everything a kernel computes, in call order, for one scenario. */
function exercise(kernel: PackKernel, K: number): Record<string, Float64Array> {
  const P = kernel.paramCount;
  const out: Record<string, Float64Array> = {};
  const g1 = gammasOf(K, 1);
  const g2 = gammasOf(K, 2);
  const rng = createRng(11, 'test/fast-native-v');
  const v = Float64Array.from({ length: K * P }, () => rng.normal());
  const some = Uint8Array.from({ length: K }, (_, k) => (k % 3 === 0 ? 1 : 0));
  const all = new Uint8Array(K).fill(1);
  for (let s = 0; s < 4; s++) out[`step ${s} losses`] = kernel.step(s % 2 ? g1 : g2, s === 2 ? some : all);
  for (const split of ['train', 'validation'] as const) {
    const m = kernel.evaluate(split, g1);
    out[`${split} loss`] = m.loss;
    out[`${split} static loss`] = m.lossStatic;
    out[`${split} accuracy`] = m.acc;
  }
  out.gradient = kernel.gradient(g1);
  out['hvp (fills the cache)'] = kernel.hvp(v, g1);
  out['hvp (cached)'] = kernel.hvp(v.map((x) => -0.5 * x), g1);
  // Only the active trials of a product with `active` are defined.
  const partial = kernel.hvp(v, g2, some);
  out['hvp (other gammas, some trials)'] = partial.filter((_, i) => some[Math.floor(i / P)] === 1);
  kernel.step(g1, all);
  out['hvp (after a step)'] = kernel.hvp(v, g1);
  for (let k = 0; k < K; k++) out[`params ${k}`] = kernel.getParams(k);
  return out;
}

describe('native fast kernel', () => {
  it('is built and loads wherever a compiler is (the fast engine then runs it for the spirals)', () => {
    if (!compilerPresent) return; // no g++ here: the wasm kernel is the fast engine (the other suites test it)
    const { addon, why } = fastNative();
    expect(addon, why).not.toBeNull();
    expect(addon?.isas.length, 'this x86-64 CPU runs neither AVX2 nor AVX-512').toBeGreaterThan(0);
    const widest = isas()[isas().length - 1];
    expect(fastIsaFor(2, 3, 16, 'auto')).toBe(widest);
    expect(fastIsaFor(2, 3, 100, 'auto')).toBe(widest);
    expect(fastIsaFor(2, 3, 4, 'auto')).toBe('wasm'); // 4 lanes hold it: the cheapest vector
    expect(fastIsaFor(2, 3, 5, 'auto')).toBe(isas()[0]);
    expect(fastIsaFor(5, 3, 16, 'auto')).toBe('wasm');
    expect(fastIsaFor(2, 3, 16, 'wasm')).toBe('wasm');
    for (const isa of isas()) expect(fastIsaFor(2, 3, 1, isa)).toBe(isa);
    expect(() => fastIsaFor(2, 3, 16, 'sse')).toThrow(/DYNSWEEP_FAST_KERNEL/);
  });

  const CASES: [number, number, 'ce' | 'mse'][] = [
    [1, 1, 'ce'],
    [5, 3, 'mse'],
    [37, 9, 'ce'],
    [37, 17, 'mse'],
    [100, 16, 'ce'],
    [64, 5, 'mse'],
  ];

  it.each(CASES)('width %i, %i trials, %s family: every kernel output bit-identical to wasm', async (width, K, family) => {
    const init = initOf(width, K, family, 100 * width + K);
    const want = exercise(await createFastKernelOn('wasm')(copy(init)), K);
    for (const isa of isas()) {
      const kernel = await createFastKernelOn(isa)(copy(init));
      expect(kernel.backend).toBe(fastBackendOf(isa));
      const got = exercise(kernel, K);
      for (const key of Object.keys(want)) expectSame(got[key], want[key], `${isa}: ${key}`);
    }
  });

  const TOUR_CASES: [number, number, 'ce' | 'mse'][] = [
    [100, 16, 'ce'],
    [128, 7, 'mse'],
  ];

  it.each(TOUR_CASES)('1,050 points (products along the sample tour), width %i, %i trials, %s family: bit-identical to wasm', async (width, K, family) => {
    expect(flipCapacity(big.train.n, width)).toBeGreaterThan(0);
    const init = initOf(width, K, family, 7 * width + K, big);
    const want = exercise(await createFastKernelOn('wasm')(copy(init)), K);
    for (const isa of isas()) {
      const got = exercise(await createFastKernelOn(isa)(copy(init)), K);
      for (const key of Object.keys(want)) expectSame(got[key], want[key], `${isa}: ${key}`);
    }
  });

  it('blocks mixing lanes along the tour and lanes whose masks change too often for it: bit-identical to wasm', async () => {
    // 1,050 points on two rows 0.001 apart, 0.0019 apart along them: the tour zigzags between the rows. Even trials'
    // units sit between the rows (a = 1000 x1 - 0.5 + small), so every unit's mask changes at every step of the tour
    // and their lists overflow (they run the masked sums); odd trials are random (the tour).
    const n = 1050;
    const zigzag: KernelData = {
      x: Float64Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? -1 + (0.0019 * i) / 2 : ((i - 1) / 2) % 2 === 1 ? 0.001 : 0)),
      y: Int32Array.from({ length: n }, (_, mu) => mu % 3),
      n, d: 2, classes: C,
    };
    const width = 100;
    const K = 16;
    expect(flipCapacity(n, width)).toBeGreaterThan(0);
    const init = initOf(width, K, 'ce', 9, { train: zigzag, validation: zigzag });
    init.trials.forEach((t, k) => {
      if (k % 2 === 1) return;
      const rng = createRng(k, 'test/fast-native-zigzag');
      for (let j = 0; j < width; j++) {
        t.theta[j] = 0.01 * rng.normal(); // W1 row 0 (x0)
        t.theta[width + j] = 1000; // W1 row 1 (x1)
        t.theta[2 * width + j] = -0.5 + 0.05 * rng.normal(); // b1
      }
    });
    const want = exercise(await createFastKernelOn('wasm')(copy(init)), K);
    for (const isa of isas()) {
      const got = exercise(await createFastKernelOn(isa)(copy(init)), K);
      for (const key of Object.keys(want)) expectSame(got[key], want[key], `${isa}: ${key}`);
    }
  });

  it('refuses flip lists out of order or naming no unit (a RangeError before any walk)', () => {
    const { addon } = fastNative();
    for (const isa of addon?.isas ?? []) {
      const k = addon?.[isa];
      if (!k) continue;
      const L = k.lanes;
      const n = 5;
      const w = 2;
      const cap = 8;
      let end = 0;
      const take = (bytes: number) => {
        const at = end;
        end += Math.ceil(bytes / 64) * 64;
        return at;
      };
      const block = (6 * w + 3) * L * 4;
      const [th, v, out] = [take(block), take(block), take(block)];
      const [om, x, y] = [take(9 * L * 4), take(2 * n * 4), take(n * 4)];
      const [pp, D, rdz, E] = [take(3 * n * L * 4), take(9 * w * L * 4), take(3 * n * L * 4), take(9 * w * L * 4)];
      const [fl, fo, ok] = [take(cap * L * 4), take((n + 2) * L * 4), take(L * 4)];
      const [tab, ppl, perLaneW, Ed, mk] = [take(2 * w * 12 * L * 8), take(3 * n * L * 4), take(9 * w * L * 4), take(w * 12 * 8), take((n * w * L) / 8)];
      const memory = addon.alloc(end);
      const i32 = new Int32Array(memory);
      // Lane 0 walks six flips at sample 0 (unit 0 on, off, on, ..., a valid list), the others take the masked sums.
      i32[ok / 4] = 1;
      for (let e = 0; e < 6; e++) i32[fl / 4 + e] = e % 2;
      for (let mu = 1; mu <= n + 1; mu++) i32[fo / 4 + mu] = 6;
      const walk = () =>
        k.hvpCachedBlock(memory, th, v, out, om, x, n, w, 1, y, pp, D, rdz, E, fl, fo, ok, cap, tab, ppl, perLaneW, Ed, mk);
      expect(walk).not.toThrow();
      for (const [at, entry] of [[2, 2 * w], [5, 2 * w], [1, -1], [4, 2 ** 30]]) {
        i32[fl / 4 + at] = entry; // in the vector part of the check (0-3) and in its tail (4-5)
        expect(walk, `${isa}: entry ${entry} at ${at}`).toThrow(/names no unit/);
        i32[fl / 4 + at] = at % 2;
      }
      expect(walk).not.toThrow();
      i32[fo / 4 + 3] = 5; // a start past its successor's
      expect(walk).toThrow(/out of order/);
    }
  });

  it('the wasm reference of these comparisons is not degenerate (finite and non-finite values, moving parameters)', async () => {
    const init = initOf(37, 9, 'ce', 5);
    const k = await createFastKernelOn('wasm')(copy(init));
    const l0 = k.step(gammasOf(9, 1), new Uint8Array(9).fill(1));
    const l1 = k.step(gammasOf(9, 1), new Uint8Array(9).fill(1));
    expect(l0.filter(Number.isFinite).length).toBeGreaterThan(4);
    expect(l0.filter((x) => !Number.isFinite(x)).length).toBeGreaterThan(0);
    expect(l1[0]).not.toBe(l0[0]);
  });
});

/** A record's numbers: everything but the backend and the wall-clock figures. */
function numbersOf(o: TrialOutcome): unknown {
  const { wallTimeS: _w, stepsPerSecond: _s, engine, ...rest } = o.record;
  return { ...rest, engine: { name: engine.name, version: engine.version }, artifact: o.artifact };
}

/** Every number in two JSON-like values, paired by path, compared with Object.is. */
function expectSameTree(a: unknown, b: unknown, path: string): void {
  if (typeof a === 'number' || typeof b === 'number') {
    expect(Object.is(a, b), `${path}: ${String(a)} vs ${String(b)}`).toBe(true);
    return;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    expect(a, path).toEqual(b);
    return;
  }
  const ka = Object.keys(a).sort();
  expect(ka, `${path}: keys`).toEqual(Object.keys(b).sort());
  for (const key of ka) expectSameTree((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`);
}

describe('fast engine on the native kernel (driver level)', () => {
  const dataset = defaultDatasetSpec({ pointsPerClass: 15, seed: 4 });
  const cfg = (o: Partial<TrialConfig>) =>
    trialConfig({ dataset, width: 24, steps: 120, evalEvery: 20, sharpnessEvery: 30, engine: 'fast', sharpness: { method: 'lanczos', iterations: 12, tolerance: 1e-3 }, ...o });
  const PACKS: [string, TrialConfig[]][] = [
    [
      'ce family, 10 trials, one diverging',
      [
        cfg({ loss: 'ce', seed: 1 }),
        cfg({ loss: 'dce', period: 40, amplitude: 5, seed: 2 }),
        cfg({ loss: 'dce', period: 30, amplitude: 20, seed: 3, lr: 2 }),
        cfg({ loss: 'ce', seed: 4, lr: 1e30 }),
        ...Array.from({ length: 6 }, (_, i) => cfg({ loss: 'dce', period: 20 + 10 * i, amplitude: 3 + i, seed: 10 + i, lr: 0.3 + 0.2 * i })),
      ],
    ],
    [
      'mse family, 5 trials, one diverging, a guard',
      [
        cfg({ loss: 'mse', seed: 1, lr: 0.3 }),
        cfg({ loss: 'dmse1', period: 40, amplitude: 5, seed: 2, lr: 0.3 }),
        cfg({ loss: 'dmse2', period: 30, amplitude: 20, seed: 3, lr: 0.3 }),
        cfg({ loss: 'mse', lr: 40, seed: 5 }),
        cfg({ loss: 'mse', lr: 6, seed: 6, guard: { lossJump: 2, every: 5, lrFactor: 0.5, maxInterventions: 3 } }),
      ],
    ],
  ];

  it.each(PACKS)('%s: records bit-identical to the wasm kernel', async (_name, configs) => {
    const wasm = await engineOf('fast', createFastKernelOn('wasm'), fastBackendOf('wasm')).trainPack(packOf(configs));
    expect(wasm.some((o) => o.record.diverged)).toBe(true);
    expect(wasm.some((o) => !o.record.diverged && o.record.sharpness.step.length > 2)).toBe(true);
    for (const isa of isas()) {
      const native = await engineOf('fast', createFastKernelOn(isa), fastBackendOf(isa)).trainPack(packOf(configs));
      for (let k = 0; k < configs.length; k++) {
        expect(native[k].record.engine).toEqual({ name: 'fast', version: engineVersions().fast, backend: fastBackendOf(isa) });
        expect(native[k].record.trialId).toBe(wasm[k].record.trialId);
        expectSameTree(numbersOf(native[k]), numbersOf(wasm[k]), `${isa} trial ${k}`);
      }
    }
  });
});
