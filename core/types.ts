/**
 * Shared vocabulary of the pure core: trial configurations, packs, engines, records.
 * Everything here is plain data (JSON-serialisable) so it can cross worker threads,
 * Temporal payloads (small things only) and the results store unchanged.
 */

export const LOSSES = ['ce', 'dce', 'mse', 'dmse1', 'dmse2'] as const;
export type LossName = (typeof LOSSES)[number];

/** The static loss each loss is compared with (SCIENCE.md: ce for dce; mse for dmse1 and dmse2). */
export const STATIC_COUNTERPART: Record<LossName, 'ce' | 'mse'> = {
  ce: 'ce',
  dce: 'ce',
  mse: 'mse',
  dmse1: 'mse',
  dmse2: 'mse',
};

export function isDynamical(loss: LossName): boolean {
  return loss !== 'ce' && loss !== 'mse';
}

/** Loss family: trials of one family share their forward/backward structure and can be packed together. */
export function lossFamily(loss: LossName): 'ce' | 'mse' {
  return STATIC_COUNTERPART[loss];
}

export type ScheduleShape = 'triangle' | 'sine';
/**
 * Initial weights (core/model.ts initParams). 'glorot-normal' (default): the authors' notebook, i.e.
 * jax.example_libraries.stax.Dense defaults: weights glorot_normal (a normal truncated at 2 standard deviations,
 * rescaled to variance 2/(fan_in + fan_out)), biases N(0, 0.01^2). 'standard': N(0, 1/fan_in) weights, zero biases.
 */
export type InitScheme = 'glorot-normal' | 'standard';
export type EngineName = 'reference' | 'tfjs' | 'fast';

/** The data every trial of a sweep trains on: generated spirals, or a table read from files (docs/real-data.md). */
export type DatasetSpec = SpiralsSpec | TabularDatasetSpec;

/** Interleaved spirals (SCIENCE.md "Dataset"). The data seed is the dataset's own: every trial of a sweep sees the same data. */
export interface SpiralsSpec {
  kind: 'spirals';
  /** Number of classes C (arms). Default 3. */
  classes: number;
  /** Training points per arm n. Default 100. */
  pointsPerClass: number;
  /** Validation points per arm. Default: pointsPerClass. */
  validationPointsPerClass: number;
  /** Half-turns R in the angle formula. Default 4 (two full turns). */
  revolutions: number;
  /** Angular noise s in radians. Default 0.2. */
  noise: number;
  /** Seed of the training set's noise. Default 0. */
  seed: number;
  /** Seed of the validation set's noise. Default seed + 1_000_003 (independent stream). */
  validationSeed: number;
  /**
   * Points whose input coincides with a point of a different label (the generator puts point 0 of every arm at
   * the origin). Absent or 'keep' (the authors' generator): kept, so the best achievable accuracy is below 1.
   * 'drop': every such point is removed, in the training and the validation set alike (core/data.ts
   * dropConflicting), so every set can be fit. Grids write it only when 'drop', so that trial ids of the
   * default data stay as they were.
   */
  coincident?: 'keep' | 'drop';
}

/**
 * A labelled table: `file` (CSV, Parquet, .npy or .npz at a path or s3:// URI) or `digits` (the 8x8 handwritten
 * digits shipped in data/digits/). Resolved from the grid's `dataset` when a sweep is validated or planned
 * (core/datasets/resolve.ts): every default that depends on the data is written out, so a trial's numbers
 * follow from this spec and the bytes whose hashes it holds. Prepared by core/datasets/prepare.ts.
 */
export interface TabularDatasetSpec {
  kind: 'file' | 'digits';
  /** kind 'file': where the files are read (absolute path or s3:// URI). Not part of the trial id: the content is. */
  source?: { train: string; validation?: string };
  format: 'csv' | 'parquet' | 'npy' | 'npz';
  /** CSV: the first row names the columns (else they are "0", "1", ... by position). */
  header: boolean;
  /** The label column. */
  label: string;
  /** Feature columns, in this order; null: every column but the label, in file order. */
  features: string[] | null;
  /** Class i is the label value classNames[i]; rows with other labels are left out (a class subset). */
  classNames: string[];
  /** Number of classes C = classNames.length. */
  classes: number;
  /** Validation rows drawn from the file, stratified per class (PRNG stream dataset/split); null: a validation file. */
  split: { fraction: number; seed: number } | null;
  /** At most this many training (validation) points per class, the first in file order; null: all. */
  pointsPerClass: number | null;
  validationPointsPerClass: number | null;
  /** Features standardised with the training part's mean and standard deviation. */
  standardize: boolean;
  /** As SpiralsSpec.coincident; written only when 'drop'. */
  coincident?: 'drop';
  /** SHA-256 (hex) of the training file's bytes, and of the validation file's. */
  contentHash: { train: string; validation?: string };
}

/** How the largest Hessian eigenvalue is estimated. */
export interface SharpnessSpec {
  /** 'lanczos' (full reorthogonalisation) or 'power' (warm-started power iteration). Default 'lanczos'. */
  method: 'lanczos' | 'power';
  /** Lanczos order (the maximum order when warm-started with a tolerance), or the maximum number of power iterations. Default 20. */
  iterations: number;
  /**
   * Relative residual ||H v - lambda v|| <= tolerance * |lambda| at which a warm-started estimate stops
   * (core/sharpness.ts). Lanczos: > 0 turns on warm starts from the previous eigenvector between the first
   * and the final measurement (those two stay cold, full order); 0 or absent: every measurement cold.
   * Power iteration: its stopping tolerance (absent or 0: 1e-6). The grid's default is 1e-3.
   */
  tolerance?: number;
  /**
   * Warm Lanczos: the fewest steps (products) before it may stop on its residual, 1 <= minOrder <= iterations.
   * Absent: 10 (the grid's default; core/sharpness.ts DEFAULT_SHARPNESS_MIN_ORDER).
   */
  minOrder?: number;
  /**
   * Warm Lanczos: every coldEvery-th sharpness measurement (steps s with s / sharpnessEvery a positive multiple
   * of coldEvery) also solves cold and records the better value, counting disagreements (SharpnessTrace
   * coldChecks). 0: never. Absent: 10 (the grid's default; DEFAULT_SHARPNESS_COLD_EVERY).
   */
  coldEvery?: number;
}

/**
 * One trial: everything that determines its numbers. Hashed, with the code versions (core/grid/expand.ts
 * codeVersions), into the trial id.
 */
export interface TrialConfig {
  dataset: DatasetSpec;
  init: InitScheme;
  /** Hidden width w. */
  width: number;
  /** Learning rate eta of full-batch gradient descent. */
  lr: number;
  loss: LossName;
  /** Period T in steps; null for static losses. */
  period: number | null;
  /** Amplitude A >= 1; null for static losses. */
  amplitude: number | null;
  shape: ScheduleShape;
  /** Seed of the weight initialisation. */
  seed: number;
  /** Total gradient steps, including the final static segment. */
  steps: number;
  /** Last S steps trained with A = 1 (0: none). */
  finalStaticSteps: number;
  /** Record losses and accuracies every this many steps (and at the last step). */
  evalEvery: number;
  /** Record sharpness every this many steps (0: only at the end). */
  sharpnessEvery: number;
  sharpness: SharpnessSpec;
  engine: EngineName;
  /** The opt-in safety guard (core/train.ts); absent unless the grid sets training.guard, so ids stay as they were. */
  guard?: GuardSpec;
}

/** training.guard (core/grid/schema.ts guardSchema has the meaning and defaults of every field). */
export interface GuardSpec {
  lossJump: number;
  every: number;
  lrFactor: number;
  maxInterventions: number;
}

/** What the guard did to one trial (record `guard`, present only when the trial had a guard). */
export interface GuardLog {
  interventions: {
    /** Step whose loss triggered it. */
    step: number;
    /** That loss (null: not finite). */
    loss: number | null;
    /** The last good state it went back to. */
    restoredToStep: number;
    /** The learning rate from then on. */
    lr: number;
  }[];
  /** The learning rate at the end. */
  finalLr: number;
}

export interface Trial {
  id: string;
  config: TrialConfig;
}

/** Trials that share width, dataset, loss family and step count: one unit of work and of batching. */
export interface Pack {
  index: number;
  width: number;
  trials: Trial[];
}

/** A sampled training curve. All arrays have the same length as `step`. */
export interface Curves {
  step: number[];
  /** The loss being trained (dynamical at the current t). */
  trainLoss: number[];
  /** The static counterpart's loss at the same parameters. */
  trainLossStatic: number[];
  trainAcc: number[];
  /** Validation loss, static counterpart; null where not finite (records are JSON). */
  valLoss: (number | null)[];
  valAcc: number[];
}

/**
 * How a recorded residual was obtained: 'explicit' = ||H v - lambda v|| computed with one extra product (cold
 * Lanczos, power iteration); 'lanczos' = the Lanczos estimate beta_j |s_j| of warm Lanczos (no extra product;
 * equal to the explicit one up to rounding while the Lanczos basis stays orthogonal).
 */
export type ResidualKind = 'explicit' | 'lanczos';

/** The periodic cold checks of warm Lanczos (SharpnessSpec.coldEvery), one entry per check; equal lengths. */
export interface ColdChecks {
  step: number[];
  /** Warm and cold value of each eigenproblem at the check; the trace records the cold one, or the warm one
   * where it is the larger beyond the tolerance (Ritz values never exceed lambda_max: the larger is better). */
  dynamicWarm: (number | null)[];
  dynamicCold: (number | null)[];
  staticWarm: (number | null)[];
  staticCold: (number | null)[];
  /** Warm and cold disagree by more than tolerance * max(|warm|, |cold|) in either eigenproblem. */
  mismatch: boolean[];
}

export interface SharpnessTrace {
  step: number[];
  /** lambda_max of the trained loss at the current t (null where not finite, here and below). */
  dynamic: (number | null)[];
  /** ||H v - lambda v|| for the dynamic estimate. */
  dynamicResidual: (number | null)[];
  /** How dynamicResidual was obtained, per sample. */
  dynamicResidualKind: ResidualKind[];
  /** lambda_max of the static counterpart. */
  static: (number | null)[];
  staticResidual: (number | null)[];
  staticResidualKind: ResidualKind[];
  /** Edge-of-stability ratio lambda_max(dynamic) * eta / 2. */
  eosRatio: (number | null)[];
  coldChecks: ColdChecks;
  /** Number of cold checks that disagreed with the warm solve (0: all agreed, or none ran). */
  coldMismatches: number;
}

/** At the final parameters (for a diverged trial: the last evaluated ones with a finite loss). null: not finite. */
export interface FinalMetrics {
  trainLoss: number | null;
  trainLossStatic: number | null;
  trainAcc: number;
  valLoss: number | null;
  valAcc: number;
  sharpnessDynamic: number | null;
  sharpnessStatic: number | null;
}

/** Version of the record layout (docs/science.md "Trial record"). 2: residual kinds and cold checks in `sharpness`. */
export const TRIAL_RECORD_SCHEMA = 'dynsweep.trial/2';

/** `trials/<trialId>.json` in the results store. */
export interface TrialRecord {
  schema: typeof TRIAL_RECORD_SCHEMA;
  trialId: string;
  config: TrialConfig;
  engine: { name: EngineName; version: string; backend: string };
  /** P(w) = (d + 1) w + (w + 1) C. */
  params: number;
  curves: Curves;
  sharpness: SharpnessTrace;
  final: FinalMetrics;
  diverged: boolean;
  /** First step whose loss was not finite, or null. */
  divergedAtStep: number | null;
  /** Steps actually taken. */
  stepsRun: number;
  wallTimeS: number;
  stepsPerSecond: number;
  /** Store key of the artifact with final parameters and training set. */
  artifactKey: string;
  /** Trials with training.guard only: its interventions. */
  guard?: GuardLog;
}

/** `artifacts/<trialId>.json`: enough to recompute every figure of the trial independently. */
export interface TrialArtifact {
  /** d rows of w. */
  W1: number[][];
  b1: number[];
  /** w rows of C. */
  W2: number[][];
  b2: number[];
  train: { x: number[][]; y: number[] };
  loss: LossName;
  /** Class weights Gamma(t) at the final step (all ones for static losses). */
  gamma: number[];
  /** lambda_max at exactly these parameters: static counterpart and trained loss with `gamma`. */
  finalSharpness: { static: number | null; dynamic: number | null };
}

export interface TrialOutcome {
  record: TrialRecord;
  artifact: TrialArtifact;
}

/**
 * What the instability monitor knows of one trial so far (core/monitor.ts): compact numbers, a few per trial, that
 * ride on the pack's heartbeats. null: no finite sharpness sample yet.
 */
export interface TrialStability {
  /** Step of the latest finite sharpness sample. */
  step: number | null;
  /** lambda_max of the trained loss there. */
  sharpness: number | null;
  /** Edge-of-stability ratio lambda_max * eta / 2 there (above 1: beyond 2/eta). */
  eos: number | null;
  /** Largest ratio so far. */
  maxEos: number | null;
  /** Upward crossings of 2/eta so far (a first sample above the limit counts as one). */
  crossings: number;
  /** Loss spikes so far (core/monitor.ts SPIKE_RATIO). */
  spikes: number;
  /** First step whose loss was not finite, or null. */
  divergedAt: number | null;
}

export interface EngineProgress {
  /** Steps completed by the pack (all trials step together). */
  step: number;
  totalSteps: number;
  /** Per trial of the pack, in its order: the instability monitor's numbers so far (absent: the engine does not track them). */
  stability?: TrialStability[];
}

export interface EngineHooks {
  /** Called every few hundred steps; keep it cheap. */
  onProgress?: (p: EngineProgress) => void;
  /** When aborted the engine stops at its next check and throws. */
  signal?: AbortSignal;
  /**
   * The pack's data, prepared by the caller (a file dataset is read at the edge: activities/train-thread.ts);
   * absent: generated from the trials' dataset spec (spirals).
   */
  data?: { train: import('./kernel.js').KernelData; validation: import('./kernel.js').KernelData };
}

/** A training engine: trains a pack and returns one outcome per trial, in the pack's order. */
export interface Engine {
  readonly name: EngineName;
  /** Which backend actually runs (e.g. 'float64', 'wasm', 'cpu', 'tensorflow'). */
  readonly backend: string;
  trainPack(pack: Pack, hooks?: EngineHooks): Promise<TrialOutcome[]>;
}

/** One width of a threshold search's cell, judged by the threshold criterion on all its seeds (core/search/). */
export interface SearchPoint {
  width: number;
  params: number;
  /** Median over seeds of the criterion metric; null: not finite (+Infinity for a loss metric) or no record. */
  median: number | null;
  /** Seeds whose own metric meets the level, of `seeds` with a record. */
  fit: number;
  seeds: number;
  /** The median meets the level (the rule of core/thresholds/criterion.ts). */
  meets: boolean;
}

/**
 * Why a search cell stopped: 'resolved' (the bracket is narrower than the precision, or no width lies inside),
 * 'not-reached' (the largest width fails), 'below-range' (the smallest width meets: P* <= its P), 'budget'
 * (search.maxTrials), 'rounds' (search.maxRounds).
 */
export type SearchOutcome = 'resolved' | 'not-reached' | 'below-range' | 'budget' | 'rounds';

/** The state of one cell (loss, lr, T, A) of a threshold search: constant-size, whatever the rounds. */
export interface SearchCell {
  /** "<loss> <cell label>", e.g. "dce lr=1 T=5000 A=70". */
  id: string;
  loss: LossName;
  key: { lr?: number; period?: number | null; amplitude?: number | null };
  /** Trials per width (the configurations of the cell times the seeds). */
  trialsPerWidth: number;
  /** The largest width known to fail below `hi` (null: none yet). */
  lo: SearchPoint | null;
  /** The smallest width of the run that meets the level up to the largest width trained (null: none yet). */
  hi: SearchPoint | null;
  /** The lowest ladder rung trained so far (null: before the first round). */
  lowestRung: number | null;
  /** A width met the level below one that failed: reported, not hidden (the first one found). */
  nonMonotone: { metAt: SearchPoint; lostAt: SearchPoint } | null;
  /** null while the cell is still searched. */
  outcome: SearchOutcome | null;
  /** Widths trained, and their trials. */
  widths: number;
  trials: number;
}

/** One round of a threshold search: the cells it searched, the widths and trials it planned. */
export interface SearchRoundLog {
  round: number;
  cells: number;
  widths: number;
  trials: number;
}

/** What one round of a threshold search trains for one open cell: ladder rungs, or one bisection width. */
export interface RoundRequest {
  cellId: string;
  widths: number[];
  /** Ladder rungs (the lowest becomes the cell's lowestRung). */
  rungs: boolean;
}
