import { describe, expect, it } from 'vitest';
import { etaOf } from '../../cli/render.js';

describe('progress ETA', () => {
  it('is unknown until something has moved, then extrapolates the pace so far', () => {
    expect(etaOf(5, 0, 50)).toBe('…');
    expect(etaOf(10, 10, 50)).toBe('40s');
    expect(etaOf(30, 10, 50)).toBe('2m00s');
    expect(etaOf(90, 1.5, 100)).toBe('1h38m');
    expect(etaOf(12, 50, 50)).toBe('0s');
  });
});
