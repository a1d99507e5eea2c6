import { describe, expect, it } from 'vitest';
import { classWeights, type ScheduleConfig } from '../../core/schedule.js';

const cfg = (o: Partial<ScheduleConfig> = {}): ScheduleConfig => ({
  classes: 3,
  period: 100,
  amplitude: 20,
  shape: 'triangle',
  steps: 10_000,
  finalStaticSteps: 0,
  ...o,
});

describe('classWeights', () => {
  it('sums to C and stays positive', () => {
    for (const shape of ['triangle', 'sine'] as const) {
      for (const C of [2, 3, 5]) {
        for (let t = 0; t < 1000; t += 7) {
          const g = classWeights(t, cfg({ shape, classes: C, period: 90 }));
          expect(g.length).toBe(C);
          expect(g.reduce((s, v) => s + v, 0)).toBeCloseTo(C, 12);
          expect(Math.min(...g)).toBeGreaterThan(0);
        }
      }
    }
  });

  it('A = 1 and static losses give exactly all ones', () => {
    for (let t = 0; t < 500; t += 13) {
      expect(Array.from(classWeights(t, cfg({ amplitude: 1 })))).toEqual([1, 1, 1]);
      expect(Array.from(classWeights(t, cfg({ amplitude: null, period: null })))).toEqual([1, 1, 1]);
    }
  });

  it('classes take turns 0, 1, ..., C-1, 0 with period T', () => {
    const T = 100;
    for (let m = 0; m < 8; m++) {
      const g = classWeights(m * T + T / 2, cfg({ period: T }));
      const argmax = g.indexOf(Math.max(...g));
      expect(argmax).toBe(m % 3);
    }
  });

  it('peak weight A*C/(A+C-1) at mid-period, and the others C/(A+C-1)', () => {
    for (const shape of ['triangle', 'sine'] as const) {
      const A = 70;
      const g = classWeights(250, cfg({ shape, amplitude: A, period: 100 }));
      expect(g[2]).toBeCloseTo((A * 3) / (A + 2), 12);
      expect(g[0]).toBeCloseTo(3 / (A + 2), 12);
      expect(g[1]).toBeCloseTo(3 / (A + 2), 12);
    }
  });

  it('ratio emphasised/other follows the triangle and sine shapes', () => {
    const A = 5;
    const T = 200;
    for (let tau = 0; tau < T; tau += 10) {
      const tri = classWeights(tau, cfg({ amplitude: A, period: T }));
      const frac = tau / T;
      const triExpected = 1 + (A - 1) * (frac <= 0.5 ? 2 * frac : 2 - 2 * frac);
      expect(tri[0] / tri[1]).toBeCloseTo(triExpected, 12);
      const sin = classWeights(tau, cfg({ amplitude: A, period: T, shape: 'sine' }));
      expect(sin[0] / sin[1]).toBeCloseTo(1 + (A - 1) * Math.sin(Math.PI * frac), 12);
    }
    // Period ends: the emphasised class is back to weight 1.
    expect(Array.from(classWeights(T, cfg({ amplitude: A, period: T })))).toEqual([1, 1, 1]);
  });

  it('the final static segment trains with A = 1', () => {
    const c = cfg({ steps: 1000, finalStaticSteps: 300, period: 100 });
    expect(classWeights(650, c)[0]).not.toBe(1);
    expect(Array.from(classWeights(650 + 60, c))).toEqual([1, 1, 1]); // t = 710 >= 700
    expect(Array.from(classWeights(750, c))).toEqual([1, 1, 1]);
    expect(Array.from(classWeights(999, c))).toEqual([1, 1, 1]);
    expect(classWeights(699, c)[0]).not.toBe(1);
  });

  it('writes into a caller buffer', () => {
    const buf = new Float64Array(3);
    const out = classWeights(30, cfg(), buf);
    expect(out).toBe(buf);
    expect(buf.reduce((s, v) => s + v, 0)).toBeCloseTo(3, 12);
  });
});
