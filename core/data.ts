/**
 * Interleaved spirals exactly as SCIENCE.md "Dataset": arm j, point i of n has radius i/(n-1) and angle
 * 2*pi*j/C + R*pi*i/(n-1) + s*g with g standard normal. Arm 0's points come first, then arm 1, ...
 */
import type { KernelData } from './kernel.js';
import type { DatasetSpec } from './types.js';
import { createRng } from './prng.js';

export interface Dataset extends KernelData {
  d: 2;
}

export function defaultDatasetSpec(overrides: Partial<DatasetSpec> = {}): DatasetSpec {
  const seed = overrides.seed ?? 0;
  const pointsPerClass = overrides.pointsPerClass ?? 100;
  return {
    kind: 'spirals',
    classes: 3,
    pointsPerClass,
    validationPointsPerClass: pointsPerClass,
    revolutions: 4,
    noise: 0.2,
    seed,
    validationSeed: seed + 1_000_003,
    ...overrides,
  };
}

/**
 * Version of makeSpirals' numbers: bump it whenever the points it returns for a given spec may change (formula,
 * stream names, draw order, PRNG). Part of every trial id (core/grid/expand.ts) and of the manifest, so records
 * trained on older data are never served as current; test/unit/golden.test.ts pins the current output.
 */
export const DATA_GENERATOR_VERSION = '1';

export function makeSpirals(spec: DatasetSpec, split: 'train' | 'validation'): Dataset {
  const C = spec.classes;
  const n = split === 'train' ? spec.pointsPerClass : spec.validationPointsPerClass;
  const seed = split === 'train' ? spec.seed : spec.validationSeed;
  if (!(C >= 1 && Number.isInteger(C))) throw new Error(`makeSpirals: bad classes ${C}`);
  if (!(n >= 1 && Number.isInteger(n))) throw new Error(`makeSpirals: bad points per class ${n}`);
  // The stream name includes the split, so train and validation noise differ even if the seeds coincide.
  const rng = createRng(seed, `spirals/${split}`);
  const N = n * C;
  const x = new Float64Array(N * 2);
  const y = new Int32Array(N);
  const denom = n > 1 ? n - 1 : 1; // a single point per arm sits at the origin
  for (let j = 0; j < C; j++) {
    for (let i = 0; i < n; i++) {
      const mu = j * n + i;
      const r = i / denom;
      const a = (2 * Math.PI * j) / C + (spec.revolutions * Math.PI * i) / denom + spec.noise * rng.normal();
      x[2 * mu] = r * Math.cos(a);
      x[2 * mu + 1] = r * Math.sin(a);
      y[mu] = j;
    }
  }
  return { x, y, n: N, d: 2, classes: C };
}
