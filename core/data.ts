/**
 * Interleaved spirals exactly as SCIENCE.md "Dataset": arm j, point i of n has radius i/(n-1) and angle
 * 2*pi*j/C + R*pi*i/(n-1) + s*g with g standard normal. Arm 0's points come first, then arm 1, ...
 */
import type { KernelData } from './kernel.js';
import type { DatasetSpec, SpiralsSpec } from './types.js';
import { createRng } from './prng.js';

export interface Dataset extends KernelData {
  d: 2;
}

export function defaultDatasetSpec(overrides: Partial<SpiralsSpec> = {}): SpiralsSpec {
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

export function makeSpirals(spec: SpiralsSpec, split: 'train' | 'validation'): Dataset {
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
  const data: Dataset = { x, y, n: N, d: 2, classes: C };
  return spec.coincident === 'drop' ? dropConflicting(data) : data;
}

/** The training and validation sets of a generated dataset (spirals); a file dataset is read by the caller (EngineHooks.data). */
export function generatedData(spec: DatasetSpec): { train: Dataset; validation: Dataset } {
  if (spec.kind !== 'spirals') throw new Error(`a ${spec.kind} dataset is read from its files, not generated: pass it as EngineHooks.data`);
  return { train: makeSpirals(spec, 'train'), validation: makeSpirals(spec, 'validation') };
}

/** Points grouped by identical input vector (exact equality of every coordinate; -0 equals 0): indices per group. */
function groupByInput(x: ArrayLike<number>, d: number, n: number): Map<string, number[]> {
  if (!(Number.isInteger(d) && d >= 1) || x.length !== n * d) throw new RangeError(`inputs: expected ${n} x ${d} values, got ${x.length}`);
  const groups = new Map<string, number[]>();
  for (let mu = 0; mu < n; mu++) {
    let key = '';
    for (let k = 0; k < d; k++) {
      const v = x[mu * d + k];
      if (Number.isNaN(v)) throw new RangeError(`inputs: point ${mu} has a NaN coordinate`);
      // String() is exact for doubles (shortest round-trip form) and maps -0 to "0", as === does.
      key += k === 0 ? String(v) : `,${String(v)}`;
    }
    const g = groups.get(key);
    if (g) g.push(mu);
    else groups.set(key, [mu]);
  }
  return groups;
}

/** The highest accuracy any classifier (any function of the input) can reach on a labelled set, and why. */
export interface AccuracyCeiling {
  /** correct / points. 1 unless points with different labels share an input. */
  accuracy: number;
  /** Points a best classifier gets right: per distinct input, the count of its most common label. */
  correct: number;
  points: number;
  /** Distinct inputs shared by points of two or more labels. */
  conflictingGroups: number;
  /** Points at those inputs (all of them, also those of the most common label). */
  conflictingPoints: number;
}

/**
 * The accuracy ceiling of a data set: group the points by identical input (exact equality of coordinates,
 * -0 = 0; NaN is rejected), each group contributes the count of its most common label, divided by N.
 * `x` is n x d row-major, `y` the labels (n = y.length).
 */
export function accuracyCeiling(x: ArrayLike<number>, y: ArrayLike<number>, d = 2): AccuracyCeiling {
  const n = y.length;
  if (n === 0) throw new RangeError('accuracyCeiling: no points');
  let correct = 0;
  let conflictingGroups = 0;
  let conflictingPoints = 0;
  for (const members of groupByInput(x, d, n).values()) {
    const counts = new Map<number, number>();
    let best = 0;
    for (const mu of members) {
      const c = (counts.get(y[mu]) ?? 0) + 1;
      counts.set(y[mu], c);
      if (c > best) best = c;
    }
    correct += best;
    if (counts.size > 1) {
      conflictingGroups++;
      conflictingPoints += members.length;
    }
  }
  return { accuracy: correct / n, correct, points: n, conflictingGroups, conflictingPoints };
}

/**
 * `dataset.coincident: drop`: the data set without every point whose input coincides with a point of a
 * different label (points sharing an input with same-label points only are kept); order otherwise unchanged.
 * Its accuracy ceiling is 1.
 */
export function dropConflicting<T extends KernelData>(data: T): T {
  const drop = new Uint8Array(data.n);
  let dropped = 0;
  for (const members of groupByInput(data.x, data.d, data.n).values()) {
    if (members.length < 2 || members.every((mu) => data.y[mu] === data.y[members[0]])) continue;
    for (const mu of members) drop[mu] = 1;
    dropped += members.length;
  }
  if (dropped === 0) return data;
  const n = data.n - dropped;
  const x = new Float64Array(n * data.d);
  const y = new Int32Array(n);
  for (let mu = 0, k = 0; mu < data.n; mu++) {
    if (drop[mu]) continue;
    x.set(data.x.subarray(mu * data.d, (mu + 1) * data.d), k * data.d);
    y[k++] = data.y[mu];
  }
  return { ...data, x, y, n };
}

/** The accuracy ceilings of a dataset spec's training and validation sets (generated here: cheap for spirals). */
export interface DatasetCeilings {
  trainAcc: number;
  valAcc: number;
  train: AccuracyCeiling;
  validation: AccuracyCeiling;
}

/** The ceilings of a training and a validation set. */
export function ceilingsOf(train: KernelData, validation: KernelData): DatasetCeilings {
  const t = accuracyCeiling(train.x, train.y, train.d);
  const v = accuracyCeiling(validation.x, validation.y, validation.d);
  return { trainAcc: t.accuracy, valAcc: v.accuracy, train: t, validation: v };
}

/**
 * The ceilings of a spirals spec (generated here: cheap). A file or digits dataset's come from its data once read
 * (core/grid/resolve.ts), and are in every manifest.
 */
export function datasetCeilings(spec: DatasetSpec): DatasetCeilings {
  if (spec.kind !== 'spirals') throw new Error(`datasetCeilings: a ${spec.kind} dataset's ceilings come from its data (the sweep's manifest.json)`);
  return ceilingsOf(makeSpirals(spec, 'train'), makeSpirals(spec, 'validation'));
}
