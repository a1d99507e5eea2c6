/**
 * Cheap sharpness: tolerance-stopped, warm-started Lanczos (core/linalg.ts lanczosTolerantBatched, used by
 * core/sharpness.ts when the spec has a tolerance) against converged Lanczos, on matrices and along real
 * training runs through the driver (reference and fast engines).
 */
import { describe, expect, it } from 'vitest';
import { createReferenceEngine } from '../../core/engines/reference.js';
import { createFastEngine } from '../../core/engines/fast.js';
import { defaultDatasetSpec } from '../../core/data.js';
import { jacobiEigen, lanczosBatched, lanczosTolerantBatched, startVectors } from '../../core/linalg.js';
import { createRng } from '../../core/prng.js';
import type { Engine, LossName, TrialConfig } from '../../core/types.js';
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
    // Warm entries (between the first and the final one) report a residual within the tolerance.
    for (let i = 1; i < w.step.length - 1; i++) {
      expect(w.dynamicResidual[i] as number).toBeLessThanOrEqual(1.0001e-3 * Math.abs(w.dynamic[i] as number));
    }
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
