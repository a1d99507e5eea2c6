import { describe, expect, it } from 'vitest';
import { defaultDatasetSpec, makeSpirals } from '../../core/data.js';

describe('makeSpirals', () => {
  const spec = defaultDatasetSpec({ pointsPerClass: 50, validationPointsPerClass: 30 });

  it('has the right shapes, arm-ordered labels and radii in [0, 1]', () => {
    const tr = makeSpirals(spec, 'train');
    expect(tr.n).toBe(150);
    expect(tr.d).toBe(2);
    expect(tr.classes).toBe(3);
    expect(tr.x.length).toBe(300);
    expect(Array.from(tr.y)).toEqual([...Array(50).fill(0), ...Array(50).fill(1), ...Array(50).fill(2)]);
    for (let mu = 0; mu < tr.n; mu++) {
      const r = Math.hypot(tr.x[2 * mu], tr.x[2 * mu + 1]);
      // Radius is exactly i/(n-1) (noise only moves the angle).
      expect(r).toBeCloseTo((mu % 50) / 49, 12);
    }
    const va = makeSpirals(spec, 'validation');
    expect(va.n).toBe(90);
    expect(va.x.length).toBe(180);
  });

  it('follows the SCIENCE.md formula exactly without noise', () => {
    const s = defaultDatasetSpec({ pointsPerClass: 10, noise: 0, classes: 4, revolutions: 3 });
    const tr = makeSpirals(s, 'train');
    for (let j = 0; j < 4; j++) {
      for (let i = 0; i < 10; i++) {
        const a = (2 * Math.PI * j) / 4 + (3 * Math.PI * i) / 9;
        const r = i / 9;
        const mu = j * 10 + i;
        expect(tr.x[2 * mu]).toBeCloseTo(r * Math.cos(a), 14);
        expect(tr.x[2 * mu + 1]).toBeCloseTo(r * Math.sin(a), 14);
        expect(tr.y[mu]).toBe(j);
      }
    }
  });

  it('angular noise has the configured scale', () => {
    const s = defaultDatasetSpec({ pointsPerClass: 2000, noise: 0.2 });
    const clean = makeSpirals({ ...s, noise: 0 }, 'train');
    const noisy = makeSpirals(s, 'train');
    let sum2 = 0;
    let count = 0;
    for (let mu = 0; mu < noisy.n; mu++) {
      if (mu % 2000 < 20) continue; // angles near the centre are ill-defined
      const d = Math.atan2(noisy.x[2 * mu + 1], noisy.x[2 * mu]) - Math.atan2(clean.x[2 * mu + 1], clean.x[2 * mu]);
      const wrapped = Math.atan2(Math.sin(d), Math.cos(d));
      sum2 += wrapped * wrapped;
      count++;
    }
    expect(Math.sqrt(sum2 / count)).toBeCloseTo(0.2, 2);
  });

  it('is deterministic, and its seeds change the noise', () => {
    const a = makeSpirals(spec, 'train');
    expect(makeSpirals(spec, 'train').x).toEqual(a.x);
    const b = makeSpirals({ ...spec, seed: spec.seed + 1 }, 'train');
    expect(b.x).not.toEqual(a.x);
    expect(b.y).toEqual(a.y);
    // The validation set depends on validationSeed only.
    const v = makeSpirals(spec, 'validation');
    expect(makeSpirals({ ...spec, seed: 99 }, 'validation').x).toEqual(v.x);
    expect(makeSpirals({ ...spec, validationSeed: 5 }, 'validation').x).not.toEqual(v.x);
  });

  it('validation noise is independent of training noise even with equal seeds and sizes', () => {
    const s = defaultDatasetSpec({ pointsPerClass: 40, seed: 3, validationSeed: 3 });
    expect(makeSpirals(s, 'validation').x).not.toEqual(makeSpirals(s, 'train').x);
  });
});
