/**
 * The reference kernel's gradient and R-operator Hessian-vector products against float64 central finite
 * differences (of a naive loss, and of the analytic gradient), at points away from the ReLU kinks.
 */
import { describe, expect, it } from 'vitest';
import { createReferenceKernel } from '../../core/engines/reference-kernel.js';
import type { PackKernel } from '../../core/kernel.js';
import { defaultDatasetSpec, makeSpirals } from '../../core/data.js';
import { paramCount } from '../../core/model.js';
import { createRng } from '../../core/prng.js';
import type { LossName } from '../../core/types.js';
import { maxAbs, maxAbsDiff, minAbsPreactivation, naiveLoss } from './science-helpers.js';

const EPS = 1e-6;
const WIDTH = 4;
const C = 3;
const P = paramCount(WIDTH, C);
const train = makeSpirals(defaultDatasetSpec({ pointsPerClass: 10, seed: 4 }), 'train');
const validation = makeSpirals(defaultDatasetSpec({ pointsPerClass: 10, seed: 4 }), 'validation');
const GAMMA = [0.45, 1.85, 0.7];

/** A random point with every pre-activation at least `margin` from 0, so +-EPS steps never cross a kink. */
function pointAwayFromKinks(seed: number, margin = 1e-3): Float64Array {
  for (let s = seed; s < seed + 1000; s++) {
    const rng = createRng(s, 'test-theta');
    const th = Float64Array.from({ length: P }, () => rng.normal());
    if (minAbsPreactivation(th, train, WIDTH) > margin) return th;
  }
  throw new Error('no point away from kinks');
}

function kernelFor(losses: LossName[], seed0: number): { kernel: PackKernel; thetas: Float64Array[]; gammas: Float64Array } {
  const thetas = losses.map((_, k) => pointAwayFromKinks(seed0 + 100 * k));
  const kernel = createReferenceKernel({
    width: WIDTH,
    train,
    validation,
    trials: losses.map((loss, k) => ({ loss, lr: 0.1 * (k + 1), theta: thetas[k] })),
  }) as PackKernel;
  // ce gets all ones (the driver's convention); every other loss gets non-trivial weights (mse must ignore them).
  const gammas = new Float64Array(losses.length * C);
  losses.forEach((loss, k) => gammas.set(loss === 'ce' ? [1, 1, 1] : GAMMA, k * C));
  return { kernel, thetas, gammas };
}

const FAMILIES: LossName[][] = [
  ['ce', 'dce'],
  ['mse', 'dmse1', 'dmse2'],
];

describe.each(FAMILIES)('reference kernel derivatives, family of %s', (...losses: LossName[]) => {
  it('evaluate() matches the naive SCIENCE.md loss', () => {
    const { kernel, thetas, gammas } = kernelFor(losses, 1);
    const m = kernel.evaluate('train', gammas);
    losses.forEach((loss, k) => {
      const g = gammas.subarray(k * C, (k + 1) * C);
      expect(m.loss[k]).toBeCloseTo(naiveLoss(thetas[k], train, WIDTH, loss, g), 12);
      const staticLoss = loss === 'ce' || loss === 'dce' ? 'ce' : 'mse';
      expect(m.lossStatic[k]).toBeCloseTo(naiveLoss(thetas[k], train, WIDTH, staticLoss, [1, 1, 1]), 12);
    });
  });

  it('gradient matches central finite differences of the loss', () => {
    const { kernel, thetas, gammas } = kernelFor(losses, 2);
    const grad = kernel.gradient(gammas);
    losses.forEach((loss, k) => {
      const g = gammas.subarray(k * C, (k + 1) * C);
      const fd = new Float64Array(P);
      for (let p = 0; p < P; p++) {
        const plus = Float64Array.from(thetas[k]);
        const minus = Float64Array.from(thetas[k]);
        plus[p] += EPS;
        minus[p] -= EPS;
        fd[p] = (naiveLoss(plus, train, WIDTH, loss, g) - naiveLoss(minus, train, WIDTH, loss, g)) / (2 * EPS);
      }
      const an = grad.subarray(k * P, (k + 1) * P);
      expect(maxAbs(an)).toBeGreaterThan(1e-3); // not a trivial point
      expect(maxAbsDiff(an, fd)).toBeLessThan(1e-7 * (1 + maxAbs(fd)));
    });
  });

  it('hvp (R-operator) matches finite differences of the analytic gradient', () => {
    const { kernel, thetas, gammas } = kernelFor(losses, 3);
    const rng = createRng(9, 'test-v');
    const v = Float64Array.from({ length: losses.length * P }, () => rng.normal());
    const hv = kernel.hvp(v, gammas);
    const K = losses.length;
    const shifted = (sign: number) => {
      for (let k = 0; k < K; k++) {
        kernel.setParams(k, Float64Array.from(thetas[k], (t, i) => t + sign * EPS * v[k * P + i]));
      }
      return kernel.gradient(gammas);
    };
    const gp = shifted(+1);
    const gm = shifted(-1);
    const fd = gp.map((g, i) => (g - gm[i]) / (2 * EPS));
    for (let k = 0; k < K; k++) kernel.setParams(k, thetas[k]);
    for (let k = 0; k < K; k++) {
      const a = hv.subarray(k * P, (k + 1) * P);
      const b = fd.subarray(k * P, (k + 1) * P);
      expect(maxAbs(a)).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-6 * (1 + maxAbs(b)));
    }
    // And hvp is unchanged after the round trip through setParams.
    expect(kernel.hvp(v, gammas)).toEqual(hv);
  });

  it('hvp is symmetric: u.Hv = v.Hu', () => {
    const { kernel, gammas } = kernelFor(losses, 4);
    const rng = createRng(10, 'test-uv');
    const K = losses.length;
    const u = Float64Array.from({ length: K * P }, () => rng.normal());
    const v = Float64Array.from({ length: K * P }, () => rng.normal());
    const hu = kernel.hvp(u, gammas);
    const hv = kernel.hvp(v, gammas);
    for (let k = 0; k < K; k++) {
      let a = 0;
      let b = 0;
      for (let i = k * P; i < (k + 1) * P; i++) {
        a += u[i] * hv[i];
        b += v[i] * hu[i];
      }
      expect(Math.abs(a - b)).toBeLessThan(1e-12 * (1 + Math.abs(a)));
    }
  });

  it('step is theta - lr * grad and returns the loss before the step; inactive trials stay put', () => {
    const { kernel, thetas, gammas } = kernelFor(losses, 5);
    const K = losses.length;
    const grad = kernel.gradient(gammas);
    const before = kernel.evaluate('train', gammas).loss;
    const active = new Uint8Array(K).fill(1);
    active[K - 1] = 0;
    const returned = kernel.step(gammas, active);
    for (let k = 0; k < K; k++) {
      expect(returned[k]).toBeCloseTo(before[k], 13);
      const lr = 0.1 * (k + 1);
      const expected = active[k] ? thetas[k].map((t, i) => t - lr * grad[k * P + i]) : thetas[k];
      expect(maxAbsDiff(kernel.getParams(k), expected)).toBeLessThan(1e-15 * (1 + maxAbs(expected)));
    }
  });
});

describe('reference kernel', () => {
  it('rejects mixed loss families in a pack', () => {
    const th = pointAwayFromKinks(1);
    expect(() =>
      createReferenceKernel({ width: WIDTH, train, validation, trials: [{ loss: 'ce', lr: 1, theta: th }, { loss: 'mse', lr: 1, theta: th }] }),
    ).toThrow(/famil/);
  });

  it('a trial gives the same numbers alone and inside a pack', () => {
    const th = pointAwayFromKinks(7);
    const g = Float64Array.from(GAMMA);
    const alone = createReferenceKernel({ width: WIDTH, train, validation, trials: [{ loss: 'dce', lr: 1, theta: th }] }) as PackKernel;
    const packed = createReferenceKernel({
      width: WIDTH,
      train,
      validation,
      trials: [{ loss: 'ce', lr: 0.3, theta: pointAwayFromKinks(8) }, { loss: 'dce', lr: 1, theta: th }],
    }) as PackKernel;
    const v = Float64Array.from({ length: P }, (_, i) => Math.sin(i));
    const g2 = new Float64Array(2 * C).fill(1);
    g2.set(GAMMA, C);
    const v2 = new Float64Array(2 * P);
    v2.set(v, P);
    expect(packed.hvp(v2, g2).subarray(P)).toEqual(alone.hvp(v, g));
    expect(packed.gradient(g2).subarray(P)).toEqual(alone.gradient(g));
  });
});
