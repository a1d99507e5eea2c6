/**
 * Cheap sharpness: tolerance-stopped, warm-started Lanczos (core/linalg.ts lanczosTolerantBatched, used by
 * core/sharpness.ts when the spec has a tolerance) against converged Lanczos, on matrices and along real
 * training runs through the driver (reference and fast engines).
 */
import { describe, expect, it } from 'vitest';
import { createFastEngine, createReferenceEngine } from '../../core/engines/index.js';
import { defaultDatasetSpec, makeSpirals } from '../../core/data.js';
import { createReferenceKernel } from '../../core/engines/reference-kernel.js';
import { flattenParams, initParams } from '../../core/model.js';
import { jacobiEigen, lanczosBatched, lanczosTolerantBatched, startVectors } from '../../core/linalg.js';
import { createRng } from '../../core/prng.js';
import type { PackKernel } from '../../core/kernel.js';
import {
  DEFAULT_SHARPNESS_COLD_EVERY,
  DEFAULT_SHARPNESS_MIN_ORDER,
  mixedStart,
  packSharpness,
  SharpnessTracker,
  WARM_START_TRACK,
  sharpnessMismatch,
} from '../../core/sharpness.js';
import { trainingSchema } from '../../core/grid/schema.js';
import type { Engine, LossName, SharpnessSpec, TrialConfig } from '../../core/types.js';
import { packOf, trialConfig } from './science-helpers.js';

function randomSymmetric(n: number, seed: number): Float64Array {
  const rng = createRng(seed, 'test-warm');
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      const v = rng.normal();
      A[i * n + j] = v;
      A[j * n + i] = v;
    }
  return A;
}

function batched(mats: Float64Array[], n: number, calls: Uint8Array[] = []) {
  return (v: Float64Array, active?: Uint8Array) => {
    calls.push(active ? Uint8Array.from(active) : new Uint8Array(mats.length).fill(1));
    const out = new Float64Array(mats.length * n);
    mats.forEach((A, k) => {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += A[i * n + j] * v[k * n + j];
        out[k * n + i] = s;
      }
    });
    return out;
  };
}

describe('lanczosTolerantBatched', () => {
  const n = 30;
  const A = randomSymmetric(n, 1);
  const B = randomSymmetric(n, 2);
  const top = (M: Float64Array) => {
    const e = jacobiEigen(M, n);
    return { value: e.values[n - 1], vector: Float64Array.from({ length: n }, (_, i) => e.vectors[i * n + n - 1]) };
  };

  it('from a perturbed eigenvector stops early, within tolerance, with its residual equal to the true one', () => {
    const t = top(A);
    const rng = createRng(3, 'perturb');
    const start = Float64Array.from(t.vector, (x) => x + 0.05 * rng.normal());
    const res = lanczosTolerantBatched(batched([A], n), 1, n, { maxOrder: n, tol: 1e-6, start });
    expect(res.iterations[0]).toBeLessThan(n);
    expect(Math.abs(res.lambda[0] - t.value)).toBeLessThan(1e-6 * Math.abs(t.value));
    const v = res.vectors;
    const Av = batched([A], n)(v);
    const trueRes = Math.hypot(...Array.from(Av, (x, i) => x - res.lambda[0] * v[i]));
    expect(res.residual[0]).toBeLessThanOrEqual(1e-6 * Math.abs(res.lambda[0]));
    expect(Math.abs(trueRes - res.residual[0])).toBeLessThan(1e-9);
  });

  it('blocks stop independently, stopped and unneeded blocks are left out of later products', () => {
    const calls: Uint8Array[] = [];
    const start = new Float64Array(3 * n);
    start.set(top(A).vector, 0); // block 0: an exact eigenvector, stops after one product
    start.set(startVectors(1, n), n); // block 1: cold
    start.set(startVectors(1, n), 2 * n); // block 2: not needed
    const res = lanczosTolerantBatched(batched([A, B, B], n, calls), 3, n, {
      maxOrder: n, tol: 1e-8, start, need: Uint8Array.from([1, 1, 0]),
    });
    expect(res.iterations[0]).toBe(1);
    expect(res.iterations[1]).toBeGreaterThan(3);
    expect(res.iterations[2]).toBe(0);
    expect(Array.from(calls[0])).toEqual([1, 1, 0]);
    expect(Array.from(calls[1])).toEqual([0, 1, 0]);
    expect(Math.abs(res.lambda[1] - top(B).value)).toBeLessThan(1e-7 * Math.abs(top(B).value));
    // Same numbers alone as in the batch.
    const alone = lanczosTolerantBatched(batched([B], n), 1, n, { maxOrder: n, tol: 1e-8, start: startVectors(1, n) });
    expect(alone.lambda[0]).toBe(res.lambda[1]);
    expect(alone.iterations[0]).toBe(res.iterations[1]);
  });

  it('at full order agrees with lanczosBatched', () => {
    const start = startVectors(1, n);
    const a = lanczosTolerantBatched(batched([A], n), 1, n, { maxOrder: 12, tol: 0, start });
    const b = lanczosBatched(batched([A], n), 1, n, { order: 12, start });
    expect(a.iterations[0]).toBe(12);
    expect(a.lambda[0]).toBeCloseTo(b.lambda[0], 12);
  });
});

/** Q diag(values) Q^T with a seeded random orthogonal Q; vec(i) is the eigenvector of values[i]. */
function withSpectrum(values: number[], seed: number) {
  const n = values.length;
  const Q = jacobiEigen(randomSymmetric(n, seed), n).vectors;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += Q[i * n + k] * values[k] * Q[j * n + k];
      A[i * n + j] = s;
    }
  const vec = (i: number) => Float64Array.from({ length: n }, (_, r) => Q[r * n + i]);
  return { A, vec };
}

/** A PackKernel whose hvp applies fixed dense matrices (one per trial), counting products. */
function matrixKernel(mats: Float64Array[], n: number) {
  const calls: Uint8Array[] = [];
  const apply = batched(mats, n, calls);
  const kernel = {
    backend: 'test', size: mats.length, paramCount: n,
    hvp: (v: Float64Array, _g: Float64Array, active?: Uint8Array) => apply(v, active),
  } as unknown as PackKernel;
  return { kernel, calls };
}

const WARM: SharpnessSpec = { method: 'lanczos', iterations: 20, tolerance: 1e-3 };

describe('warm Lanczos does not settle on the second eigenvalue', () => {
  const n = 120;
  // A near-degenerate top pair (2% apart, far more than the tolerance) above a bulk in [0, 5].
  const bulk = Array.from({ length: n - 2 }, (_, i) => (5 * i) / (n - 2));
  const { A, vec } = withSpectrum([...bulk, 9.8, 10], 11);
  const v1 = vec(n - 1);
  const v2 = vec(n - 2);
  const rng = createRng(4, 'drift');
  // Previous eigenvectors: exactly the second one, and the second one with a little drift on everything.
  const starts = {
    'exactly the second eigenvector': Float64Array.from(v2),
    'the second eigenvector with drift': Float64Array.from(v2, (x, i) => x + 1e-3 * v1[i] + (1e-3 * rng.normal()) / Math.sqrt(n)),
  };

  for (const [name, prev] of Object.entries(starts)) {
    it(`previous eigenvector = ${name}: the old stop (minOrder 1, no mix) returns lambda_2, the new one lambda_1`, () => {
      const old = lanczosTolerantBatched(batched([A], n), 1, n, { maxOrder: 20, tol: 1e-3, start: prev });
      expect(Math.abs(old.lambda[0] - 9.8)).toBeLessThan(1e-3 * 9.8); // the failure this guards against
      const { kernel } = matrixKernel([A], n);
      const res = packSharpness(kernel, new Float64Array(3), WARM, { vectors: prev });
      expect(Math.abs(res.lambda[0] - 10)).toBeLessThan(1e-3 * 10);
      expect(res.residualKind).toEqual(['lanczos']);
      expect(res.iterations[0]).toBeGreaterThanOrEqual(DEFAULT_SHARPNESS_MIN_ORDER);
    });
  }

  it('after a swap of the top two, the tracked previous second Ritz vector finds the new top at a low order', () => {
    // The previous solve's top vector is now the second eigenvector, its second Ritz vector is now the top one.
    const v3 = vec(n - 3);
    const { kernel } = matrixKernel([A], n);
    const spec = { ...WARM, minOrder: 2 };
    const alone = packSharpness(kernel, new Float64Array(3), spec, { vectors: v2 });
    expect(alone.lambda[0]).toBeLessThan(9.81);
    const tracked = packSharpness(kernel, new Float64Array(3), spec, { vectors: v2, subspace: [v1, v3] });
    expect(Math.abs(tracked.lambda[0] - 10)).toBeLessThan(1e-3 * 10);
    // And it hands on its own next Ritz vectors: the second is (up to sign) the eigenvector of 9.8.
    expect(tracked.subspace).toHaveLength(WARM_START_TRACK - 1);
    const u = tracked.subspace![0];
    expect(Math.abs(u.reduce((acc, x, i) => acc + x * v2[i], 0))).toBeGreaterThan(0.999);
  });

  it('cold Lanczos returns the next Ritz vectors too (eigenvectors at full order)', () => {
    const m = 12;
    const M = randomSymmetric(m, 31);
    const e = jacobiEigen(M, m);
    const r = lanczosBatched(batched([M], m), 1, m, { order: m, ritz: 3 });
    expect(r.subspace).toHaveLength(2);
    r.subspace!.forEach((u, t) => {
      const col = m - 2 - t;
      let d = 0;
      for (let i = 0; i < m; i++) d += u[i] * e.vectors[i * m + col];
      expect(Math.abs(d)).toBeCloseTo(1, 8);
    });
  });

  it('from an exact eigenvector of lambda_2 no minimum order helps without the mixed start (the Krylov space closes)', () => {
    const noMix = lanczosTolerantBatched(batched([A], n), 1, n, { maxOrder: 20, minOrder: 10, tol: 1e-3, start: mixedStart({ vectors: v2 }, 1, n, 0) });
    expect(noMix.lambda[0]).toBeCloseTo(9.8, 6);
    const mixed = lanczosTolerantBatched(batched([A], n), 1, n, { maxOrder: 20, minOrder: 10, tol: 1e-3, start: mixedStart({ vectors: v2 }, 1, n) });
    expect(Math.abs(mixed.lambda[0] - 10)).toBeLessThan(1e-3 * 10);
  });
});

describe('minimum order of warm Lanczos', () => {
  const n = 30;
  const A = randomSymmetric(n, 1);
  const e = jacobiEigen(A, n);
  const v1 = Float64Array.from({ length: n }, (_, i) => e.vectors[i * n + n - 1]);

  it('is honoured: an exact eigenvector start still takes minOrder products, and never more than needed', () => {
    const one = lanczosTolerantBatched(batched([A], n), 1, n, { maxOrder: 20, tol: 1e-6, start: v1 });
    expect(one.iterations[0]).toBe(1);
    for (const minOrder of [4, 7]) {
      const calls: Uint8Array[] = [];
      // Slightly off the eigenvector so the Krylov space does not close before minOrder.
      const start = Float64Array.from(v1, (x, i) => x + 1e-9 * ((i % 3) - 1));
      const r = lanczosTolerantBatched(batched([A], n, calls), 1, n, { maxOrder: 20, tol: 1e-6, start, minOrder });
      expect(r.iterations[0]).toBe(minOrder);
      expect(calls).toHaveLength(minOrder);
    }
  });

  it('packSharpness passes spec.minOrder (default DEFAULT_SHARPNESS_MIN_ORDER) and counts products', () => {
    // A loose tolerance that the (mixed) eigenvector start meets within a step or two: minOrder decides.
    const loose = { ...WARM, tolerance: 0.1 };
    const free = matrixKernel([A], n);
    packSharpness(free.kernel, new Float64Array(3), { ...loose, minOrder: 1 }, { vectors: v1 });
    expect(free.calls.length).toBeLessThan(4);
    const { kernel, calls } = matrixKernel([A], n);
    const r = packSharpness(kernel, new Float64Array(3), { ...loose, minOrder: 6 }, { vectors: v1 });
    expect(calls).toHaveLength(6);
    expect(r.iterations[0]).toBe(6);
    const d = matrixKernel([A], n);
    packSharpness(d.kernel, new Float64Array(3), loose, { vectors: v1 });
    expect(d.calls).toHaveLength(DEFAULT_SHARPNESS_MIN_ORDER);
  });

  it('the grid validates it (<= iterations) and documents its defaults', () => {
    const t = trainingSchema.parse({ steps: 10 });
    expect(t.sharpness).toEqual({ method: 'lanczos', iterations: 20, tolerance: 1e-3, minOrder: DEFAULT_SHARPNESS_MIN_ORDER, coldEvery: DEFAULT_SHARPNESS_COLD_EVERY });
    expect(trainingSchema.parse({ steps: 10, sharpness: {} }).sharpness).toEqual(t.sharpness);
    expect(trainingSchema.safeParse({ steps: 10, sharpness: { iterations: 8, minOrder: 9 } }).success).toBe(false);
    expect(trainingSchema.safeParse({ steps: 10, sharpness: { iterations: 8, minOrder: 8, coldEvery: 0 } }).success).toBe(true);
    expect(trainingSchema.safeParse({ steps: 10, sharpness: { minOrder: 0 } }).success).toBe(false);
    expect(trainingSchema.safeParse({ steps: 10, sharpness: { coldEvery: -1 } }).success).toBe(false);
  });
});

describe('cold check of a warm solve', () => {
  const n = 40;
  const P = n;
  // Block 0: the warm start (and the mixed-in vector) are exactly orthogonal to the top eigenvector, so warm
  // Lanczos cannot see it and settles lower: a planted wrong warm value. Block 1: an honest warm start.
  const mix = startVectors(1, n, 0, 'sharpness-mix');
  const basis = [randomSymmetric(n, 21).subarray(0, n), mix].map((x) => Float64Array.from(x));
  const gs = (vs: Float64Array[]) => {
    const out: Float64Array[] = [];
    for (const v of vs) {
      const u = Float64Array.from(v);
      for (const q of out) {
        let d = 0;
        for (let i = 0; i < n; i++) d += u[i] * q[i];
        for (let i = 0; i < n; i++) u[i] -= d * q[i];
      }
      const nr = Math.hypot(...u);
      out.push(u.map((x) => x / nr));
    }
    return out;
  };
  // warm, mix, then the top eigenvector u (orthogonal to both) and the rest of a basis.
  const rng = createRng(22, 'basis');
  const Q = gs([basis[0], basis[1], ...Array.from({ length: n - 2 }, () => Float64Array.from({ length: n }, () => rng.normal()))]);
  const warm = Q[0];
  const values = Array.from({ length: n }, (_, i) => 1 + (3 * i) / n);
  values[2] = 10; // the top eigenvalue, on Q[2] (orthogonal to the warm start and to the mix vector)
  values[0] = 8; // the warm start is an eigenvector of 8
  const A = new Float64Array(n * n);
  for (let c = 0; c < n; c++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] += values[c] * Q[c][i] * Q[c][j];
  const B = randomSymmetric(n, 23);
  const topB = jacobiEigen(B, n);
  const warmB = Float64Array.from({ length: n }, (_, i) => topB.vectors[i * n + n - 1] + 0.01 * Math.sin(i));
  const start = new Float64Array(2 * P);
  start.set(warm, 0);
  start.set(warmB, P);

  it('flags the planted wrong warm value, records the cold one; agrees elsewhere', () => {
    const { kernel } = matrixKernel([A, B], n);
    const plain = packSharpness(kernel, new Float64Array(6), WARM, { vectors: start });
    expect(plain.lambda[0]).toBeLessThan(9); // warm is blind to the top eigenvalue
    const r = packSharpness(kernel, new Float64Array(6), WARM, { vectors: start }, undefined, true);
    expect(r.check).toBeDefined();
    expect(Array.from(r.check!.mismatch)).toEqual([1, 0]);
    expect(r.check!.warm[0]).toBe(plain.lambda[0]);
    expect(Math.abs(r.lambda[0] - 10)).toBeLessThan(1e-6 * 10);
    expect(r.lambda[0]).toBe(r.check!.cold[0]);
    // The check is cold Lanczos stopped like a warm solve: its residual is the Lanczos one, within the tolerance.
    expect(r.residualKind).toEqual(['lanczos', 'lanczos']);
    expect(r.residual[0]).toBeLessThanOrEqual(1e-3 * r.lambda[0]);
    expect(r.lambda[1]).toBe(r.check!.cold[1]);
    expect(sharpnessMismatch(r.check!.warm[1], r.check!.cold[1], 1e-3)).toBe(false);
    // The corrected vector is the cold one: the next warm start follows lambda_1.
    const next = packSharpness(kernel, new Float64Array(6), WARM, r);
    expect(Math.abs(next.lambda[0] - 10)).toBeLessThan(1e-3 * 10);
  });

  it('the check stops like a warm solve: at least minOrder and at most iterations products, no residual product', () => {
    const warmOnly = matrixKernel([B], n);
    packSharpness(warmOnly.kernel, new Float64Array(3), WARM, { vectors: warmB });
    const both = matrixKernel([B], n);
    const r = packSharpness(both.kernel, new Float64Array(3), WARM, { vectors: warmB }, undefined, true);
    const checkProducts = both.calls.length - warmOnly.calls.length;
    expect(checkProducts).toBeGreaterThanOrEqual(DEFAULT_SHARPNESS_MIN_ORDER);
    expect(checkProducts).toBeLessThanOrEqual(WARM.iterations);
    expect(r.check!.mismatch[0]).toBe(0);
    expect(r.residual[0]).toBeLessThanOrEqual(1e-3 * Math.abs(r.lambda[0]));
    expect(Math.abs(r.lambda[0] - topB.values[n - 1])).toBeLessThan(1e-3 * Math.abs(topB.values[n - 1]));
  });

  it('keeps the warm value where it is the larger beyond the tolerance (the cold solve was short)', () => {
    const { kernel } = matrixKernel([A, B], n);
    // Cold of order 2 cannot converge; warm (up to order 20) from the honest start of block 1 can.
    const r = packSharpness(kernel, new Float64Array(6), { ...WARM, iterations: 2, minOrder: 2 }, { vectors: start }, undefined, true);
    expect(r.check!.mismatch[1]).toBe(1);
    expect(r.check!.warm[1]).toBeGreaterThan(r.check!.cold[1]);
    expect(r.lambda[1]).toBe(r.check!.warm[1]);
    expect(r.residualKind[1]).toBe('lanczos');
  });

  it('mismatch is relative to the larger magnitude and treats non-finite values as disagreement', () => {
    expect(sharpnessMismatch(1, 1.0009, 1e-3)).toBe(false);
    expect(sharpnessMismatch(1, 1.0011, 1e-3)).toBe(true);
    expect(sharpnessMismatch(NaN, 1, 1e-3)).toBe(true);
  });
});

describe('residual kinds and cold checks in the record', () => {
  it('first/final samples are explicit, the others (checked ones too) Lanczos; checks land on every coldEvery-th step', async () => {
    const engine = createReferenceEngine();
    const mk = (loss: LossName, seed: number) =>
      trialConfig({
        loss, seed, width: 8, steps: 300, sharpnessEvery: 25, lr: 0.5,
        period: loss === 'dce' ? 100 : null, amplitude: loss === 'dce' ? 5 : null,
        sharpness: { method: 'lanczos', iterations: 20, tolerance: 1e-3, minOrder: 4, coldEvery: 4 },
      });
    const out = await engine.trainPack(packOf([mk('ce', 1), mk('dce', 2)]));
    for (const { record } of out) {
      const t = record.sharpness;
      expect(record.schema).toBe('dynsweep.trial/2');
      const checks = [100, 200];
      expect(t.coldChecks.step).toEqual(checks);
      expect(t.coldChecks.mismatch).toEqual([false, false]);
      expect(t.coldMismatches).toBe(0);
      t.step.forEach((s, i) => {
        const kind = s === 0 || s === 300 ? 'explicit' : 'lanczos';
        expect(t.dynamicResidualKind[i]).toBe(kind);
        expect(t.staticResidualKind[i]).toBe(kind);
      });
      // The trace records the cold value at a check (they agree here).
      checks.forEach((s, j) => {
        const i = t.step.indexOf(s);
        expect(t.dynamic[i]).toBe(t.coldChecks.dynamicCold[j]);
        expect(t.static[i]).toBe(t.coldChecks.staticCold[j]);
        expect(Math.abs((t.coldChecks.dynamicWarm[j] as number) / (t.dynamic[i] as number) - 1)).toBeLessThan(1e-3);
      });
      for (const key of ['dynamicResidualKind', 'staticResidualKind', 'coldChecks'] as const) expect(t[key]).toBeDefined();
    }
    // The static control (ce) takes the dynamic eigenproblem for both: same values in its checks.
    const ce = out[0].record.sharpness.coldChecks;
    expect(ce.staticCold).toEqual(ce.dynamicCold);
  });

  it('cold solves (tolerance 0) record only explicit residuals and no checks', async () => {
    const [o] = await createReferenceEngine().trainPack(packOf([trialConfig({ sharpness: { method: 'lanczos', iterations: 12 } })]));
    const t = o.record.sharpness;
    expect(new Set(t.dynamicResidualKind)).toEqual(new Set(['explicit']));
    expect(t.coldChecks.step).toEqual([]);
    expect(t.coldMismatches).toBe(0);
  });
});

/**
 * Along a real training run: the same pack trained twice, once with cold full-order Lanczos at every
 * measurement (tolerance 0) and once warm-started with the grid's default tolerance 1e-3. Sharpness does not
 * change the trajectory, so the two traces measure the same parameters, entry by entry.
 */
async function compareTraces(engine: Engine, base: Partial<TrialConfig>, losses: LossName[], order: number) {
  const configs = (tolerance: number) =>
    losses.map((loss, k) =>
      trialConfig({
        ...base,
        loss,
        seed: k + 1,
        period: loss === 'dce' || loss === 'dmse1' || loss === 'dmse2' ? 100 : null,
        amplitude: loss === 'dce' || loss === 'dmse1' || loss === 'dmse2' ? 5 + 10 * k : null,
        sharpness: { method: 'lanczos', iterations: order, tolerance },
      }),
    );
  const cold = await engine.trainPack(packOf(configs(0)));
  const warm = await engine.trainPack(packOf(configs(1e-3)));
  let worst = 0;
  let entries = 0;
  for (let k = 0; k < losses.length; k++) {
    const c = cold[k].record.sharpness;
    const w = warm[k].record.sharpness;
    expect(w.step).toEqual(c.step);
    for (const key of ['dynamic', 'static'] as const) {
      c[key].forEach((lam, i) => {
        const l = lam as number;
        const e = Math.abs((w[key][i] as number) - l) / Math.abs(l);
        worst = Math.max(worst, e);
        entries++;
      });
    }
    // Warm entries (between the first and the final one, checked ones too) report a Lanczos residual within the
    // tolerance; only the first and the final one are explicit.
    for (let i = 1; i < w.step.length - 1; i++) {
      expect(w.dynamicResidual[i] as number).toBeLessThanOrEqual(1.0001e-3 * Math.abs(w.dynamic[i] as number));
      expect(w.dynamicResidualKind[i]).toBe('lanczos');
    }
    expect(w.coldMismatches).toBe(0);
    expect(c.dynamicResidualKind.every((x) => x === 'explicit')).toBe(true);
    // The final measurement is cold in both: identical.
    expect(warm[k].record.final.sharpnessDynamic).toBe(cold[k].record.final.sharpnessDynamic);
  }
  expect(entries).toBeGreaterThan(20);
  expect(worst).toBeLessThan(1e-3);
  return worst;
}

describe('warm-started sharpness along a training run stays within 1e-3 of converged Lanczos', () => {
  it('reference engine (float64), ce family, small and edge-of-stability learning rates', async () => {
    const engine = createReferenceEngine();
    const base = { width: 16, steps: 300, evalEvery: 50, sharpnessEvery: 25 };
    await compareTraces(engine, { ...base, lr: 0.5 }, ['ce', 'dce', 'dce'], 40);
    await compareTraces(engine, { ...base, lr: 2 }, ['ce', 'dce'], 40);
  });

  it('reference engine, mse family', async () => {
    await compareTraces(createReferenceEngine(), { width: 12, steps: 300, evalEvery: 50, sharpnessEvery: 25, lr: 0.2 }, ['mse', 'dmse1', 'dmse2'], 40);
  });

  it('fast engine (float32 products), width 100, 300 points, 8 trials', async () => {
    const engine = await createFastEngine();
    const base = {
      dataset: defaultDatasetSpec({ pointsPerClass: 100 }),
      width: 100, steps: 250, evalEvery: 50, sharpnessEvery: 25, lr: 1, engine: 'fast' as const,
    };
    await compareTraces(engine, base, ['ce', 'dce', 'ce', 'dce', 'dce', 'ce', 'dce', 'ce'], 30);
  });
});

describe('one eigenproblem where the trained loss equals its static counterpart', () => {
  it('a trial whose weights equal the static ones takes the dynamic solve for both: the same value as a separate static solve', () => {
    const n = 8;
    const spec = defaultDatasetSpec({ pointsPerClass: 10, seed: 3 });
    const train = makeSpirals(spec, 'train');
    const validation = makeSpirals(spec, 'validation');
    const kernel = createReferenceKernel({
      width: n, train, validation,
      trials: [1, 2].map((seed) => ({ loss: 'dce' as LossName, lr: 0.5, theta: initParams(n, 3, 'standard', seed) })),
    });
    const ones = new Float64Array(6).fill(1);
    const gammas = Float64Array.from([1, 1, 1, 1.6, 0.3, 1.1]); // trial 0 at the start of a period, trial 1 inside one
    const active = new Uint8Array(2).fill(1);
    for (let s = 0; s < 30; s++) kernel.step(gammas, active);
    const counted = { n: 0 };
    const counting = { ...kernel, size: 2, paramCount: kernel.paramCount, hvp: (v: Float64Array, g: Float64Array, a?: Uint8Array) => { if (!a || a[0]) counted.n++; return kernel.hvp(v, g, a); } } as PackKernel;
    const cold: SharpnessSpec = { method: 'lanczos', iterations: 20 };
    const m = new SharpnessTracker(counting, cold).measure({ gammas, ones, need: active, coincide: new Uint8Array(2), cold: true, check: false });
    const separate = packSharpness(kernel, ones, cold);
    expect(m.stat(0)).toBe(m.dyn);
    expect(m.dyn.lambda[0]).toBe(separate.lambda[0]);
    // Trial 1's losses differ: its own static solve, a different value.
    expect(m.stat(1)).not.toBe(m.dyn);
    expect(m.stat(1).lambda[1]).toBe(separate.lambda[1]);
    expect(Math.abs(m.dyn.lambda[1] / separate.lambda[1] - 1)).toBeGreaterThan(1e-3);
    // Trial 0 was computed once (21 products: order 20 and its residual), not twice.
    expect(counted.n).toBe(21);
  });

  it('along a dce run: static = dynamic exactly at the period starts, recomputed from the artifact at the end', async () => {
    const config = trialConfig({
      loss: 'dce', period: 100, amplitude: 5, width: 8, steps: 200, evalEvery: 50, sharpnessEvery: 25, lr: 0.5,
      sharpness: { method: 'lanczos', iterations: 20, tolerance: 1e-3, minOrder: 4, coldEvery: 0 },
    });
    const [out] = await createReferenceEngine().trainPack(packOf([config]));
    const t = out.record.sharpness;
    t.step.forEach((s, i) => {
      if (s % 100 === 0) expect(t.static[i]).toBe(t.dynamic[i]);
      else expect(Math.abs((t.static[i] as number) / (t.dynamic[i] as number) - 1)).toBeGreaterThan(1e-3);
    });
    // The final state (s = 200, a period start) from the artifact's parameters alone, static loss, cold.
    const a = out.artifact;
    const data = makeSpirals(config.dataset, 'train');
    const kernel = createReferenceKernel({
      width: 8, train: data, validation: makeSpirals(config.dataset, 'validation'),
      trials: [{ loss: 'ce', lr: 0.5, theta: flattenParams(a) }],
    });
    const separate = packSharpness(kernel, new Float64Array(3).fill(1), config.sharpness);
    expect(Math.abs(separate.lambda[0] / (out.record.final.sharpnessStatic as number) - 1)).toBeLessThan(1e-12);
  });
});
