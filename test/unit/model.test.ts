import { describe, expect, it } from 'vitest';
import { flattenParams, initParams, paramCount, unflattenParams } from '../../core/model.js';

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

  it('glorot-normal: weight scales 2/(fan_in+fan_out), biases ~1e-6', () => {
    const w = 400;
    const th = initParams(w, 3, 'glorot-normal', 42);
    expect(th.length).toBe(6 * w + 3);
    const W1 = th.subarray(0, 2 * w);
    const b1 = th.subarray(2 * w, 3 * w);
    const W2 = th.subarray(3 * w, 6 * w);
    expect(std(W1) / Math.sqrt(2 / (2 + w))).toBeCloseTo(1, 1);
    expect(std(W2) / Math.sqrt(2 / (w + 3))).toBeCloseTo(1, 1);
    expect(std(b1) / 1e-6).toBeCloseTo(1, 1);
    expect(Math.max(...Array.from(th.subarray(6 * w)).map(Math.abs))).toBeLessThan(1e-5);
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
