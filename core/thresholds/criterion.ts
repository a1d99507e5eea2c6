/**
 * What "fits" means: the criterion of a threshold (metric, level, direction, cells) and the slice of a trial
 * record it reads. docs/thresholds.md, "Criterion".
 */
import type { LossName, TrialRecord } from '../types.js';

/** Final metrics a threshold can be computed on. */
export const THRESHOLD_METRICS = ['trainAcc', 'valAcc', 'trainLoss', 'trainLossStatic', 'valLoss'] as const;
export type ThresholdMetric = (typeof THRESHOLD_METRICS)[number];

/** Accuracy metrics: the only ones with an achievable ceiling. */
export type AccuracyMetric = 'trainAcc' | 'valAcc';

/** Hyper-parameters that split a loss into cells. */
export type GroupField = 'lr' | 'period' | 'amplitude';

/** The slice of a trial record the thresholds need. */
export interface ThresholdInput {
  loss: LossName;
  width: number;
  params: number;
  seed: number;
  lr: number;
  period: number | null;
  amplitude: number | null;
  diverged: boolean;
  /** Final metrics; null (or any non-finite value) counts as the worst value, like a diverged trial. */
  final: Record<ThresholdMetric, number | null>;
}

export function thresholdInputFromRecord(r: TrialRecord): ThresholdInput {
  return {
    loss: r.config.loss,
    width: r.config.width,
    params: r.params,
    seed: r.config.seed,
    lr: r.config.lr,
    period: r.config.period,
    amplitude: r.config.amplitude,
    diverged: r.diverged,
    final: {
      trainAcc: r.final.trainAcc,
      valAcc: r.final.valAcc,
      trainLoss: r.final.trainLoss,
      trainLossStatic: r.final.trainLossStatic,
      valLoss: r.final.valLoss,
    },
  };
}

export interface ThresholdCriterion {
  metric: ThresholdMetric;
  /**
   * 'achievable' (default for accuracies): the highest accuracy any classifier can reach on the data (coinciding
   * inputs with different labels count once), i.e. "fits the training set". A number: a fixed level.
   * Required (a number) for loss metrics.
   */
  level: number | 'achievable';
  /** Default 'atLeast' for accuracies, 'atMost' for losses. */
  direction: 'atLeast' | 'atMost';
  aggregate: 'median';
  /** Fields that define a cell within a loss. Default ['lr', 'period', 'amplitude']; [] pools all configs. */
  groupBy: GroupField[];
}

/** The data's achievable accuracies (core/data.ts), which 'achievable' resolves to. */
export type AchievableAccuracy = Partial<Record<AccuracyMetric, number>>;

const ACCURACY_METRICS: ReadonlySet<ThresholdMetric> = new Set(['trainAcc', 'valAcc']);

export const isAccuracyMetric = (m: ThresholdMetric): m is AccuracyMetric => ACCURACY_METRICS.has(m);

export function resolveCriterion(c: Partial<ThresholdCriterion> = {}): ThresholdCriterion {
  const metric = c.metric ?? 'trainAcc';
  if (!THRESHOLD_METRICS.includes(metric)) throw new RangeError(`unknown threshold metric '${String(metric)}'`);
  const isAcc = isAccuracyMetric(metric);
  const direction = c.direction ?? (isAcc ? 'atLeast' : 'atMost');
  if (direction !== 'atLeast' && direction !== 'atMost') throw new RangeError(`bad direction '${String(direction)}'`);
  if (c.level === undefined && !isAcc) throw new RangeError(`criterion.level is required for metric '${metric}'`);
  const level = c.level ?? 'achievable';
  if (level === 'achievable') {
    if (!isAcc) throw new RangeError(`level 'achievable' needs an accuracy metric, not '${metric}'`);
  } else {
    if (typeof level !== 'number' || !Number.isFinite(level)) throw new RangeError('criterion.level must be finite');
    if (isAcc && (level < 0 || level > 1)) throw new RangeError('an accuracy level must lie in [0, 1]');
  }
  const aggregate = c.aggregate ?? 'median';
  if (aggregate !== 'median') throw new RangeError(`unsupported aggregate '${String(aggregate)}'`);
  const groupBy = c.groupBy ?? ['lr', 'period', 'amplitude'];
  for (const g of groupBy) {
    if (g !== 'lr' && g !== 'period' && g !== 'amplitude') throw new RangeError(`bad groupBy field '${String(g)}'`);
  }
  const ordered = (['lr', 'period', 'amplitude'] as const).filter((g) => groupBy.includes(g));
  return { metric, level, direction, aggregate, groupBy: ordered };
}

/** The numeric level a criterion stands for, given the data's achievable accuracies. */
export function levelOf(c: ThresholdCriterion, achievable: AchievableAccuracy | undefined): number {
  if (c.level !== 'achievable') return c.level;
  const ceiling = achievable?.[c.metric as AccuracyMetric];
  if (ceiling === undefined) {
    throw new RangeError(`level 'achievable' needs the data's achievable ${c.metric} (options.achievable.${c.metric})`);
  }
  if (!(ceiling > 0 && ceiling <= 1)) throw new RangeError(`achievable ${c.metric} must lie in (0, 1], got ${ceiling}`);
  return ceiling;
}

/** Tolerance of "meets the level": accuracies are k/N, so a ceiling reached is equal up to rounding. */
export const LEVEL_TOLERANCE = 1e-9;

export function meets(value: number, level: number, direction: 'atLeast' | 'atMost'): boolean {
  return direction === 'atLeast' ? value >= level - LEVEL_TOLERANCE : value <= level + LEVEL_TOLERANCE;
}

/** The value that never meets a level: a diverged or missing metric. */
export function worstValue(c: ThresholdCriterion): number {
  return c.direction === 'atLeast' ? (isAccuracyMetric(c.metric) ? 0 : -Infinity) : Infinity;
}
