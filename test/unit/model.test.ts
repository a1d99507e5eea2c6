import { describe, expect, it } from 'vitest';
import { flattenParams, initParams, paramCount, paramOffsets, TRUNCATED_NORMAL_STD, unflattenParams } from '../../core/model.js';
import { createRng } from '../../core/prng.js';

const std = (a: ArrayLike<number>) => {
  const v = Array.from(a);
  const m = v.reduce((s, x) => s + x, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
};

describe('model', () => {
  it('P(w) = 6w + 3 for d = 2, C = 3, and (d+1)w + (w+1)C in general', () => {
    for (const w of [1, 2, 3, 16, 256]) expect(paramCount(w, 3)).toBe(6 * w + 3);
    expect(paramCount(10, 5, 4)).toBe(5 * 10 + 11 * 5);
  });

  // glorot-normal is jax's glorot_normal (stax.Dense): unit draws from N(0, 1) truncated to (-2, 2), times
  // stddev = sqrt(2/(fan_in + fan_out)) / 0.8796..., so |W| < 2 stddev and Var W = 2/(fan_in + fan_out).
  // Pooled over seeds as u = W / sqrt(2/(fan_in + fan_out)): unit variance, |u| < 2 / 0.8796... = 2.2737.
  const sigma = 0.87962566103423978; // std of N(0, 1) truncated at +-2: sqrt(1 - 4 phi(2) / (2 Phi(2) - 1))
  const glorotDraws = (w: number, seeds: number) => {
    const u: number[] = [];
    const b: number[] = [];
    for (let seed = 0; seed < seeds; seed++) {
      const th = initParams(w, 3, 'glorot-normal', seed);
      const o = paramOffsets(w, 3);
      for (let i = o.W1; i < o.b1; i++) u.push(th[i] / Math.sqrt(2 / (2 + w)));
      for (let i = o.W2; i < o.b2; i++) u.push(th[i] / Math.sqrt(2 / (w + 3)));
      for (const [lo, hi] of [[o.b1, o.W2], [o.b2, o.end]]) for (let i = lo; i < hi; i++) b.push(th[i]);
    }
    return { u, b };
  };

  it('the truncation constant is the std of a standard normal truncated at +-2', () => {
    // phi(2) = exp(-2)/sqrt(2 pi); 2 Phi(2) - 1 = 0.9544997361036416 (erf(sqrt 2)).
    const phi2 = Math.exp(-2) / Math.sqrt(2 * Math.PI);
    expect(Math.sqrt(1 - (4 * phi2) / 0.9544997361036416)).toBeCloseTo(sigma, 14);
    expect(TRUNCATED_NORMAL_STD).toBe(sigma);
  });

  it('glorot-normal: weights in +-2 stddev with variance 2/(fan_in + fan_out); biases N(0, 0.01^2)', () => {
    const { u, b } = glorotDraws(500, 20); // 50,000 weights, 10,060 biases
    const n = u.length;
    const bound = 2 / sigma;
    // (An untruncated N(0, 1) would put 2.3% of the 50,000 draws beyond this bound.)
    expect(Math.max(...u.map(Math.abs))).toBeLessThan(bound);
    // ... and the bound is the truncation point, not a looser one: draws come close to it.
    expect(Math.max(...u.map(Math.abs))).toBeGreaterThan(0.99 * bound);
    const mean = u.reduce((s, x) => s + x, 0) / n;
    const m2 = u.reduce((s, x) => s + x * x, 0) / n;
    const m4 = u.reduce((s, x) => s + x ** 4, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(n));
    // Variance within 4 standard errors (SE of the second moment: sqrt((m4 - m2^2) / n), about 0.005).
    expect(Math.abs(m2 - 1)).toBeLessThan(4 * Math.sqrt((m4 - m2 * m2) / n));
    // Shape: P(|z| < 1) for the truncated unit draw z = u sigma is (2 Phi(1) - 1) / (2 Phi(2) - 1).
    const p1 = 0.6826894921370859 / 0.9544997361036416;
    const inside = u.filter((x) => Math.abs(x * sigma) < 1).length / n;
    expect(Math.abs(inside - p1)).toBeLessThan(4 * Math.sqrt((p1 * (1 - p1)) / n));
    // Biases: N(0, 0.01^2); the sample std has relative SE 1/sqrt(2 n).
    const bStd = std(b);
    expect(Math.abs(bStd / 0.01 - 1)).toBeLessThan(4 / Math.sqrt(2 * b.length));
    expect(Math.abs(b.reduce((s, x) => s + x, 0) / b.length)).toBeLessThan((4 * 0.01) / Math.sqrt(b.length));
  });

  it('glorot-normal: the flat order W1, b1, W2, b2 from stream "init", out-of-range weight draws rejected', () => {
    for (const [w, seed] of [[4, 0], [7, 3], [33, 12]]) {
      const rng = createRng(seed, 'init');
      const unit = () => {
        for (;;) {
          const z = rng.normal();
          if (Math.abs(z) < 2) return z;
        }
      };
      const s1 = Math.sqrt(2 / (2 + w)) / sigma;
      const s2 = Math.sqrt(2 / (w + 3)) / sigma;
      const expected = [
        ...Array.from({ length: 2 * w }, () => s1 * unit()),
        ...Array.from({ length: w }, () => 0.01 * rng.normal()),
        ...Array.from({ length: 3 * w }, () => s2 * unit()),
        ...Array.from({ length: 3 }, () => 0.01 * rng.normal()),
      ];
      expect(Array.from(initParams(w, 3, 'glorot-normal', seed))).toEqual(expected);
    }
  });

  it('standard: N(0, 1/fan_in) weights and zero biases', () => {
    const w = 400;
    const th = initParams(w, 3, 'standard', 42);
    expect(std(th.subarray(0, 2 * w)) / Math.sqrt(1 / 2)).toBeCloseTo(1, 1);
    expect(std(th.subarray(3 * w, 6 * w)) / Math.sqrt(1 / w)).toBeCloseTo(1, 1);
    expect(Array.from(th.subarray(2 * w, 3 * w)).every((v) => v === 0)).toBe(true);
    expect(Array.from(th.subarray(6 * w)).every((v) => v === 0)).toBe(true);
  });

  it('is deterministic per seed and differs across seeds', () => {
    expect(initParams(8, 3, 'glorot-normal', 1)).toEqual(initParams(8, 3, 'glorot-normal', 1));
    expect(initParams(8, 3, 'glorot-normal', 2)).not.toEqual(initParams(8, 3, 'glorot-normal', 1));
  });

  it('nested layout: W1[i][j] = theta[i*w + j], W2[j][k] = theta[3w + j*C + k]; round trip', () => {
    const w = 5;
    const th = Float64Array.from({ length: paramCount(w, 3) }, (_, i) => i + 0.5);
    const p = unflattenParams(th, w, 3);
    expect(p.W1.length).toBe(2);
    expect(p.W1[1][3]).toBe(th[1 * w + 3]);
    expect(p.b1[4]).toBe(th[2 * w + 4]);
    expect(p.W2.length).toBe(w);
    expect(p.W2[2][1]).toBe(th[3 * w + 2 * 3 + 1]);
    expect(p.b2).toEqual([th[6 * w], th[6 * w + 1], th[6 * w + 2]]);
    expect(flattenParams(p)).toEqual(th);
  });
});
