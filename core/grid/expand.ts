import { canonicalJson, contentHash } from '../hash.js';
import { DATA_GENERATOR_VERSION } from '../data.js';
import { engineVersions } from '../engines/versions.js';
import { INIT_VERSIONS } from '../model.js';
import { isDynamical, lossFamily, type DatasetSpec, type Pack, type TabularDatasetSpec, type Trial, type TrialConfig } from '../types.js';
import { DIGITS } from '../datasets/load.js';
import { trialsPerWidth, type DigitsDatasetInput, type FileDatasetInput, type GridSpec } from './schema.js';

/** Default offset between the training and validation noise seeds: an independent stream. */
const VALIDATION_SEED_OFFSET = 1_000_003;

export function datasetOf(spec: GridSpec): DatasetSpec {
  const d = spec.dataset;
  if (d.kind !== 'spirals') return tabularDatasetOf(d);
  return {
    kind: 'spirals',
    classes: d.classes,
    pointsPerClass: d.pointsPerClass,
    validationPointsPerClass: d.validationPointsPerClass ?? d.pointsPerClass,
    revolutions: d.revolutions,
    noise: d.noise,
    seed: d.seed,
    validationSeed: d.validationSeed ?? d.seed + VALIDATION_SEED_OFFSET,
    // Only when it changes the data: the default ('keep', or absent) keeps the trial ids it always had.
    ...(d.coincident === 'drop' ? { coincident: 'drop' as const } : {}),
  };
}

/** A resolved file or digits dataset (core/grid/resolve.ts fills in classes, format, label and hashes) as trials carry it. */
function tabularDatasetOf(d: FileDatasetInput | DigitsDatasetInput): TabularDatasetSpec {
  const classes = d.classes;
  const hash = d.kind === 'file' ? d.sha256 : DIGITS.sha256;
  if (!classes || hash === undefined || (d.kind === 'file' && (!d.format || !d.label || (d.validation.path !== undefined && !d.validation.sha256)))) {
    throw new Error(`a ${d.kind} dataset must be resolved (its files read) before trials are made of it: core/grid/resolve.ts resolveGrid`);
  }
  const split = d.validation.fraction !== undefined ? { fraction: d.validation.fraction, seed: d.validation.seed ?? 0 } : null;
  const common = {
    classNames: classes.map(String),
    classes: classes.length,
    split,
    pointsPerClass: d.pointsPerClass ?? null,
    validationPointsPerClass: d.validationPointsPerClass ?? null,
    standardize: d.standardize,
    ...(d.coincident === 'drop' ? { coincident: 'drop' as const } : {}),
  };
  if (d.kind === 'digits') {
    return { kind: 'digits', format: 'csv', header: false, label: DIGITS.label, features: null, ...common, contentHash: { train: hash } };
  }
  const validationPath = 'path' in d.validation ? d.validation.path : undefined;
  return {
    kind: 'file',
    source: { train: d.path, ...(validationPath !== undefined ? { validation: validationPath } : {}) },
    format: d.format!,
    header: d.header,
    label: d.label!,
    features: d.features ?? null,
    ...common,
    contentHash: { train: hash, ...(d.validation.sha256 ? { validation: d.validation.sha256 } : {}) },
  };
}

/**
 * Versions of the code that turns a configuration into numbers: the engine (a hash of its sources,
 * core/engines/versions.ts), the data generator and the initialisation scheme. A change to any of them changes
 * the trial ids it enters, so old records are not served.
 */
export function codeVersions(config: Pick<TrialConfig, 'engine' | 'init'>) {
  return {
    engineVersion: engineVersions()[config.engine],
    dataGeneratorVersion: DATA_GENERATOR_VERSION,
    initVersion: INIT_VERSIONS[config.init],
  };
}
export type CodeVersions = ReturnType<typeof codeVersions>;

/** The trial id: a hash of the full configuration and the code versions. */
export function trialId(config: TrialConfig): string {
  return contentHash({ config: withoutLocation(config), ...codeVersions(config) });
}

/** The configuration without where a file dataset lies: the same bytes read from elsewhere are the same trial. */
function withoutLocation(config: TrialConfig): TrialConfig {
  if (config.dataset.kind !== 'file') return config;
  const { source: _where, ...dataset } = config.dataset;
  return { ...config, dataset };
}

/** The grid's trials, in trialsOf's order. */
export function expandGrid(spec: GridSpec): Trial[] {
  return [...trialsOf(spec)];
}

/**
 * The grid's trials, one at a time (a caller can pause between them, e.g. to heartbeat). Static losses (ce, mse)
 * ignore period and amplitude, so they are crossed only with width x lr x seed; dynamical losses with
 * width x lr x period x amplitude x seed. Order: loss, width, lr, period, amplitude, seed (as listed in the file).
 */
export function* trialsOf(spec: GridSpec): Generator<Trial> {
  const dataset = datasetOf(spec);
  const t = spec.training;
  const g = spec.grid;
  for (const loss of g.loss) {
    const dyn = isDynamical(loss);
    const periods: (number | null)[] = dyn ? (g.period ?? []) : [null];
    const amplitudes: (number | null)[] = dyn ? (g.amplitude ?? []) : [null];
    for (const width of g.width)
      for (const lr of g.lr)
        for (const period of periods)
          for (const amplitude of amplitudes)
            for (const seed of g.seed) {
              const config: TrialConfig = {
                dataset,
                init: spec.model.init,
                width,
                lr,
                loss,
                period,
                amplitude,
                shape: t.schedule,
                seed,
                steps: t.steps,
                finalStaticSteps: t.finalStaticSteps,
                evalEvery: t.evalEvery,
                sharpnessEvery: t.sharpnessEvery,
                sharpness: {
                  method: t.sharpness.method,
                  iterations: t.sharpness.iterations,
                  tolerance: t.sharpness.tolerance,
                  minOrder: t.sharpness.minOrder,
                  coldEvery: t.sharpness.coldEvery,
                },
                engine: spec.engine,
                // Only when set: a grid without a guard keeps the trial ids it always had.
                ...(t.guard ? { guard: { ...t.guard } } : {}),
              };
              yield { id: trialId(config), config };
            }
  }
}

/**
 * Group trials into packs that share width, dataset, loss family and step count (the unit of work
 * and of batching), at most `packSize` trials each. Deterministic: same grid, same packs.
 */
export function planPacks(trials: Trial[], packSize: number): Pack[] {
  const groups = new Map<string, Trial[]>();
  // A grid's trials share one dataset object: serialised once, not hashed with every trial (that hash was a third
  // of planning's time).
  const datasets = new Map<DatasetSpec, string>();
  for (const trial of trials) {
    const c = trial.config;
    let d = datasets.get(c.dataset);
    if (d === undefined) datasets.set(c.dataset, (d = canonicalJson(c.dataset)));
    const key = JSON.stringify([c.width, d, lossFamily(c.loss), c.steps, c.init, c.engine]);
    const list = groups.get(key);
    if (list) list.push(trial);
    else groups.set(key, [trial]);
  }
  const packs: Pack[] = [];
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i += packSize) {
      packs.push({ index: packs.length, width: group[0].config.width, trials: group.slice(i, i + packSize) });
    }
  }
  return packs;
}

/**
 * The packs planPacks makes of trialsOf(spec), the same packs in the same order, one at a time: planning a sweep
 * holds one pack in memory, not the grid. planPacks' groups are (width, loss family) within one grid (dataset,
 * steps, init and engine are the grid's), met in order of each family's first loss, then width.
 */
export function* packsOf(spec: GridSpec): Generator<Pack> {
  const size = spec.execution.packSize;
  const families = [...new Set(spec.grid.loss.map(lossFamily))];
  let index = 0;
  for (const family of families) {
    const loss = spec.grid.loss.filter((l) => lossFamily(l) === family);
    for (const width of spec.grid.width) {
      let trials: Trial[] = [];
      for (const trial of trialsOf({ ...spec, grid: { ...spec.grid, loss, width: [width] } })) {
        if (trials.push(trial) === size) {
          yield { index: index++, width, trials };
          trials = [];
        }
      }
      if (trials.length > 0) yield { index: index++, width, trials };
    }
  }
}

/** How many packs planPacks makes of the grid's trials, counted from the axes (nothing is expanded). */
export function countPacks(spec: GridSpec): number {
  let perWidth = 0;
  for (const n of Object.values(trialsPerWidth(spec.grid))) perWidth += Math.ceil(n / spec.execution.packSize);
  return perWidth * spec.grid.width.length;
}
