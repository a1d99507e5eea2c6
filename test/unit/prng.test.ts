import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/prng.js';

const draw = (seed: number, stream: string, n: number, f: 'next' | 'normal' = 'next') => {
  const r = createRng(seed, stream);
  return Array.from({ length: n }, () => r[f]());
};

describe('createRng', () => {
  it('is deterministic for a (seed, stream)', () => {
    expect(draw(7, 'a', 50)).toEqual(draw(7, 'a', 50));
    expect(draw(7, 'a', 50, 'normal')).toEqual(draw(7, 'a', 50, 'normal'));
  });

  it('differs across seeds and streams', () => {
    const base = draw(7, 'a', 20);
    for (const other of [draw(8, 'a', 20), draw(7, 'b', 20), draw(-7, 'a', 20), draw(7 + 2 ** 32, 'a', 20)]) {
      const same = other.filter((v, i) => v === base[i]).length;
      expect(same).toBe(0);
    }
  });

  it('uniforms lie in [0, 1) with the right moments', () => {
    const u = draw(3, 'moments', 40_000);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const mean = u.reduce((s, v) => s + v, 0) / u.length;
    const variance = u.reduce((s, v) => s + (v - mean) ** 2, 0) / u.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.003);
  });

  it('normals have mean 0, variance 1 and normal tails', () => {
    const z = draw(5, 'normal', 40_000, 'normal');
    const mean = z.reduce((s, v) => s + v, 0) / z.length;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    const beyond2 = z.filter((v) => Math.abs(v) > 2).length / z.length;
    expect(Math.abs(beyond2 - 0.0455)).toBeLessThan(0.006);
  });

  it('consecutive normals are uncorrelated (both Box-Muller outputs are used)', () => {
    const z = draw(11, 'pairs', 20_000, 'normal');
    let c = 0;
    for (let i = 0; i + 1 < z.length; i += 2) c += z[i] * z[i + 1];
    expect(Math.abs(c / (z.length / 2))).toBeLessThan(0.04);
  });

  it('rejects seeds that are not safe integers', () => {
    expect(() => createRng(1.5, 'x')).toThrow();
    expect(() => createRng(Number.NaN, 'x')).toThrow();
  });
});
