/**
 * Over-parameterization thresholds (SCIENCE.md "Over-parameterization threshold"). Pure: no I/O.
 *
 * Definitions (our choices, documented in docs/thresholds.md):
 *
 * - Cell: the trials of one loss that share one hyper-configuration, by default (lr, period T, amplitude A)
 *   (`criterion.groupBy`). Static losses have T = A = null, so they have one cell per lr.
 *   Within a cell and a width, the trials are the seeds.
 * - Metric of a trial: `final[metric]`; a diverged trial (or one with a null or non-finite metric) counts as not
 *   fitting and gets the worst value (0 for accuracies, +Infinity for losses).
 * - Cell curve: at each width, the median over seeds of the metric (even count: mean of the two middle values).
 * - Cell threshold P*: the first grid width (in increasing P) whose median meets the level
 *   (`atLeast`: median >= level - 1e-9; `atMost`: median <= level + 1e-9). When a smaller width exists below it,
 *   P* is interpolated linearly in log P between that last width below and this first width at/above:
 *     log P* = log P_lo + (level - m_lo) / (m_hi - m_lo) * (log P_hi - log P_lo).
 *   With the default level 1.0 on training accuracy the median cannot exceed the level, so P* is the grid P_hi;
 *   interpolation matters for levels below the best attainable value. When the smallest width already meets the
 *   level, P* = P_min and `censoredBelow` is true (the true threshold is <= P_min). When m_lo is not finite
 *   (a loss metric whose median diverged) P* = P_hi. `sustained` says whether every larger width meets it too.
 *   The reported `width` is the width w with P(w) = P*, linear in w between the bracketing grid widths (exact for
 *   the one-hidden-layer P(w) = (d+1)w + (w+1)C); `gridWidth` is the first grid width that meets the level.
 * - Per-loss headline: the best cell, i.e. the cell with the smallest P* (ties: higher best validation accuracy,
 *   then cell order). Its bootstrap CI resamples every cell of the loss and takes the minimum over cells in each
 *   replicate, so the choice of the best cell is inside the interval (not-reached = +Infinity).
 * - Bootstrap: B replicates; in each, within every (cell, width) the seeds are resampled with replacement
 *   (same count), medians recomputed, P* recomputed. Percentile interval (linear-interpolated quantiles,
 *   "type 7") over all B replicates with not-reached replicates counted as +Infinity: an upper bound that falls
 *   among them is reported as null (unbounded above the grid); `notReached` counts them. The PRNG is
 *   pure-rand xoroshiro128+, one stream per (loss, cell) seeded from opts.seed and the cell's key, with trials
 *   sorted by seed: the result is independent of the records' order and of which other cells are present.
 * - Validation: per cell, the best median-over-seeds validation accuracy over widths, and the smallest grid P
 *   (no interpolation) whose median validation accuracy is >= best - valTolerance. Per loss: the best over all
 *   cells, and the smallest grid P at which any cell is within tolerance of that best.
 * - Ratio (dynamical losses only): P*(loss) / P*(static counterpart) for the headlines (and per cell against the
 *   static cell with the same values of the non-schedule groupBy fields, i.e. the same lr). null when either is
 *   not reached; then `bound` gives the one-sided bound the grid implies. CI: percentiles of the paired
 *   replicate ratios over the replicates where both reached (independent resamples of disjoint trials);
 *   `fractionBelowOne`: share of replicates where the dynamical threshold is smaller, over those where the order
 *   is decided (both reached, or exactly one reached).
 *
 * thresholds.json layout (ThresholdReport):
 * {
 *   schema: 'dynsweep.thresholds/1',
 *   criterion: { metric, level, direction, aggregate: 'median', groupBy: ['lr','period','amplitude'] },
 *   valTolerance: 0.01,
 *   bootstrap: { replicates, confidence, seed, method: 'percentile', resampling: 'seeds-within-width' },
 *   losses: [ {                                   // LOSSES order, only the losses present
 *     loss, dynamical, staticCounterpart,
 *     threshold: ThresholdEstimate,               // headline (best cell)
 *     bestCell: CellKey | null,                   // the cell the headline comes from (null: none reached)
 *     validation: ValidationSummary,
 *     ratioToStatic: RatioEstimate | null,        // null for static losses
 *     cells: [ { key, label, threshold, validation, ratioToStatic, curve: [ {width, params, seeds, diverged,
 *                median, valMedian} ] } ]
 *   } ],
 *   warnings: string[]
 * }
 * ThresholdEstimate = { reached, params, width, gridWidth, gridParams, censoredBelow, sustained,
 *   bracket: { below: {width, params, median} | null, atOrAbove: {width, params, median} } | null,
 *   ci: { confidence, replicates, lower, upper, notReached } | null }   // lower/upper null = above the grid
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

import { LOSSES, STATIC_COUNTERPART, isDynamical } from './types.js';
import type { LossName, TrialRecord } from './types.js';

export const THRESHOLDS_SCHEMA = 'dynsweep.thresholds/1';

/** Final metrics a threshold can be computed on. */
export const THRESHOLD_METRICS = ['trainAcc', 'valAcc', 'trainLoss', 'trainLossStatic', 'valLoss'] as const;
export type ThresholdMetric = (typeof THRESHOLD_METRICS)[number];

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
  /** Default 1.0 for accuracies; required for loss metrics. */
  level: number;
  /** Default 'atLeast' for accuracies, 'atMost' for losses. */
  direction: 'atLeast' | 'atMost';
  aggregate: 'median';
  /** Fields that define a cell within a loss. Default ['lr', 'period', 'amplitude']; [] pools all configs. */
  groupBy: GroupField[];
}

export interface ThresholdOptions {
  /** Bootstrap replicates (0: no interval). Default 1000. */
  bootstrap?: number;
  /** Two-sided confidence of the percentile interval. Default 0.95. */
  confidence?: number;
  /** Seed of the bootstrap PRNG. Default 0. */
  seed?: number;
  /** Tolerance for "smallest P within tolerance of the best validation accuracy". Default 0.01. */
  valTolerance?: number;
}

export type CellKey = { lr?: number; period?: number | null; amplitude?: number | null };

export interface GridPoint {
  width: number;
  params: number;
  median: number;
}

export interface ConfidenceInterval {
  confidence: number;
  replicates: number;
  /** null: the percentile lies among not-reached replicates (above the grid). */
  lower: number | null;
  upper: number | null;
  /** Replicates in which the level was not reached at any width. */
  notReached: number;
}

export interface ThresholdEstimate {
  reached: boolean;
  /** P* (interpolated in log P), null when not reached. */
  params: number | null;
  /** Width with P(w) = P*, linear between the bracketing grid widths; null when not reached. */
  width: number | null;
  /** First grid width (and its P) meeting the level; null when not reached. */
  gridWidth: number | null;
  gridParams: number | null;
  /** The smallest grid width already meets the level: the true threshold is <= params. */
  censoredBelow: boolean;
  /** Every grid width above gridWidth meets the level too (false when not reached). */
  sustained: boolean;
  bracket: { below: GridPoint | null; atOrAbove: GridPoint } | null;
  ci: ConfidenceInterval | null;
}

export interface ValidationSummary {
  /** Best median-over-seeds validation accuracy (null: no trials). */
  best: number | null;
  bestWidth: number | null;
  bestParams: number | null;
  /** Smallest grid P (and width) whose median validation accuracy is >= best - tolerance. */
  smallestParamsWithinTolerance: number | null;
  smallestWidthWithinTolerance: number | null;
  /** Per-loss summaries only: the cells these come from. */
  bestCell?: CellKey;
  withinToleranceCell?: CellKey;
}

export interface RatioEstimate {
  against: 'ce' | 'mse';
  /** P*(dynamical) / P*(static); null when either is not reached. */
  value: number | null;
  /** When exactly one is reached: the bound the grid implies, e.g. {relation: '<', value: 0.6}. */
  bound: { relation: '<' | '>'; value: number } | null;
  /** Percentile interval of the paired replicate ratios where both reached; null without bootstrap or pairs. */
  ci: { confidence: number; lower: number; upper: number; replicatesBothReached: number } | null;
  /** Share of decided replicates with P*(dynamical) < P*(static); null when none decided. */
  fractionBelowOne: number | null;
  decidedReplicates: number;
}

export interface CurvePoint {
  width: number;
  params: number;
  seeds: number;
  diverged: number;
  /** Median over seeds of the criterion metric (diverged = worst; +Infinity is written as null in JSON). */
  median: number | null;
  valMedian: number;
}

export interface CellThreshold {
  key: CellKey;
  label: string;
  threshold: ThresholdEstimate;
  validation: ValidationSummary;
  ratioToStatic: RatioEstimate | null;
  curve: CurvePoint[];
}

export interface LossThreshold {
  loss: LossName;
  dynamical: boolean;
  staticCounterpart: 'ce' | 'mse';
  threshold: ThresholdEstimate;
  bestCell: CellKey | null;
  validation: ValidationSummary;
  ratioToStatic: RatioEstimate | null;
  cells: CellThreshold[];
}

export interface ThresholdReport {
  schema: typeof THRESHOLDS_SCHEMA;
  criterion: ThresholdCriterion;
  valTolerance: number;
  bootstrap: {
    replicates: number;
    confidence: number;
    seed: number;
    method: 'percentile';
    resampling: 'seeds-within-width';
  };
  losses: LossThreshold[];
  warnings: string[];
}

const EPS = 1e-9;
const ACCURACY_METRICS: ReadonlySet<ThresholdMetric> = new Set(['trainAcc', 'valAcc']);

export function resolveCriterion(c: Partial<ThresholdCriterion> = {}): ThresholdCriterion {
  const metric = c.metric ?? 'trainAcc';
  if (!THRESHOLD_METRICS.includes(metric)) throw new RangeError(`unknown threshold metric '${String(metric)}'`);
  const isAcc = ACCURACY_METRICS.has(metric);
  const direction = c.direction ?? (isAcc ? 'atLeast' : 'atMost');
  if (direction !== 'atLeast' && direction !== 'atMost') throw new RangeError(`bad direction '${String(direction)}'`);
  if (c.level === undefined && !isAcc) throw new RangeError(`criterion.level is required for metric '${metric}'`);
  const level = c.level ?? 1.0;
  if (!Number.isFinite(level)) throw new RangeError('criterion.level must be finite');
  if (isAcc && (level < 0 || level > 1)) throw new RangeError('an accuracy level must lie in [0, 1]');
  const aggregate = c.aggregate ?? 'median';
  if (aggregate !== 'median') throw new RangeError(`unsupported aggregate '${String(aggregate)}'`);
  const groupBy = c.groupBy ?? ['lr', 'period', 'amplitude'];
  for (const g of groupBy) {
    if (g !== 'lr' && g !== 'period' && g !== 'amplitude') throw new RangeError(`bad groupBy field '${String(g)}'`);
  }
  const ordered = (['lr', 'period', 'amplitude'] as const).filter((g) => groupBy.includes(g));
  return { metric, level, direction, aggregate, groupBy: ordered };
}

// ---------------------------------------------------------------------------------------------------------------
// Small numeric helpers

/** Median of an array (sorted copy; even length: mean of the two middle values). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty array');
  const s = Float64Array.from(values).sort();
  return medianSorted(s);
}

function medianSorted(s: ArrayLike<number>): number {
  const n = s.length;
  const h = n >> 1;
  if (n % 2 === 1) return s[h];
  const a = s[h - 1];
  const b = s[h];
  if (a === b) return a; // also handles two infinities
  return (a + b) / 2;
}

/** In-place ascending sort; insertion sort for the few seeds of a width (typed-array sort is slow there). */
function sortSmall(a: Float64Array): void {
  if (a.length > 32) {
    a.sort();
    return;
  }
  for (let i = 1; i < a.length; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

/** Linear-interpolated ("type 7") quantile of an ascending array that may end in +Infinity. */
export function quantileSorted(s: ArrayLike<number>, p: number): number {
  const n = s.length;
  if (n === 0) throw new RangeError('quantile of an empty array');
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const f = h - lo;
  if (f === 0 || s[lo] === s[hi]) return s[lo];
  if (!Number.isFinite(s[hi]) || !Number.isFinite(s[lo])) return Infinity;
  return s[lo] + f * (s[hi] - s[lo]);
}

/** FNV-1a 32-bit. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function streamSeed(seed: number, label: string): number {
  // Mix the user seed (any safe integer) with the label's hash.
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let h = fnv1a(label) ^ lo;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) ^ hi;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Core threshold computation on a cell's per-width medians

interface WidthBin {
  width: number;
  params: number;
  /** Metric values of the seeds, sorted by seed (bootstrap order) — worst for diverged. */
  values: Float64Array;
  valValues: Float64Array;
  diverged: number;
}

interface Crossing {
  /** P*, or +Infinity when not reached. */
  params: number;
  index: number;
  fraction: number;
}

function meets(m: number, level: number, dir: 'atLeast' | 'atMost'): boolean {
  return dir === 'atLeast' ? m >= level - EPS : m <= level + EPS;
}

/** First crossing of the level along ascending P; P* interpolated linearly in log P. */
function crossing(params: ArrayLike<number>, medians: ArrayLike<number>, level: number, dir: 'atLeast' | 'atMost'): Crossing {
  for (let k = 0; k < medians.length; k++) {
    if (!meets(medians[k], level, dir)) continue;
    if (k === 0) return { params: params[0], index: 0, fraction: 1 };
    const mLo = medians[k - 1];
    const mHi = medians[k];
    let f = 1;
    if (Number.isFinite(mLo) && Number.isFinite(mHi) && mHi !== mLo) {
      f = Math.min(1, Math.max(0, (level - mLo) / (mHi - mLo)));
    }
    const lp = Math.log(params[k - 1]) + f * (Math.log(params[k]) - Math.log(params[k - 1]));
    return { params: f === 1 ? params[k] : Math.exp(lp), index: k, fraction: f };
  }
  return { params: Infinity, index: -1, fraction: 0 };
}

function ciFrom(replicates: Float64Array, confidence: number): ConfidenceInterval {
  const s = Float64Array.from(replicates).sort();
  const alpha = (1 - confidence) / 2;
  const lo = quantileSorted(s, alpha);
  const hi = quantileSorted(s, 1 - alpha);
  let notReached = 0;
  for (const v of s) if (!Number.isFinite(v)) notReached++;
  return {
    confidence,
    replicates: s.length,
    lower: Number.isFinite(lo) ? lo : null,
    upper: Number.isFinite(hi) ? hi : null,
    notReached,
  };
}

function estimateFrom(bins: WidthBin[], medians: number[], c: Crossing, criterion: ThresholdCriterion): Omit<ThresholdEstimate, 'ci'> {
  if (c.index < 0) {
    return {
      reached: false,
      params: null,
      width: null,
      gridWidth: null,
      gridParams: null,
      censoredBelow: false,
      sustained: false,
      bracket: null,
    };
  }
  const hi = bins[c.index];
  const lo = c.index > 0 ? bins[c.index - 1] : null;
  let width = hi.width;
  if (lo && c.params !== hi.params) {
    width = lo.width + ((c.params - lo.params) / (hi.params - lo.params)) * (hi.width - lo.width);
  }
  let sustained = true;
  for (let k = c.index + 1; k < medians.length; k++) {
    if (!meets(medians[k], criterion.level, criterion.direction)) sustained = false;
  }
  return {
    reached: true,
    params: c.params,
    width,
    gridWidth: hi.width,
    gridParams: hi.params,
    censoredBelow: c.index === 0,
    sustained,
    bracket: {
      below: lo ? { width: lo.width, params: lo.params, median: medians[c.index - 1] } : null,
      atOrAbove: { width: hi.width, params: hi.params, median: medians[c.index] },
    },
  };
}

function validationOf(bins: WidthBin[], tolerance: number): ValidationSummary {
  if (bins.length === 0) {
    return { best: null, bestWidth: null, bestParams: null, smallestParamsWithinTolerance: null, smallestWidthWithinTolerance: null };
  }
  const meds = bins.map((b) => medianSorted(Float64Array.from(b.valValues).sort()));
  let bi = 0;
  for (let k = 1; k < meds.length; k++) if (meds[k] > meds[bi]) bi = k;
  const best = meds[bi];
  const ti = meds.findIndex((m) => m >= best - tolerance - EPS);
  return {
    best,
    bestWidth: bins[bi].width,
    bestParams: bins[bi].params,
    smallestParamsWithinTolerance: bins[ti].params,
    smallestWidthWithinTolerance: bins[ti].width,
  };
}

function ratioFrom(
  against: 'ce' | 'mse',
  dyn: { point: Crossing; maxParams: number; reps: Float64Array | null },
  stat: { point: Crossing; maxParams: number; reps: Float64Array | null },
  confidence: number,
): RatioEstimate {
  const pd = dyn.point.params;
  const ps = stat.point.params;
  let value: number | null = null;
  let bound: RatioEstimate['bound'] = null;
  if (Number.isFinite(pd) && Number.isFinite(ps)) value = pd / ps;
  else if (Number.isFinite(pd)) bound = { relation: '<', value: pd / stat.maxParams };
  else if (Number.isFinite(ps)) bound = { relation: '>', value: dyn.maxParams / ps };
  let ci: RatioEstimate['ci'] = null;
  let fractionBelowOne: number | null = null;
  let decided = 0;
  if (dyn.reps && stat.reps) {
    const both: number[] = [];
    let below = 0;
    for (let r = 0; r < dyn.reps.length; r++) {
      const a = dyn.reps[r];
      const b = stat.reps[r];
      const fa = Number.isFinite(a);
      const fb = Number.isFinite(b);
      if (fa && fb) {
        both.push(a / b);
        decided++;
        if (a < b) below++;
      } else if (fa !== fb) {
        decided++;
        if (fa) below++;
      }
    }
    if (both.length > 0) {
      const s = Float64Array.from(both).sort();
      const alpha = (1 - confidence) / 2;
      ci = { confidence, lower: quantileSorted(s, alpha), upper: quantileSorted(s, 1 - alpha), replicatesBothReached: both.length };
    }
    fractionBelowOne = decided > 0 ? below / decided : null;
  }
  return { against, value, bound, ci, fractionBelowOne, decidedReplicates: decided };
}

// ---------------------------------------------------------------------------------------------------------------

interface CellWork {
  key: CellKey;
  keyString: string;
  label: string;
  sortKey: number[];
  bins: WidthBin[];
  medians: number[];
  point: Crossing;
  reps: Float64Array | null;
  estimate: ThresholdEstimate;
  validation: ValidationSummary;
}

function fmtKey(key: CellKey): string {
  const parts: string[] = [];
  if ('lr' in key) parts.push(`lr=${key.lr}`);
  if ('period' in key) parts.push(`T=${key.period ?? '-'}`);
  if ('amplitude' in key) parts.push(`A=${key.amplitude ?? '-'}`);
  return parts.length ? parts.join(' ') : 'all';
}

function cellKeyOf(r: ThresholdInput, groupBy: GroupField[]): CellKey {
  const k: CellKey = {};
  if (groupBy.includes('lr')) k.lr = r.lr;
  if (groupBy.includes('period')) k.period = r.period;
  if (groupBy.includes('amplitude')) k.amplitude = r.amplitude;
  return k;
}

function sortKeyOf(key: CellKey): number[] {
  const v = (x: number | null | undefined): number => (x === null || x === undefined ? -Infinity : x);
  return [v(key.lr), v(key.period), v(key.amplitude)];
}

function cmpNums(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

function worstOf(criterion: ThresholdCriterion): number {
  return criterion.direction === 'atLeast' ? (ACCURACY_METRICS.has(criterion.metric) ? 0 : -Infinity) : Infinity;
}

/**
 * Thresholds per loss (headline: best cell) and per cell, with bootstrap intervals over seeds and the
 * dynamical/static ratios. See the module comment for every definition.
 */
export function findThresholds(
  records: readonly ThresholdInput[],
  criterionIn: Partial<ThresholdCriterion> = {},
  opts: ThresholdOptions = {},
): ThresholdReport {
  const criterion = resolveCriterion(criterionIn);
  const B = opts.bootstrap ?? 1000;
  const confidence = opts.confidence ?? 0.95;
  const seed = opts.seed ?? 0;
  const valTolerance = opts.valTolerance ?? 0.01;
  if (!Number.isInteger(B) || B < 0) throw new RangeError('bootstrap must be a non-negative integer');
  if (!(confidence > 0 && confidence < 1)) throw new RangeError('confidence must lie in (0, 1)');
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be a safe integer');
  if (!(valTolerance >= 0)) throw new RangeError('valTolerance must be >= 0');

  const warnings: string[] = [];
  const worst = worstOf(criterion);

  // loss -> cell key -> width -> trials
  const byLoss = new Map<LossName, Map<string, { key: CellKey; byWidth: Map<number, ThresholdInput[]> }>>();
  for (const r of records) {
    if (!LOSSES.includes(r.loss)) throw new RangeError(`unknown loss '${String(r.loss)}'`);
    let cells = byLoss.get(r.loss);
    if (!cells) byLoss.set(r.loss, (cells = new Map()));
    const key = cellKeyOf(r, criterion.groupBy);
    const ks = JSON.stringify(sortKeyOf(key).map((x) => (Number.isFinite(x) ? x : null)));
    let cell = cells.get(ks);
    if (!cell) cells.set(ks, (cell = { key, byWidth: new Map() }));
    let list = cell.byWidth.get(r.width);
    if (!list) cell.byWidth.set(r.width, (list = []));
    list.push(r);
  }

  const metricOf = (r: ThresholdInput, m: ThresholdMetric, w: number): number => {
    const v = r.final[m];
    return r.diverged || v === null || !Number.isFinite(v) ? w : v;
  };

  const lossWork = new Map<LossName, CellWork[]>();
  for (const loss of LOSSES) {
    const cells = byLoss.get(loss);
    if (!cells) continue;
    const works: CellWork[] = [];
    for (const [keyString, cell] of cells) {
      const label = fmtKey(cell.key);
      const bins: WidthBin[] = [];
      for (const [width, trials] of cell.byWidth) {
        const sorted = [...trials].sort((a, b) => a.seed - b.seed || a.params - b.params);
        for (let i = 1; i < sorted.length; i++) {
          if (sorted[i].seed === sorted[i - 1].seed) {
            warnings.push(`${loss} ${label} width ${width}: seed ${sorted[i].seed} appears more than once`);
          }
        }
        const ps = new Set(sorted.map((t) => t.params));
        if (ps.size > 1) warnings.push(`${loss} ${label} width ${width}: inconsistent parameter counts ${[...ps].join(', ')}`);
        bins.push({
          width,
          params: sorted[0].params,
          values: Float64Array.from(sorted, (t) => metricOf(t, criterion.metric, worst)),
          valValues: Float64Array.from(sorted, (t) => metricOf(t, 'valAcc', 0)),
          diverged: sorted.filter((t) => t.diverged).length,
        });
      }
      bins.sort((a, b) => a.params - b.params || a.width - b.width);
      const params = bins.map((b) => b.params);
      const medians = bins.map((b) => medianSorted(Float64Array.from(b.values).sort()));
      const point = crossing(params, medians, criterion.level, criterion.direction);

      let reps: Float64Array | null = null;
      if (B > 0) {
        reps = new Float64Array(B);
        const rng: RandomGenerator = xoroshiro128plus(streamSeed(seed, `${loss}|${keyString}`));
        const bm = new Float64Array(bins.length);
        const scratch = bins.map((b) => new Float64Array(b.values.length));
        for (let r = 0; r < B; r++) {
          for (let k = 0; k < bins.length; k++) {
            const v = bins[k].values;
            const s = scratch[k];
            for (let i = 0; i < v.length; i++) s[i] = v[uniformInt(rng, 0, v.length - 1)];
            sortSmall(s);
            bm[k] = medianSorted(s);
          }
          reps[r] = crossing(params, bm, criterion.level, criterion.direction).params;
        }
      }
      const estimate: ThresholdEstimate = {
        ...estimateFrom(bins, medians, point, criterion),
        ci: reps ? ciFrom(reps, confidence) : null,
      };
      works.push({
        key: cell.key,
        keyString,
        label,
        sortKey: sortKeyOf(cell.key),
        bins,
        medians,
        point,
        reps,
        estimate,
        validation: validationOf(bins, valTolerance),
      });
    }
    works.sort((a, b) => cmpNums(a.sortKey, b.sortKey));
    lossWork.set(loss, works);
  }

  // Headlines
  interface Headline {
    point: Crossing;
    reps: Float64Array | null;
    maxParams: number;
    best: CellWork | null;
    estimate: ThresholdEstimate;
    validation: ValidationSummary;
  }
  const headlines = new Map<LossName, Headline>();
  for (const [loss, works] of lossWork) {
    let best: CellWork | null = null;
    for (const w of works) {
      if (!Number.isFinite(w.point.params)) continue;
      if (
        !best ||
        w.point.params < best.point.params ||
        (w.point.params === best.point.params && (w.validation.best ?? -1) > (best.validation.best ?? -1))
      ) {
        best = w;
      }
    }
    let reps: Float64Array | null = null;
    if (B > 0) {
      reps = new Float64Array(B).fill(Infinity);
      for (const w of works) for (let r = 0; r < B; r++) if (w.reps![r] < reps[r]) reps[r] = w.reps![r];
    }
    const base: ThresholdEstimate = best
      ? { ...best.estimate }
      : { ...estimateFrom([], [], { params: Infinity, index: -1, fraction: 0 }, criterion), ci: null };
    const estimate: ThresholdEstimate = { ...base, ci: reps ? ciFrom(reps, confidence) : null };

    // Validation over all cells
    let vBest: CellWork | null = null;
    for (const w of works) if (w.validation.best !== null && (!vBest || w.validation.best > vBest.validation.best!)) vBest = w;
    let validation: ValidationSummary;
    if (!vBest) {
      validation = validationOf([], valTolerance);
    } else {
      const bestVal = vBest.validation.best!;
      let wt: { params: number; width: number; cell: CellWork } | null = null;
      for (const w of works) {
        for (const b of w.bins) {
          const m = medianSorted(Float64Array.from(b.valValues).sort());
          if (m >= bestVal - valTolerance - EPS && (wt === null || b.params < wt.params)) {
            wt = { params: b.params, width: b.width, cell: w };
          }
        }
      }
      validation = {
        best: bestVal,
        bestWidth: vBest.validation.bestWidth,
        bestParams: vBest.validation.bestParams,
        smallestParamsWithinTolerance: wt ? wt.params : null,
        smallestWidthWithinTolerance: wt ? wt.width : null,
        bestCell: vBest.key,
        withinToleranceCell: wt ? wt.cell.key : undefined,
      };
    }
    // Not reached in any cell means P* > every cell's largest P: the safe grid bound is the smallest of those.
    const maxParams = Math.min(...works.map((w) => w.bins[w.bins.length - 1].params));
    headlines.set(loss, { point: best ? best.point : { params: Infinity, index: -1, fraction: 0 }, reps, maxParams, best, estimate, validation });
  }

  const losses: LossThreshold[] = [];
  for (const [loss, works] of lossWork) {
    const h = headlines.get(loss)!;
    const dynamical = isDynamical(loss);
    const against = STATIC_COUNTERPART[loss];
    const sh = dynamical ? headlines.get(against) : undefined;
    if (dynamical && !sh) warnings.push(`${loss}: no ${against} trials, no ratio`);
    const staticCells = lossWork.get(against) ?? [];
    const matchFields = criterion.groupBy.filter((g) => g !== 'period' && g !== 'amplitude');
    const cells: CellThreshold[] = works.map((w) => {
      let ratioToStatic: RatioEstimate | null = null;
      if (dynamical) {
        const sc = staticCells.find((s) => matchFields.every((f) => s.key[f] === w.key[f]));
        if (sc) {
          ratioToStatic = ratioFrom(
            against,
            { point: w.point, maxParams: w.bins[w.bins.length - 1].params, reps: w.reps },
            { point: sc.point, maxParams: sc.bins[sc.bins.length - 1].params, reps: sc.reps },
            confidence,
          );
        }
      }
      return {
        key: w.key,
        label: w.label,
        threshold: w.estimate,
        validation: w.validation,
        ratioToStatic,
        curve: w.bins.map((b, k) => ({
          width: b.width,
          params: b.params,
          seeds: b.values.length,
          diverged: b.diverged,
          median: Number.isFinite(w.medians[k]) ? w.medians[k] : null,
          valMedian: medianSorted(Float64Array.from(b.valValues).sort()),
        })),
      };
    });
    losses.push({
      loss,
      dynamical,
      staticCounterpart: against,
      threshold: h.estimate,
      bestCell: h.best ? h.best.key : null,
      validation: h.validation,
      ratioToStatic: dynamical && sh ? ratioFrom(against, h, sh, confidence) : null,
      cells,
    });
  }

  return {
    schema: THRESHOLDS_SCHEMA,
    criterion,
    valTolerance,
    bootstrap: { replicates: B, confidence, seed, method: 'percentile', resampling: 'seeds-within-width' },
    losses,
    warnings,
  };
}
