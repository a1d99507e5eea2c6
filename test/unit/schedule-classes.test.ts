import { describe, expect, it } from 'vitest';
import { classWeights, type ScheduleConfig } from '../../core/schedule.js';

const cfg = (classes: number, amplitude: number, period = 10): ScheduleConfig => ({ classes, period, amplitude, shape: 'triangle', steps: 10_000, finalStaticSteps: 0 });

describe('the schedule with C classes', () => {
  for (const C of [2, 3, 4, 7, 10, 26]) {
    it(`C = ${C}: classes take turns, each once every C periods; weights sum to C; peak C A/(A + C - 1)`, () => {
      const T = 10;
      for (let m = 0; m < 3 * C; m++) {
        const peak = classWeights(m * T + T / 2, cfg(C, 5, T));
        const emphasised = peak.indexOf(Math.max(...peak));
        expect(emphasised).toBe(m % C);
        expect(peak.reduce((a, b) => a + b)).toBeCloseTo(C, 12);
        expect(peak[emphasised]).toBeCloseTo((C * 5) / (5 + C - 1), 12);
        for (let i = 0; i < C; i++) if (i !== emphasised) expect(peak[i]).toBeCloseTo(C / (5 + C - 1), 12);
      }
    });

    it(`C = ${C}: A = 1 gives exact ones at every step`, () => {
      for (let t = 0; t < 5 * C * 7; t++) expect(Array.from(classWeights(t, cfg(C, 1, 7)))).toEqual(new Array(C).fill(1));
    });
  }
});
