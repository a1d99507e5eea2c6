import { z } from 'zod';
import { LOSSES, isDynamical, lossFamily, type LossName } from '../types.js';

/**
 * grid.yaml, version 1. Every section but `grid` has defaults; unknown keys are errors so that a
 * typo ("lerning_rate") never silently falls back to a default.
 */

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const finitePositive = z.number().positive().finite();

/*
 * Limits: what one grid may ask for, so that a sweep that cannot run is refused by `sweep validate` and `sweep start`
 * (exit 2, at its key, nothing started) instead of failing in the workers. Each is far above what the science
 * needs (docs/science.md: 5,320 trials, widths up to 256, 100 points per arm, 700 samples per curve).
 */

/**
 * Trials in one sweep, by default: 1,000,000. Nothing a workflow carries grows with the trials (the plan is in the
 * store, one file per pack), so the cap is about what one sweep's store and finalize take (docs/performance.md,
 * "Scale": a 1,000,000-trial plan and finalize measured). Raise it per grid with `execution.maxTrials`, up to
 * MAX_TRIALS_LIMIT. Counted from the axes, never by expanding them, so `sweep validate` answers at once for any grid.
 */
export const MAX_TRIALS = 1_000_000;
/** The most `execution.maxTrials` may allow. */
export const MAX_TRIALS_LIMIT = 10_000_000;
/** Hidden units of one network: 100,000 (600,003 parameters at 3 classes); packs of wide ones by execution.packMemoryMiB. */
export const MAX_WIDTH = 100_000;
/**
 * Points of the training set, and of the validation set (classes x points per class): 100,000 each. Every step of
 * every trial passes over all of them, the engines keep per-point buffers for every trial of a pack, and
 * `sweep validate` generates both sets (to check the threshold level against them).
 */
export const MAX_POINTS = 100_000;
/**
 * Curve points (steps / evalEvery) and sharpness measurements (steps / sharpnessEvery) per trial: 100,000 each.
 * They are held in memory for every trial of a pack, then written into its record and read back by finalize.
 */
export const MAX_SAMPLES = 100_000;
/**
 * Default of execution.packMemoryMiB, the memory one pack may need (packBytes estimates it): 2048 MiB. A worker
 * trains one pack per core by default, so 2 GiB per core; it also keeps the fast engine's WebAssembly memory
 * (at most 4 GiB per pack) far from its limit.
 */
export const DEFAULT_PACK_MEMORY_MIB = 2048;

const fmt = (n: number) => n.toLocaleString('en-US');

/** A non-empty list of distinct values. */
function axis<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .min(1, 'must list at least one value')
    .refine((xs) => new Set(xs.map((x) => JSON.stringify(x))).size === xs.length, 'values must be distinct');
}

const spiralsSchema = z
  .object({
    kind: z.literal('spirals'),
    /** Classes C (spiral arms). */
    classes: z.number().int().min(2).max(64).default(3),
    /** Training points per arm (classes x pointsPerClass at most MAX_POINTS). */
    pointsPerClass: z.number().int().min(2).default(100),
    /** Validation points per arm; default: as many as training. */
    validationPointsPerClass: z.number().int().min(2).optional(),
    /** Half-turns R of each arm (4 = two full turns). */
    revolutions: finitePositive.default(4),
    /** Angular noise s in radians. */
    noise: z.number().nonnegative().finite().default(0.2),
    /** Seed of the training set's noise; every trial of a sweep sees the same data. */
    seed: nonNegativeInt.default(0),
    /** Seed of the validation noise; default: seed + 1000003. */
    validationSeed: nonNegativeInt.optional(),
    /**
     * Points whose input coincides with a point of a different label (point 0 of every arm lies at the origin).
     * Absent or 'keep' (the authors' generator): kept; no classifier can fit them all, so the training set's
     * achievable accuracy is (N - C + 1)/N (298/300 by default). 'drop': every such point is removed, from the
     * training and the validation set, so both can be fit exactly (297 training points by default). It changes
     * the data, so the trial ids.
     */
    coincident: z.enum(['keep', 'drop']).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    for (const key of ['pointsPerClass', 'validationPointsPerClass'] as const) {
      const perClass = d[key];
      if (perClass === undefined || d.classes * perClass <= MAX_POINTS) continue;
      const set = key === 'pointsPerClass' ? 'training' : 'validation';
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `${d.classes} classes x ${fmt(perClass)} = ${fmt(d.classes * perClass)} ${set} points, more than the ${fmt(MAX_POINTS)} allowed`,
      });
    }
  });

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256: 64 lowercase hex digits');
/** A file: a path (relative to the grid file's folder, or absolute, or ~/...) or an s3://bucket/key URI. */
const locationSchema = z.string().min(1, 'give a path or an s3://bucket/key URI');

/**
 * Where validation points come from: `fraction` of the rows, drawn per class with `seed` (stream dataset/split),
 * or a file `path` with the training file's columns (and its optional `sha256` pin). Default: fraction 0.2, seed 0.
 */
const validationSourceSchema = z
  .object({
    fraction: z.number().gt(0).lt(1).optional(),
    seed: nonNegativeInt.optional(),
    path: locationSchema.optional(),
    sha256: sha256Schema.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.path === undefined) === (v.fraction === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give either path (a validation file) or fraction (of the rows, with an optional seed)' });
    } else if (v.path !== undefined && v.seed !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['seed'], message: 'seed belongs to a fraction split, not to a validation file' });
    } else if (v.fraction !== undefined && v.sha256 !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['sha256'], message: 'sha256 pins a validation file; a fraction split has none' });
    }
  });
const DEFAULT_SPLIT = { fraction: 0.2, seed: 0 };

/** Options every tabular dataset (file, digits) has. */
const tabularOptions = {
  /** At most this many training points per class, the first in file order (after the split); default: all. */
  pointsPerClass: positiveInt.optional(),
  /** At most this many validation points per class; default: all. */
  validationPointsPerClass: positiveInt.optional(),
  /** Standardise every feature with the training part's mean and standard deviation (never the validation's). Default false. */
  standardize: z.boolean().default(false),
  /** As for spirals: 'drop' removes every point whose input coincides with a point of another label. */
  coincident: z.enum(['keep', 'drop']).optional(),
};

/** `kind: file`: a labelled table from CSV, Parquet, .npy or .npz (docs/real-data.md). */
const fileSchema = z
  .object({
    kind: z.literal('file'),
    /** The training file (with `validation.fraction`: the whole data). */
    path: locationSchema,
    /** Default: from the name (.csv / .csv.gz, .parquet / .pq, .npy, .npz). */
    format: z.enum(['csv', 'parquet', 'npy', 'npz']).optional(),
    /** CSV: the first row names the columns. Default true; false names them "0", "1", ... by position. */
    header: z.boolean().default(true),
    /** The label column. Default: "label" (CSV with a header, Parquet), "y" (.npz), the last column (.npy, CSV without a header). */
    label: z.string().min(1).optional(),
    /** Feature columns, in input order. Default: every column but the label, in file order. */
    features: axis(z.string().min(1)).optional(),
    /**
     * The label values, in class order (class 0 first); rows with other labels are left out (a class subset).
     * Default: every label in the training file, in numeric order when all are integers, else in string order.
     */
    classes: axis(z.union([z.string().min(1), z.number().finite()])).optional(),
    validation: validationSourceSchema.default(DEFAULT_SPLIT),
    /** Optional pin: the training file's SHA-256; a file with other content is refused. Filled in when the grid is resolved. */
    sha256: sha256Schema.optional(),
    ...tabularOptions,
  })
  .strict();

/** `kind: digits`: the 8x8 handwritten digits shipped in data/digits/ (1,797 images, 64 pixels 0-16, 10 classes). */
const digitsSchema = z
  .object({
    kind: z.literal('digits'),
    /** The digits to keep, in class order (a class subset). Default: 0-9. */
    classes: axis(z.number().int().min(0).max(9)).optional(),
    /** Validation rows: a fraction of each class's images, drawn with a seed (stream dataset/split). Default fraction 0.2, seed 0. */
    validation: z.object({ fraction: z.number().gt(0).lt(1), seed: nonNegativeInt.default(0) }).strict().default(DEFAULT_SPLIT),
    ...tabularOptions,
  })
  .strict();

/**
 * The grid's `dataset`: `kind: spirals` (default, also when kind is absent), `file` or `digits`. File and digits
 * datasets are read when the grid is validated and planned (core/grid/resolve.ts), and checked there.
 */
export const datasetSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('kind' in v) ? { ...v, kind: 'spirals' } : v),
  z.discriminatedUnion('kind', [spiralsSchema, fileSchema, digitsSchema]),
);
export type FileDatasetInput = z.infer<typeof fileSchema>;
export type DigitsDatasetInput = z.infer<typeof digitsSchema>;

/**
 * training.guard (opt-in; docs/search.md "Safety guard"): when a trial's training loss becomes non-finite or jumps
 * above `lossJump` times the loss of its last good state, the trial goes back to that state (kept in memory every
 * `every` steps) and continues with its learning rate times `lrFactor`, at most `maxInterventions` times; every
 * intervention is in the trial record (`guard`), and a trial that needs one more is recorded as diverged. Absent:
 * training and trial ids are exactly as without it.
 */
export const guardSchema = z
  .object({
    /** A loss above lossJump x the loss of the last good state triggers an intervention. Default 10. */
    lossJump: z.number().gt(1).finite().default(10),
    /** Steps between the in-memory snapshots of the last good state. Default 100. */
    every: positiveInt.default(100),
    /** Each intervention multiplies the trial's learning rate by this. Default 0.5. */
    lrFactor: z.number().gt(0).lt(1).default(0.5),
    /** Interventions at most per trial; the next fault is recorded as divergence. Default 3. */
    maxInterventions: z.number().int().min(1).max(100).default(3),
  })
  .strict();

export const trainingSchema = z
  .object({
    /** Gradient steps per trial, including the final static segment. */
    steps: positiveInt,
    /** Last S steps trained with A = 1, so final accuracies do not depend on the cycle phase. */
    finalStaticSteps: nonNegativeInt.default(0),
    /** Curves are sampled every this many steps. */
    evalEvery: positiveInt.default(50),
    /** lambda_max is sampled every this many steps (0: only at the end). */
    sharpnessEvery: nonNegativeInt.default(100),
    sharpness: z
      .object({
        /** 'lanczos' (full reorthogonalisation) or 'power' (power iteration warm-started from the previous eigenvector). */
        method: z.enum(['lanczos', 'power']).default('lanczos'),
        /** Lanczos order (the maximum when warm-started), or the maximum number of power iterations. */
        iterations: z.number().int().min(2).max(200).default(20),
        /**
         * Relative residual ||H v - lambda v|| <= tolerance * |lambda| at which a warm-started estimate stops,
         * which puts lambda within tolerance (relative) of an eigenvalue. Lanczos: > 0 warm-starts every
         * measurement but the first and the final one (those stay cold, full order) from the previous
         * eigenvector and stops early (after minOrder to ~11 products instead of 21); 0: every measurement cold,
         * full order (the exact, slow path). Power iteration: its stopping tolerance (0: 1e-6).
         * Cost and accuracy measured in docs/performance.md.
         */
        tolerance: z.number().min(0).max(0.1).default(1e-3),
        /**
         * Warm Lanczos never stops on its residual before this many steps (products), default 10, at most
         * `iterations`: from a start near the second eigenvector (the top two crossed, or a new direction rose
         * above the tracked one) a few steps already have a tiny residual at the *second* eigenvalue, and only
         * a larger Krylov space finds the top one. Measured (docs/performance.md): 5 and 8 still returned a
         * lower eigenvalue about once in 3,000-5,000 at learning rates 1-4, 10 for none of ~35,000; 10 costs
         * about twice the products of 5 at small learning rates. Ignored by cold solves and power iteration.
         */
        minOrder: z.number().int().min(1).max(200).default(10),
        /**
         * Every coldEvery-th sharpness measurement (steps s with s / sharpnessEvery a positive multiple of it) of
         * warm Lanczos is also solved cold (from the fixed start, stopped on its residual like a warm solve, after
         * at least minOrder steps); where the two disagree beyond `tolerance` the trace keeps
         * the better (larger) value and counts the disagreement (record `sharpness.coldChecks`,
         * `coldMismatches`), so a drift to the second eigenvalue is corrected and visible. Default 10; 0: never.
         */
        coldEvery: nonNegativeInt.default(10),
      })
      .strict()
      .refine((s) => s.minOrder <= s.iterations, {
        message: 'minOrder must be at most iterations',
        path: ['minOrder'],
      })
      .default({ method: 'lanczos', iterations: 20, tolerance: 1e-3, minOrder: 10, coldEvery: 10 }),
    /** Shape of the class-weight bump within a period. */
    schedule: z.enum(['triangle', 'sine']).default('triangle'),
    /** Opt-in safety guard against instabilities (guardSchema); absent by default. */
    guard: guardSchema.optional(),
  })
  .strict()
  .refine((t) => t.finalStaticSteps < t.steps, {
    message: 'finalStaticSteps must be smaller than steps',
    path: ['finalStaticSteps'],
  })
  .superRefine((t, ctx) => {
    for (const [key, what] of [['evalEvery', 'curve points'], ['sharpnessEvery', 'sharpness measurements']] as const) {
      const samples = t[key] > 0 ? Math.floor(t.steps / t[key]) : 0;
      if (samples > MAX_SAMPLES) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `steps / ${key} = ${fmt(samples)} ${what} per trial, more than the ${fmt(MAX_SAMPLES)} allowed: raise ${key} to at least ${fmt(Math.ceil(t.steps / MAX_SAMPLES))}`,
        });
      }
    }
  });

export const axesSchema = z
  .object({
    /** Hidden units, at most MAX_WIDTH. */
    width: axis(positiveInt.max(MAX_WIDTH, { error: (i) => `width ${fmt(Number(i.input))} is more than the ${fmt(MAX_WIDTH)} hidden units allowed` })),
    lr: axis(finitePositive),
    loss: axis(z.enum(LOSSES)),
    /** Period T in steps; required when a dynamical loss is listed. */
    period: axis(positiveInt).optional(),
    /** Amplitude A >= 1 (A = 1 is the static control); required when a dynamical loss is listed. */
    amplitude: axis(z.number().min(1).finite()).optional(),
    seed: axis(nonNegativeInt),
  })
  .strict();

/** A cell named in `threshold.compare`. */
const declaredCellSchema = z
  .object({ lr: finitePositive, period: positiveInt.optional(), amplitude: z.number().min(1).finite().optional() })
  .strict();

export const thresholdSchema = z
  .object({
    /** Which final metric decides that a network "fits". */
    metric: z.enum(['trainAcc', 'valAcc', 'trainLoss', 'trainLossStatic', 'valLoss']).default('trainAcc'),
    /**
     * The level it must reach (at least, for accuracies; at most, for losses). 'achievable' (default; accuracy
     * metrics only): the best accuracy any classifier can reach on the data (points at coinciding inputs with
     * different labels count once), so "fits the training set" is reachable. A number: a fixed level, in [0, 1]
     * for accuracies and at most that ceiling (`sweep validate` checks it against the data); required for losses.
     */
    level: z.union([z.literal('achievable'), z.number().finite()]).default('achievable'),
    /** Tolerance below the best validation accuracy for "smallest P within tolerance". */
    valTolerance: z.number().nonnegative().max(1).default(0.01),
    /** Bootstrap replicates over seeds for the confidence interval. */
    bootstrap: z.number().int().min(0).max(100000).default(1000),
    confidence: z.number().gt(0).lt(1).default(0.95),
    /**
     * Pre-declared headline cells, per loss: the comparison decided before the data (no selection, all seeds).
     * Dynamical losses name {lr, period, amplitude} (A > 1: A = 1 is the static control), static losses {lr}.
     * Default: none; a loss with one candidate cell uses it, one with several is cross-fitted (docs/thresholds.md).
     */
    compare: z
      .object(Object.fromEntries(LOSSES.map((l) => [l, declaredCellSchema.optional()])) as Record<LossName, z.ZodOptional<typeof declaredCellSchema>>)
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const accuracy = t.metric === 'trainAcc' || t.metric === 'valAcc';
    if (t.level === 'achievable' && !accuracy) {
      ctx.addIssue({ code: 'custom', path: ['level'], message: `'achievable' is only defined for trainAcc and valAcc; give ${t.metric} a numeric level` });
    } else if (typeof t.level === 'number' && accuracy && !(t.level >= 0 && t.level <= 1)) {
      ctx.addIssue({ code: 'custom', path: ['level'], message: `an accuracy level must lie in [0, 1], got ${t.level}` });
    }
  });

/**
 * `search: threshold` (docs/search.md): instead of training every width, find per loss and cell (lr, T, A) the
 * smallest width that meets the threshold criterion, by rounds: a coarse geometric ladder of widths from the
 * largest grid width down, then bisection in log P inside the bracket where the criterion flips. `search: threshold`
 * alone takes every default.
 */
const searchObjectSchema = z
  .object({
    kind: z.literal('threshold'),
    /** P ratio between successive rungs of the ladder, from the largest width down. Default 4. */
    factor: z.number().gt(1).finite().default(4),
    /** Ladder rungs per round: the first round trains the top `rungs`; more follow, downwards, while all meet. Default 3. */
    rungs: z.number().int().min(1).max(64).default(3),
    /** A cell is resolved when its bracket's P_hi / P_lo <= 1 + precision (or no width lies between). Default 0.1. */
    precision: z.number().positive().finite().default(0.1),
    /**
     * Widths the search may train: 'any' (default), every integer width between the smallest and the largest of
     * grid.width; 'listed', only the widths grid.width lists (the search's trials are then a subset of the grid's).
     */
    widths: z.enum(['any', 'listed']).default('any'),
    /** Rounds at most (the ladder's first included); cells still open then stop with outcome 'rounds'. Default 12. */
    maxRounds: z.number().int().min(1).max(1000).default(12),
    /** Trials at most over all rounds; a round that would pass it is not started (outcome 'budget'). Default: none. */
    maxTrials: positiveInt.optional(),
  })
  .strict();

/** The shorthand `search: threshold` is the object with every default; a typo is reported at `search.kind`. */
export const searchSchema = z.preprocess((v) => (typeof v === 'string' ? { kind: v } : v), searchObjectSchema);

export const executionSchema = z
  .object({
    /** Maximum trials trained together as one batched computation. */
    packSize: z.number().int().min(1).max(1024).default(16),
    /** Packs in flight at once (Temporal allows 2,000 pending activities per run). */
    maxConcurrentPacks: z.number().int().min(1).max(1000).default(64),
    /** Task queue of the training workers. */
    taskQueue: z.string().min(1).default('dynsweep-train'),
    /** Attempts per pack before its trials are recorded as failed. */
    maxAttempts: z.number().int().min(1).max(100).default(3),
    /** Heartbeat timeout of a training activity in seconds: how fast a killed worker is noticed. */
    heartbeatTimeoutS: z.number().int().min(5).max(3600).default(60),
    /** Start-to-close timeout of one pack in seconds. */
    packTimeoutS: z.number().int().min(10).default(6 * 3600),
    /**
     * The most memory one pack may need, in MiB (packBytes estimates it per width); default
     * DEFAULT_PACK_MEMORY_MIB (2048). Raise it for workers with the memory, e.g. a GPU worker training big packs
     * at --concurrency 1 (docs/deploy.md). Optional, so that grids without it keep their grid hash.
     */
    packMemoryMiB: z.number().int().min(16).max(1024 * 1024).optional(),
    /** Most trials this grid may make (default MAX_TRIALS, 1,000,000; at most 10,000,000). Optional, as packMemoryMiB. */
    maxTrials: z.number().int().min(1).max(MAX_TRIALS_LIMIT).optional(),
  })
  .strict();

type Axes = z.infer<typeof axesSchema>;

/** Trials per loss the axes make, in the order of grid.loss, counted without expanding them (expandGrid). */
export function trialsByLoss(g: Axes): Partial<Record<LossName, number>> {
  const out: Partial<Record<LossName, number>> = {};
  const crossed = g.width.length * g.lr.length * g.seed.length;
  for (const loss of g.loss) out[loss] = isDynamical(loss) ? crossed * (g.period?.length ?? 0) * (g.amplitude?.length ?? 0) : crossed;
  return out;
}

/** The grid's trial count, from its axes. */
export function countTrials(g: Axes): number {
  return Object.values(trialsByLoss(g)).reduce((a, b) => a + b, 0);
}

/** Trials at each width per loss family: the trials that may share a pack (planPacks). */
export function trialsPerWidth(g: Axes): Partial<Record<'ce' | 'mse', number>> {
  const out: Partial<Record<'ce' | 'mse', number>> = {};
  for (const [loss, n] of Object.entries(trialsByLoss(g)) as [LossName, number][]) {
    const f = lossFamily(loss);
    out[f] = (out[f] ?? 0) + n / g.width.length;
  }
  return out;
}

/** What of the data a pack's memory depends on: classes C, input dimension d and training points N. */
export interface DataShape {
  classes: number;
  inputDim: number;
  points: number;
}

/** The shape of a spirals grid's data (d = 2); null for a file or digits dataset, known only once read (core/grid/resolve.ts). */
export function spiralsShape(dataset: GridSpec['dataset']): DataShape | null {
  return dataset.kind === 'spirals' ? { classes: dataset.classes, inputDim: 2, points: dataset.classes * dataset.pointsPerClass } : null;
}

/**
 * Bytes a pack of `trials` trials at `width` needs at its peak, estimated from its largest arrays. Per trial: the
 * sharpness solver's Krylov basis with the parameter, gradient and work vectors, iterations + 16 vectors of P
 * float64 (P = (d + 1) width + (width + 1) classes); per training point, engine tfjs holds float32 [N, width] activations
 * and their products (16 of them, with the backend's unreleased memory), the other engines a few numbers per class.
 * Measured (docs/performance.md, "Planning and limits"): fast, 16 trials at width 20,000: 491 MiB (estimate 528);
 * tfjs on its wasm backend, 16 trials at width 4,096: 1,076 MiB (estimate 1,309).
 */
export function packBytes(spec: Pick<GridSpec, 'dataset' | 'training' | 'engine'>, width: number, trials: number, shape = spiralsShape(spec.dataset)): number {
  if (!shape) throw new Error('packBytes: the data shape of a file dataset is known only once it is read');
  const C = shape.classes;
  const P = (shape.inputDim + 1) * width + (width + 1) * C;
  const perPoint = spec.engine === 'tfjs' ? 64 * (width + C) : 32 * C;
  return trials * (8 * P * (spec.training.sharpness.iterations + 16) + perPoint * shape.points);
}

/** Packs whose estimated memory passes execution.packMemoryMiB: the issue at the first such width, or null. */
export function packMemoryIssue(g: GridSpec, shape: DataShape): { path: (string | number)[]; message: string } | null {
  const budgetMiB = g.execution.packMemoryMiB ?? DEFAULT_PACK_MEMORY_MIB;
  const largest = Math.min(g.execution.packSize, Math.max(...Object.values(trialsPerWidth(g.grid))));
  const over = g.grid.width.map((w, i) => [w, i] as const).filter(([w]) => w <= MAX_WIDTH && packBytes(g, w, largest, shape) > budgetMiB * 2 ** 20);
  if (over.length === 0) return null;
  const [w, i] = over[0];
  const mib = Math.ceil(packBytes(g, w, largest, shape) / 2 ** 20);
  const more = over.length > 1 ? ` (and ${over.length - 1} more width${over.length > 2 ? 's' : ''})` : '';
  return {
    path: ['grid', 'width', i],
    message:
      `a pack of ${largest} trial${largest === 1 ? '' : 's'} at width ${fmt(w)} needs about ${fmt(mib)} MiB${more}, more than execution.packMemoryMiB ` +
      `(${fmt(budgetMiB)} MiB): lower execution.packSize, the width or training.sharpness.iterations, or raise execution.packMemoryMiB for workers with the memory`,
  };
}

/** The grid's trial count against execution.maxTrials (default MAX_TRIALS), and (spirals; file datasets once read) its packs' memory against execution.packMemoryMiB. */
function checkSize(g: GridSpec, ctx: z.RefinementCtx): void {
  const total = countTrials(g.grid);
  const cap = g.execution.maxTrials ?? MAX_TRIALS;
  if (total > cap) {
    const axes = (loss: LossName) =>
      [['widths', g.grid.width], ['lr', g.grid.lr], ...(isDynamical(loss) ? [['periods', g.grid.period], ['amplitudes', g.grid.amplitude]] : []), ['seeds', g.grid.seed]]
        .map(([name, xs]) => `${(xs as unknown[] | undefined)?.length ?? 0} ${name as string}`)
        .join(' x ');
    const terms = g.grid.loss.map((l) => `${l}: ${axes(l)}`).join('; ');
    ctx.addIssue({
      code: 'custom',
      path: ['grid'],
      message:
        `${fmt(total)} trials (${terms}), more than the ${fmt(cap)} one sweep may have` +
        (g.execution.maxTrials === undefined ? '' : ' (execution.maxTrials)') +
        `: raise execution.maxTrials (up to ${fmt(MAX_TRIALS_LIMIT)}) for a store and workers that can take it, or split the grid into several grid files (e.g. by width or seed) and start one sweep each`,
    });
  }
  const shape = spiralsShape(g.dataset);
  const memory = shape && packMemoryIssue(g, shape);
  if (memory) ctx.addIssue({ code: 'custom', ...memory });
}

/** Every cell named in threshold.compare must be a candidate cell of the grid. */
function checkDeclaredCells(
  compare: Partial<Record<LossName, z.infer<typeof declaredCellSchema>>>,
  axes: z.infer<typeof axesSchema>,
  ctx: z.RefinementCtx,
): void {
  for (const [loss, cell] of Object.entries(compare) as [LossName, z.infer<typeof declaredCellSchema>][]) {
    if (!cell) continue;
    const at = (...key: string[]) => ['threshold', 'compare', loss, ...key];
    if (!axes.loss.includes(loss)) {
      ctx.addIssue({ code: 'custom', path: at(), message: `${loss} is not in grid.loss (${axes.loss.join(', ')})` });
      continue;
    }
    if (!axes.lr.includes(cell.lr)) ctx.addIssue({ code: 'custom', path: at('lr'), message: `lr ${cell.lr} is not in grid.lr (${axes.lr.join(', ')})` });
    for (const key of ['period', 'amplitude'] as const) {
      const v = cell[key];
      if (!isDynamical(loss)) {
        if (v !== undefined) ctx.addIssue({ code: 'custom', path: at(key), message: `${loss} is static: it has no ${key}` });
      } else if (v === undefined) {
        ctx.addIssue({ code: 'custom', path: at(), message: `a dynamical cell needs lr, period and amplitude (${key} is missing)` });
      } else if (!(axes[key] ?? []).includes(v)) {
        ctx.addIssue({ code: 'custom', path: at(key), message: `${key} ${v} is not in grid.${key} (${(axes[key] ?? []).join(', ')})` });
      } else if (key === 'amplitude' && v === 1) {
        ctx.addIssue({ code: 'custom', path: at(key), message: 'A = 1 is the static control, not a candidate: declare a cell with A > 1' });
      }
    }
  }
}

export const gridSchema = z
  .object({
    version: z.literal(1).default(1),
    /** Human name of the sweep; default: the file's base name. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" or "-" (at most 64)')
      .optional(),
    description: z.string().optional(),
    dataset: datasetSchema.default(datasetSchema.parse({})),
    model: z
      .object({
        /**
         * 'glorot-normal' (default): the authors' init (stax.Dense defaults): truncated-normal glorot weights of
         * variance 2/(fan_in + fan_out), biases N(0, 0.01^2). 'standard': N(0, 1/fan_in) weights, zero biases.
         */
        init: z.enum(['glorot-normal', 'standard']).default('glorot-normal'),
      })
      .strict()
      .default({ init: 'glorot-normal' }),
    training: trainingSchema,
    grid: axesSchema,
    threshold: thresholdSchema.default(thresholdSchema.parse({})),
    /** Optional: search for each cell's threshold width instead of training the whole grid (searchSchema). */
    search: searchSchema.optional(),
    /**
     * Training engine. 'fast' (default): float32 WebAssembly-SIMD kernels, trials packed four to a vector.
     * 'reference': plain float64 TypeScript, the oracle. 'tfjs': TensorFlow.js batched ops on the native
     * TensorFlow backend when installed (GPU workers), else wasm, else cpu.
     */
    engine: z.enum(['reference', 'tfjs', 'fast']).default('fast'),
    execution: executionSchema.default(executionSchema.parse({})),
  })
  .strict()
  .superRefine((g, ctx) => {
    checkSize(g, ctx);
    checkDeclaredCells(g.threshold.compare ?? {}, g.grid, ctx);
    if (g.search && g.grid.width.length < 2) {
      ctx.addIssue({ code: 'custom', path: ['grid', 'width'], message: 'a search needs at least two widths: the smallest and the largest it may train' });
    }
    const dynamical = g.grid.loss.filter((l) => l !== 'ce' && l !== 'mse');
    if (dynamical.length === 0) return;
    for (const key of ['period', 'amplitude'] as const) {
      if (g.grid[key] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['grid'],
          message: `grid.${key} is required because dynamical losses are listed (${dynamical.join(', ')})`,
        });
      }
    }
  });

export type GridSpec = z.infer<typeof gridSchema>;
export type ThresholdCriterionSpec = z.infer<typeof thresholdSchema>;
export type ExecutionSpec = z.infer<typeof executionSchema>;
export type SearchSpec = z.infer<typeof searchObjectSchema>;
