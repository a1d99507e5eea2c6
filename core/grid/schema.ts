import { z } from 'zod';
import { LOSSES, isDynamical, type LossName } from '../types.js';

/**
 * grid.yaml, version 1. Every section but `grid` has defaults; unknown keys are errors so that a
 * typo ("lerning_rate") never silently falls back to a default.
 */

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const finitePositive = z.number().positive().finite();

/** A non-empty list of distinct values. */
function axis<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .min(1, 'must list at least one value')
    .refine((xs) => new Set(xs.map((x) => JSON.stringify(x))).size === xs.length, 'values must be distinct');
}

export const datasetSchema = z
  .object({
    kind: z.literal('spirals').default('spirals'),
    /** Classes C (spiral arms). */
    classes: z.number().int().min(2).max(64).default(3),
    /** Training points per arm. */
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
         * eigenvector and stops early, typically after 2-5 products instead of 21; 0: every measurement cold,
         * full order (the exact, slow path). Power iteration: its stopping tolerance (0: 1e-6).
         * Cost and accuracy measured in docs/performance.md.
         */
        tolerance: z.number().min(0).max(0.1).default(1e-3),
      })
      .strict()
      .default({ method: 'lanczos', iterations: 20, tolerance: 1e-3 }),
    /** Shape of the class-weight bump within a period. */
    schedule: z.enum(['triangle', 'sine']).default('triangle'),
  })
  .strict()
  .refine((t) => t.finalStaticSteps < t.steps, {
    message: 'finalStaticSteps must be smaller than steps',
    path: ['finalStaticSteps'],
  });

export const axesSchema = z
  .object({
    width: axis(positiveInt),
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
  })
  .strict();

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
    checkDeclaredCells(g.threshold.compare ?? {}, g.grid, ctx);
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
