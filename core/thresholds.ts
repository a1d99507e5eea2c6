/**
 * Over-parameterization thresholds (SCIENCE.md "Over-parameterization threshold"). Pure: no I/O.
 * Every definition is in docs/thresholds.md; the pieces live in core/thresholds/:
 * - criterion.ts  what "fits" means (metric, level or the achievable ceiling, cells)
 * - cells.ts      the (width, seed) table of a cell and its sustained threshold on any multiset of seeds
 * - intervals.ts  censored estimates (not reached is a bound, never dropped) and percentile intervals
 * - selection.ts  the headline of a loss, honest under selection (single, declared or cross-fit), paired seeds
 */
import type { ThresholdCriterionSpec } from './grid/schema.js';
import { createRng } from './prng.js';
import { LOSSES, STATIC_COUNTERPART, isDynamical, type LossName } from './types.js';
import {
  LEVEL_TOLERANCE,
  levelOf,
  meets,
  resolveCriterion,
  type AchievableAccuracy,
  type GroupField,
  type ThresholdCriterion,
  type ThresholdInput,
} from './thresholds/criterion.js';
import { allColumns, buildCells, cellLabel, medianOver, scratchFor, widthAt, type Cell, type CellKey, type Crossing } from './thresholds/cells.js';
import { percentileInterval, pointOf, type Interval, type LogBounds } from './thresholds/intervals.js';
import { PlanEvaluator, foldsOf, maxParams, pairedSeeds, type Candidate, type Outcome, type Plan, type SelectionMethod } from './thresholds/selection.js';

export {
  thresholdInputFromRecord,
  type AchievableAccuracy,
  type GroupField,
  type ThresholdCriterion,
  type ThresholdInput,
  type ThresholdMetric,
} from './thresholds/criterion.js';
export type { CellKey } from './thresholds/cells.js';
export type { Interval } from './thresholds/intervals.js';
export type { SelectionMethod } from './thresholds/selection.js';

export const THRESHOLDS_SCHEMA = 'dynsweep.thresholds/2';

export interface ThresholdOptions {
  /** Bootstrap replicates (0: no interval). Default 1000. */
  bootstrap?: number;
  /** Two-sided confidence of the percentile intervals. Default 0.95. */
  confidence?: number;
  /** Seed of the bootstrap PRNG. Default 0. */
  seed?: number;
  /** Tolerance for "smallest P within tolerance of the best validation accuracy". Default 0.01. */
  valTolerance?: number;
  /** The data's achievable accuracies (core/data.ts); required when the level is 'achievable'. */
  achievable?: AchievableAccuracy;
  /** Pre-declared headline cells per loss (grid.yaml `threshold.compare`): no selection, all seeds. */
  compare?: Partial<Record<LossName, CellKey>>;
}

export interface GridPoint {
  width: number;
  params: number;
  /** Median over seeds of the criterion metric; null: +Infinity (a loss metric whose median trial diverged). */
  median: number | null;
}

export interface ThresholdEstimate {
  /** The level is met from some width on, up to the largest width. */
  reached: boolean;
  /** P* (interpolated in log P; the geometric mean of the folds for cross-fitting); null when not reached. */
  params: number | null;
  /** Width with P(w) = P*; null when not reached. */
  width: number | null;
  /** Not reached: P* lies above this (the largest P of the grid). */
  above: number | null;
  /** First grid width (and its P) of the sustained run; null when not reached or for cross-fitting. */
  gridWidth: number | null;
  gridParams: number | null;
  /** Reached at the smallest width: the true threshold is <= params. */
  censoredBelow: boolean;
  /** The level was met at one width and lost at a larger one (both reported); null when monotone. */
  nonMonotone: { firstMet: GridPoint; lostAt: GridPoint } | null;
  /** The last failing width and the first of the sustained run; null when not reached or cross-fitted. */
  bracket: { below: GridPoint | null; atOrAbove: GridPoint } | null;
  /** Percentile interval over the bootstrap replicates; `censored` counts replicates not reached. */
  ci: Interval | null;
}

export interface RatioEstimate {
  against: 'ce' | 'mse';
  /** The matched static cell (the same lr). For a cross-fitted headline: that of the first fold's cell. */
  staticCell: CellKey;
  /** Seeds shared by both sides (each resample draws them once for both). */
  pairedSeeds: number;
  /** The two thresholds on those seeds (null: not reached). */
  dynamicalParams: number | null;
  staticParams: number | null;
  /** P*(dynamical) / P*(static); null when either is not reached (then `bound`). */
  value: number | null;
  bound: { relation: '<' | '>'; value: number } | null;
  /** Paired percentile interval, not-reached replicates kept as bounds; an end of null is unbounded. */
  ci: Interval | null;
  /** Share of replicates whose dynamical threshold is certainly smaller, over those where the order is decided. */
  fractionBelowOne: number | null;
  decidedReplicates: number;
  /** From the interval: 'smaller' (upper < 1), 'larger' (lower > 1), 'no-difference'; null without bootstrap. */
  verdict: 'smaller' | 'larger' | 'no-difference' | null;
}

export interface Selection {
  method: SelectionMethod;
  /** One sentence on how the headline was obtained (or why it was not). */
  note: string;
  /** Candidate cells (dynamical cells with A = 1 are controls and excluded). */
  candidates: number;
  controls: number;
  /** Per fold (one fold without cross-fitting): the cell, the seeds it was selected on and estimated on. */
  folds: { cell: CellKey; label: string; selectedOn: number[] | null; estimatedOn: number[] }[];
}

export interface ValidationSummary {
  /** Best median-over-seeds validation accuracy (null: no trials). */
  best: number | null;
  bestWidth: number | null;
  bestParams: number | null;
  /** Smallest grid P (and width) whose median validation accuracy is >= best - tolerance. */
  smallestParamsWithinTolerance: number | null;
  smallestWidthWithinTolerance: number | null;
  /** Per-loss summaries only: the cells these come from (a best over cells: descriptive, not a test). */
  bestCell?: CellKey;
  withinToleranceCell?: CellKey;
}

export interface CurvePoint {
  width: number;
  params: number;
  seeds: number;
  /** Seeds whose own metric meets the level. */
  fit: number;
  diverged: number;
  median: number | null;
  valMedian: number | null;
}

export interface CellThreshold {
  key: CellKey;
  label: string;
  /** A dynamical cell with A = 1: the static loss itself, shown for control, never a headline candidate. */
  control: boolean;
  /** This cell on all its seeds (not a headline: picking the best cell from these is subject to selection). */
  threshold: ThresholdEstimate;
  validation: ValidationSummary;
  ratioToStatic: RatioEstimate | null;
  curve: CurvePoint[];
}

export interface LossThreshold {
  loss: LossName;
  dynamical: boolean;
  staticCounterpart: 'ce' | 'mse';
  /** The headline P* (see `selection`). */
  threshold: ThresholdEstimate;
  /** Dynamical losses: the headline's matched comparison with the static counterpart. */
  ratioToStatic: RatioEstimate | null;
  selection: Selection;
  validation: ValidationSummary;
  cells: CellThreshold[];
}

export interface ThresholdReport {
  schema: typeof THRESHOLDS_SCHEMA;
  criterion: ThresholdCriterion;
  /** The numeric level used (the achievable ceiling when criterion.level is 'achievable'). */
  level: number;
  /** The data's achievable accuracies, when known. */
  achievable: AchievableAccuracy | null;
  valTolerance: number;
  bootstrap: {
    replicates: number;
    confidence: number;
    seed: number;
    method: 'percentile';
    resampling: 'paired-seeds';
    censoring: 'bounds';
  };
  losses: LossThreshold[];
  warnings: string[];
}

/** findThresholds' criterion and options as a grid file's `threshold` section (and the data's ceilings) give them. */
export function thresholdArgsOf(
  spec: ThresholdCriterionSpec,
  achievable: AchievableAccuracy | undefined,
): { criterion: Partial<ThresholdCriterion>; options: ThresholdOptions } {
  return {
    criterion: { metric: spec.metric, level: spec.level },
    options: { bootstrap: spec.bootstrap, confidence: spec.confidence, valTolerance: spec.valTolerance, achievable, compare: spec.compare },
  };
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

function gridPoint(cell: Cell, x: Crossing, k: number): GridPoint {
  return { width: cell.widths[k], params: cell.params[k], median: finiteOrNull(x.medians[k]) };
}

/** A cell's estimate from its crossing on all seeds (exact P*, width, bracket, non-monotonicity). */
function estimateOf(cell: Cell, x: Crossing, ci: Interval | null): ThresholdEstimate {
  const nonMonotone = x.lostAt >= 0 ? { firstMet: gridPoint(cell, x, x.firstMet), lostAt: gridPoint(cell, x, x.lostAt) } : null;
  if (x.index < 0) {
    return { reached: false, params: null, width: null, above: maxParams(cell), gridWidth: null, gridParams: null, censoredBelow: false, nonMonotone, bracket: null, ci };
  }
  const hi = x.index;
  let width = cell.widths[hi];
  if (hi > 0 && x.params !== cell.params[hi]) {
    const [pl, ph, wl, wh] = [cell.params[hi - 1], cell.params[hi], cell.widths[hi - 1], cell.widths[hi]];
    width = wl + ((x.params - pl) / (ph - pl)) * (wh - wl);
  }
  return {
    reached: true,
    params: x.params,
    width,
    above: null,
    gridWidth: cell.widths[hi],
    gridParams: cell.params[hi],
    censoredBelow: hi === 0,
    nonMonotone,
    bracket: { below: hi > 0 ? gridPoint(cell, x, hi - 1) : null, atOrAbove: gridPoint(cell, x, hi) },
    ci,
  };
}

/** A cross-fitted estimate: the geometric mean of the folds' held-out thresholds. */
function crossFitEstimateOf(cells: Cell[], outcome: Outcome, ci: Interval | null): ThresholdEstimate {
  const p = pointOf(outcome.threshold);
  const reached = p.value !== null;
  return {
    reached,
    params: p.value,
    width: reached ? widthAt(cells[0], p.value!) : null,
    above: reached ? null : pointOf({ lo: outcome.threshold.lo, hi: outcome.threshold.lo }).value,
    gridWidth: null,
    gridParams: null,
    censoredBelow: outcome.crossings.some((x) => x.index === 0),
    nonMonotone: null,
    bracket: null,
    ci,
  };
}

const notEstimated = (above: number | null): ThresholdEstimate => ({
  reached: false,
  params: null,
  width: null,
  above,
  gridWidth: null,
  gridParams: null,
  censoredBelow: false,
  nonMonotone: null,
  bracket: null,
  ci: null,
});

function ratioOf(
  against: 'ce' | 'mse',
  staticCell: Cell,
  pairedSeeds: number,
  observed: Outcome,
  replicates: Outcome[] | null,
  confidence: number,
): RatioEstimate {
  const { value, bound } = pointOf(observed.ratio!);
  const side = (b: LogBounds): number | null => pointOf(b).value;
  let ci: Interval | null = null;
  let fractionBelowOne: number | null = null;
  let decided = 0;
  if (replicates && replicates.length > 0) {
    ci = percentileInterval(replicates.map((r) => r.ratio!), confidence);
    let below = 0;
    for (const r of replicates) {
      if (r.ratio!.hi < 0) {
        below++;
        decided++;
      } else if (r.ratio!.lo >= 0) decided++;
    }
    fractionBelowOne = decided > 0 ? below / decided : null;
  }
  const verdict = ci ? (ci.upper !== null && ci.upper < 1 ? 'smaller' : ci.lower !== null && ci.lower > 1 ? 'larger' : 'no-difference') : null;
  return {
    against,
    staticCell: staticCell.key,
    pairedSeeds,
    dynamicalParams: side(observed.threshold),
    staticParams: observed.matched ? side(observed.matched) : null,
    value,
    bound,
    ci,
    fractionBelowOne,
    decidedReplicates: decided,
    verdict,
  };
}

/** No trial with a validation accuracy. */
const NO_VALIDATION: ValidationSummary = { best: null, bestWidth: null, bestParams: null, smallestParamsWithinTolerance: null, smallestWidthWithinTolerance: null };

function validationOf(cell: Cell, tolerance: number): ValidationSummary {
  const scratch = scratchFor(cell.seeds.length);
  const cols = allColumns(cell);
  const meds = cell.valValues.map((row) => medianOver(row, cols, scratch));
  let bi = -1;
  for (let k = 0; k < meds.length; k++) if (!Number.isNaN(meds[k]) && (bi < 0 || meds[k] > meds[bi])) bi = k;
  if (bi < 0) return NO_VALIDATION;
  const best = meds[bi];
  const ti = meds.findIndex((m) => m >= best - tolerance - LEVEL_TOLERANCE);
  return {
    best,
    bestWidth: cell.widths[bi],
    bestParams: cell.params[bi],
    smallestParamsWithinTolerance: cell.params[ti],
    smallestWidthWithinTolerance: cell.widths[ti],
  };
}

/** Per loss: the best validation accuracy over its cells and the smallest P within tolerance of it (descriptive). */
function lossValidationOf(cells: Cell[], perCell: ValidationSummary[], tolerance: number): ValidationSummary {
  let vi = -1;
  perCell.forEach((v, i) => {
    if (v.best !== null && (vi < 0 || v.best > perCell[vi].best!)) vi = i;
  });
  if (vi < 0) return NO_VALIDATION;
  const best = perCell[vi].best!;
  let wt: { params: number; width: number; cell: Cell } | null = null;
  for (const cell of cells) {
    const scratch = scratchFor(cell.seeds.length);
    const cols = allColumns(cell);
    cell.valValues.forEach((row, k) => {
      const m = medianOver(row, cols, scratch);
      if (m >= best - tolerance - LEVEL_TOLERANCE && (wt === null || cell.params[k] < wt.params)) wt = { params: cell.params[k], width: cell.widths[k], cell };
    });
  }
  const w = wt as { params: number; width: number; cell: Cell } | null;
  return {
    ...perCell[vi],
    smallestParamsWithinTolerance: w ? w.params : null,
    smallestWidthWithinTolerance: w ? w.width : null,
    bestCell: cells[vi].key,
    withinToleranceCell: w ? w.cell.key : undefined,
  };
}

function curveOf(cell: Cell, x: Crossing, level: number, criterion: ThresholdCriterion): CurvePoint[] {
  const scratch = scratchFor(cell.seeds.length);
  const cols = allColumns(cell);
  return cell.widths.map((width, k) => {
    const present = cell.values[k].filter((v) => !Number.isNaN(v));
    const val = medianOver(cell.valValues[k], cols, scratch);
    return {
      width,
      params: cell.params[k],
      seeds: present.length,
      fit: present.filter((v) => meets(v, level, criterion.direction)).length,
      diverged: cell.diverged[k],
      median: finiteOrNull(x.medians[k]),
      valMedian: Number.isNaN(val) ? null : val,
    };
  });
}

/** A declared cell matches on the groupBy fields (a static loss has no period or amplitude to declare). */
const declaredMatches = (cell: Cell, declared: CellKey, groupBy: readonly GroupField[]): boolean =>
  groupBy.filter((f) => f === 'lr' || isDynamical(cell.loss)).every((f) => (cell.key[f] ?? null) === (declared[f] ?? null));

/**
 * Thresholds per loss (an honest headline: see core/thresholds/selection.ts) and per cell, with paired bootstrap
 * intervals over seeds and the dynamical/static ratios per matched pair of cells. docs/thresholds.md.
 */
export function findThresholds(
  records: readonly ThresholdInput[],
  criterionIn: Partial<ThresholdCriterion> = {},
  opts: ThresholdOptions = {},
): ThresholdReport {
  const criterion = resolveCriterion(criterionIn);
  const level = levelOf(criterion, opts.achievable);
  const B = opts.bootstrap ?? 1000;
  const confidence = opts.confidence ?? 0.95;
  const seed = opts.seed ?? 0;
  const valTolerance = opts.valTolerance ?? 0.01;
  if (!Number.isInteger(B) || B < 0) throw new RangeError('bootstrap must be a non-negative integer');
  if (!(confidence > 0 && confidence < 1)) throw new RangeError('confidence must lie in (0, 1)');
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be a safe integer');
  if (!(valTolerance >= 0)) throw new RangeError('valTolerance must be >= 0');

  const warnings: string[] = [];
  const cellsByLoss = buildCells(records, criterion, warnings);
  const matchFields = criterion.groupBy.filter((g) => g === 'lr');
  const matchedOf = (cell: Cell): Cell | null => {
    if (!isDynamical(cell.loss)) return null;
    const statics = cellsByLoss.get(STATIC_COUNTERPART[cell.loss]) ?? [];
    return statics.find((s) => matchFields.every((f) => s.key[f] === cell.key[f])) ?? null;
  };

  /** The resampling stream of a cell on a seed set: the same draws wherever that cell is estimated on those seeds. */
  const streamOf = (cell: Cell, seeds: readonly number[]): string => `${cell.loss}/${cell.id}/${seeds.join(',')}`;
  /** Evaluate a plan on the observed seeds and, with B > 0, on B paired resamples. */
  const run = (plan: Plan, stream: string) => {
    const ev = new PlanEvaluator(plan, level, criterion);
    if (B === 0) return { observed: ev.evaluate(plan.folds), replicates: null };
    return ev.bootstrap(B, createRng(seed, `thresholds/${stream}`));
  };
  const wholePlan = (c: Candidate, method: 'single' | 'declared', seeds: number[]): Plan => ({
    method,
    candidates: [c],
    seeds,
    folds: [seeds.map((_, i) => i)],
  });

  const losses: LossThreshold[] = [];
  for (const [loss, cells] of cellsByLoss) {
    const dynamical = isDynamical(loss);
    const against = STATIC_COUNTERPART[loss];
    if (dynamical && !cellsByLoss.has(against)) warnings.push(`${loss}: no ${against} trials, no ratio`);

    // Per cell: the cell on all its seeds; its ratio on the seeds it shares with its matched static cell.
    const cellRows: CellThreshold[] = cells.map((cell) => {
      const own = run(wholePlan({ cell, matched: null }, 'single', cell.seeds), streamOf(cell, cell.seeds));
      const x = own.observed.crossings[0];
      const ci = own.replicates ? percentileInterval(own.replicates.map((r) => r.threshold), confidence) : null;
      const matched = matchedOf(cell);
      let ratioToStatic: RatioEstimate | null = null;
      if (matched) {
        const { seeds } = pairedSeeds([cell, matched]);
        if (seeds.length > 0) {
          const pr = run(wholePlan({ cell, matched }, 'single', seeds), streamOf(cell, seeds));
          ratioToStatic = ratioOf(against, matched, seeds.length, pr.observed, pr.replicates, confidence);
        }
      }
      return { key: cell.key, label: cell.label, control: cell.control, threshold: estimateOf(cell, x, ci), validation: validationOf(cell, valTolerance), ratioToStatic, curve: curveOf(cell, x, level, criterion) };
    });

    // Headline: candidates exclude controls and, for a dynamical loss with its static loss present, cells without
    // a matched static cell.
    const controls = cells.filter((c) => c.control).length;
    const hasStatic = dynamical && cellsByLoss.has(against);
    let candidates: Candidate[] = cells.filter((c) => !c.control).map((cell) => ({ cell, matched: matchedOf(cell) }));
    if (hasStatic) candidates = candidates.filter((c) => c.matched !== null);
    const declared = opts.compare?.[loss];
    let selection: Selection;
    let threshold: ThresholdEstimate = notEstimated(cells.length ? Math.min(...cells.map(maxParams)) : null);
    let ratio: RatioEstimate | null = null;
    const none = (note: string): Selection => ({ method: 'none', note, candidates: candidates.length, controls, folds: [] });
    if (declared) {
      const chosen = candidates.find((c) => declaredMatches(c.cell, declared, criterion.groupBy));
      candidates = chosen ? [chosen] : [];
    }
    const involved = candidates.flatMap((c) => (c.matched ? [c.cell, c.matched] : [c.cell]));
    const { seeds, dropped } = pairedSeeds(involved);
    if (dropped) warnings.push(`${loss}: the headline uses the ${seeds.length} seeds that all its cells share`);
    if (declared && candidates.length === 0) {
      selection = none(`the declared cell ${cellLabel(declared)} is not a candidate cell of ${loss} (missing, a control, or without a matched ${against} cell)`);
    } else if (candidates.length === 0) {
      selection = none(controls > 0 ? `${loss} has only control cells (A = 1)` : `${loss} has no cell with a matched ${against} cell`);
    } else if (seeds.length === 0) {
      selection = none(`${loss}: its cells share no seed`);
    } else if (candidates.length > 1 && seeds.length < 2) {
      selection = none(`${candidates.length} candidate cells but one seed: selecting and estimating honestly needs at least two seeds (or declare the cell in threshold.compare)`);
    } else {
      const method: Plan['method'] = declared ? 'declared' : candidates.length === 1 ? 'single' : 'cross-fit';
      const plan: Plan = method === 'cross-fit' ? { method, candidates, seeds, folds: foldsOf(seeds.length) } : wholePlan(candidates[0], method, seeds);
      // One candidate: the same stream as its cell's own estimates, so the headline equals that cell's numbers.
      const { observed, replicates } = run(plan, method === 'cross-fit' ? `${loss}/headline` : streamOf(candidates[0].cell, seeds));
      const ci = replicates ? percentileInterval(replicates.map((r) => r.threshold), confidence) : null;
      if (method === 'cross-fit') {
        threshold = crossFitEstimateOf(candidates.map((c) => c.cell), observed, ci);
      } else {
        threshold = estimateOf(candidates[0].cell, observed.crossings[0], ci);
      }
      const first = candidates[observed.chosen[0]];
      if (first.matched && observed.ratio) ratio = ratioOf(against, first.matched, seeds.length, observed, replicates, confidence);
      const seedIds = (idx: number[]) => idx.map((i) => seeds[i]);
      selection = {
        method,
        note:
          method === 'cross-fit'
            ? `${candidates.length} candidate cells: each selected on one half of the ${seeds.length} seeds and estimated on the other (cross-fitting)`
            : method === 'declared'
              ? `the cell declared in threshold.compare, on all ${seeds.length} seeds`
              : `the only candidate cell, on all ${seeds.length} seeds`,
        candidates: candidates.length,
        controls,
        folds: observed.chosen.map((ci, f) => {
          const cell = candidates[ci].cell;
          return method === 'cross-fit'
            ? { cell: cell.key, label: cell.label, selectedOn: seedIds(plan.folds[f]), estimatedOn: seedIds(plan.folds[1 - f]) }
            : { cell: cell.key, label: cell.label, selectedOn: null, estimatedOn: seeds };
        }),
      };
    }
    if (selection.method === 'none') warnings.push(`${loss}: no headline: ${selection.note}`);
    losses.push({
      loss,
      dynamical,
      staticCounterpart: against,
      threshold,
      ratioToStatic: ratio,
      selection,
      validation: lossValidationOf(cells, cellRows.map((c) => c.validation), valTolerance),
      cells: cellRows,
    });
  }
  losses.sort((a, b) => LOSSES.indexOf(a.loss) - LOSSES.indexOf(b.loss));

  return {
    schema: THRESHOLDS_SCHEMA,
    criterion,
    level,
    achievable: opts.achievable ?? null,
    valTolerance,
    bootstrap: { replicates: B, confidence, seed, method: 'percentile', resampling: 'paired-seeds', censoring: 'bounds' },
    losses,
    warnings,
  };
}

