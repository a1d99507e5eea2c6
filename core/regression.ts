/**
 * Regression verdicts of scheduled sweeps against a baseline run (docs/regressions.md). Pure: no I/O.
 *
 * Definitions (our choices):
 *
 * - Cell: the trials of one (loss, width, lr, period T, amplitude A); within a cell the trials are the seeds.
 * - Per-seed value of a metric (valAcc, trainAcc): `final[metric]`, except that a diverged trial (or a non-finite
 *   value) counts as 0, as in the thresholds.
 * - Cell metric check: let b_1..b_k be the baseline's per-seed values and m the candidate's median over its seeds.
 *   The seed-level band is [min b - tol, max b + tol] with `metricTolerance` tol (default 0.02, an absolute accuracy:
 *   a little above one validation point of the smallest grids). m below the band is a regression, above it an
 *   improvement, inside it unchanged. An unchanged rerun (same seeds, same engine) reproduces every value exactly;
 *   a rerun with other seeds lands inside the band unless the cell really moved.
 * - Threshold check, per loss (the headline P* of thresholds.json, not reached = +Infinity): the baseline's
 *   uncertainty is its bootstrap interval [L, U] (a null end = +Infinity; without an interval, L = U = P*).
 *   The candidate's P* above U * (1 + thresholdTolerance) is a regression (so is "not reached" when U is finite),
 *   below L * (1 - thresholdTolerance) an improvement. Default thresholdTolerance 0.
 * - Verdict: 'baseline' when there is no baseline to compare with (or it shares no cell and no loss with the run:
 *   the grid was replaced, and this run starts a new baseline); 'regressed' when any cell metric or loss threshold
 *   regressed, or when trials of the run failed; 'pass' otherwise. Improvements, new and missing cells are
 *   reported but never fail a run.
 */
import type { ThresholdReport } from './thresholds.js';
import { LOSSES, type LossName } from './types.js';
import { median } from './statistics.js';

export const REGRESSION_SCHEMA = 'dynsweep.regression/1';
export const CELLS_SCHEMA = 'dynsweep.cells/1';

export const REGRESSION_METRICS = ['valAcc', 'trainAcc'] as const;
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];

/** The slice of a trial the comparison needs (a row of trials.csv has it). */
export interface CellRow {
  loss: LossName;
  width: number;
  lr: number;
  period: number | null;
  amplitude: number | null;
  seed: number;
  diverged: boolean;
  valAcc: number | null;
  trainAcc: number | null;
}

export interface CellKeyFields {
  loss: LossName;
  width: number;
  lr: number;
  period: number | null;
  amplitude: number | null;
}

/** One cell of a run: its seeds and per-seed metric values (diverged = 0), in seed order. */
export interface CellStats extends CellKeyFields {
  key: string;
  seeds: number[];
  diverged: number;
  values: Record<RegressionMetric, number[]>;
}

/** `cells.json`: the per-cell seed values of a judged run, so that it can serve as a baseline cheaply. */
export interface CellsFile {
  schema: typeof CELLS_SCHEMA;
  sweepId: string;
  gridHash: string;
  cells: CellStats[];
}

export function cellKey(c: CellKeyFields): string {
  return `${c.loss}|w=${c.width}|lr=${c.lr}|T=${c.period ?? '-'}|A=${c.amplitude ?? '-'}`;
}

export function cellLabel(c: CellKeyFields): string {
  const sched = c.period === null && c.amplitude === null ? '' : ` T=${c.period ?? '-'} A=${c.amplitude ?? '-'}`;
  return `${c.loss} w=${c.width} lr=${c.lr}${sched}`;
}

const valueOf = (row: CellRow, m: RegressionMetric): number => {
  const v = row[m];
  return row.diverged || v === null || !Number.isFinite(v) ? 0 : v;
};

function compareKeyFields(a: CellKeyFields, b: CellKeyFields): number {
  const num = (x: number | null) => (x === null ? -Infinity : x);
  return (
    LOSSES.indexOf(a.loss) - LOSSES.indexOf(b.loss) ||
    a.width - b.width ||
    a.lr - b.lr ||
    num(a.period) - num(b.period) ||
    num(a.amplitude) - num(b.amplitude)
  );
}

/** Group trial rows into cells (sorted by loss, width, lr, T, A; seeds ascending). */
export function cellStats(rows: readonly CellRow[]): CellStats[] {
  const byKey = new Map<string, CellRow[]>();
  for (const r of rows) {
    const k = cellKey(r);
    let list = byKey.get(k);
    if (!list) byKey.set(k, (list = []));
    list.push(r);
  }
  const cells: CellStats[] = [];
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.seed - b.seed);
    const { loss, width, lr, period, amplitude } = list[0];
    cells.push({
      key,
      loss,
      width,
      lr,
      period,
      amplitude,
      seeds: list.map((r) => r.seed),
      diverged: list.filter((r) => r.diverged).length,
      values: { valAcc: list.map((r) => valueOf(r, 'valAcc')), trainAcc: list.map((r) => valueOf(r, 'trainAcc')) },
    });
  }
  return cells.sort(compareKeyFields);
}


/** A loss's headline threshold with its interval; not reached and open interval ends are +Infinity. */
export interface ThresholdPoint {
  reached: boolean;
  /** P*, or null when not reached. */
  params: number | null;
  /** Bootstrap interval; null without bootstrap. An end that is null lies above the grid. */
  ci: { lower: number | null; upper: number | null } | null;
}

export function thresholdPointsOf(report: Pick<ThresholdReport, 'losses'>): Record<string, ThresholdPoint> {
  return Object.fromEntries(
    report.losses.map((l) => [
      l.loss,
      {
        reached: l.threshold.reached,
        params: l.threshold.params,
        ci: l.threshold.ci ? { lower: l.threshold.ci.lower, upper: l.threshold.ci.upper } : null,
      },
    ]),
  );
}

/** Everything about one run the comparison reads. */
export interface RunStats {
  sweepId: string;
  gridHash: string;
  cells: CellStats[];
  thresholds: Record<string, ThresholdPoint>;
  /** Trials of the run without a record (failed packs). */
  failedTrials: number;
}

export interface RegressionOptions {
  /** Absolute widening of the baseline's seed range for accuracies. Default 0.02. */
  metricTolerance?: number;
  /** Relative widening of the baseline's threshold interval. Default 0. */
  thresholdTolerance?: number;
  /** Metrics compared per cell. Default ['valAcc', 'trainAcc']. */
  metrics?: RegressionMetric[];
}

export type Change = 'regressed' | 'improved' | 'unchanged';

export interface MetricComparison {
  metric: RegressionMetric;
  change: Change;
  /** The candidate's median over its seeds. */
  median: number;
  baselineMedian: number;
  /** The band [min - tol, max + tol] of the baseline's seeds. */
  band: [number, number];
  delta: number;
}

export interface CellComparison extends CellKeyFields {
  key: string;
  label: string;
  change: Change;
  seeds: number;
  baselineSeeds: number;
  diverged: number;
  baselineDiverged: number;
  metrics: MetricComparison[];
}

export interface ThresholdComparison {
  loss: string;
  change: Change;
  params: number | null;
  baselineParams: number | null;
  /** The baseline interval used, widened by the tolerance (null ends: +Infinity, i.e. above the grid). */
  band: [number | null, number | null];
  /** candidate P* / baseline P*, null when either is not reached. */
  ratio: number | null;
}

export type Verdict = 'baseline' | 'pass' | 'regressed';

export interface RegressionComparison {
  verdict: Verdict;
  criteria: { metrics: RegressionMetric[]; metricTolerance: number; thresholdTolerance: number };
  gridChanged: boolean;
  counts: {
    cellsCompared: number;
    cellsRegressed: number;
    cellsImproved: number;
    lossesCompared: number;
    thresholdsRegressed: number;
    thresholdsImproved: number;
    failedTrials: number;
  };
  /** One line per regression, e.g. "dce w=8 lr=0.5 T=40 A=3: valAcc 0.41 below [0.66, 0.72] (baseline median 0.69)". */
  regressions: string[];
  improvements: string[];
  notes: string[];
  cells: CellComparison[];
  thresholds: ThresholdComparison[];
  /** Cells of the baseline the run does not have, and the reverse (labels). */
  missingCells: string[];
  newCells: string[];
}

const fmt = (x: number | null): string => (x === null || !Number.isFinite(x) ? 'not reached' : Number(x.toPrecision(4)).toString());
const fmtAcc = (x: number): string => x.toFixed(3);
const inf = (x: number | null): number => (x === null ? Infinity : x);

function compareThreshold(loss: string, cand: ThresholdPoint, base: ThresholdPoint, tol: number): ThresholdComparison {
  const p = cand.reached ? inf(cand.params) : Infinity;
  const pb = base.reached ? inf(base.params) : Infinity;
  const lower = base.ci ? inf(base.ci.lower) : pb;
  const upper = base.ci ? inf(base.ci.upper) : pb;
  const lo = lower * (1 - tol);
  const hi = upper * (1 + tol);
  const change: Change = p > hi ? 'regressed' : p < lo ? 'improved' : 'unchanged';
  return {
    loss,
    change,
    params: Number.isFinite(p) ? p : null,
    baselineParams: Number.isFinite(pb) ? pb : null,
    band: [Number.isFinite(lo) ? lo : null, Number.isFinite(hi) ? hi : null],
    ratio: Number.isFinite(p) && Number.isFinite(pb) ? p / pb : null,
  };
}

/** Judge `candidate` against `baseline` (null: no baseline yet). */
export function compareRuns(baseline: RunStats | null, candidate: RunStats, opts: RegressionOptions = {}): RegressionComparison {
  const metricTolerance = opts.metricTolerance ?? 0.02;
  const thresholdTolerance = opts.thresholdTolerance ?? 0;
  const metrics = opts.metrics ?? [...REGRESSION_METRICS];
  const out: RegressionComparison = {
    verdict: 'baseline',
    criteria: { metrics, metricTolerance, thresholdTolerance },
    gridChanged: baseline !== null && baseline.gridHash !== candidate.gridHash,
    counts: {
      cellsCompared: 0,
      cellsRegressed: 0,
      cellsImproved: 0,
      lossesCompared: 0,
      thresholdsRegressed: 0,
      thresholdsImproved: 0,
      failedTrials: candidate.failedTrials,
    },
    regressions: [],
    improvements: [],
    notes: [],
    cells: [],
    thresholds: [],
    missingCells: [],
    newCells: [],
  };
  if (candidate.failedTrials > 0) out.regressions.push(`${candidate.failedTrials} trial(s) of the run failed`);
  if (!baseline) {
    out.notes.push('no baseline: this run is the first baseline of its schedule');
    out.verdict = candidate.failedTrials > 0 ? 'regressed' : 'baseline';
    return out;
  }
  if (out.gridChanged) out.notes.push(`the grid changed since the baseline (${baseline.gridHash} -> ${candidate.gridHash}); matching cells are compared`);

  const baseCells = new Map(baseline.cells.map((c) => [c.key, c]));
  const candKeys = new Set(candidate.cells.map((c) => c.key));
  out.missingCells = baseline.cells.filter((c) => !candKeys.has(c.key)).map(cellLabel);
  for (const c of candidate.cells) {
    const b = baseCells.get(c.key);
    if (!b) {
      out.newCells.push(cellLabel(c));
      continue;
    }
    const label = cellLabel(c);
    const ms: MetricComparison[] = [];
    for (const m of metrics) {
      const bv = b.values[m];
      const cv = c.values[m];
      if (bv.length === 0 || cv.length === 0) continue;
      const band: [number, number] = [Math.min(...bv) - metricTolerance, Math.max(...bv) + metricTolerance];
      const med = median(cv);
      const baseMed = median(bv);
      const change: Change = med < band[0] ? 'regressed' : med > band[1] ? 'improved' : 'unchanged';
      ms.push({ metric: m, change, median: med, baselineMedian: baseMed, band, delta: med - baseMed });
      const line = `${label}: ${m} ${fmtAcc(med)} ${change === 'regressed' ? 'below' : 'above'} [${fmtAcc(Math.max(0, band[0]))}, ${fmtAcc(Math.min(1, band[1]))}] (baseline median ${fmtAcc(baseMed)}${c.diverged > b.diverged ? `, ${c.diverged}/${c.seeds.length} seeds diverged` : ''})`;
      if (change === 'regressed') out.regressions.push(line);
      if (change === 'improved') out.improvements.push(line);
    }
    const change: Change = ms.some((x) => x.change === 'regressed') ? 'regressed' : ms.some((x) => x.change === 'improved') ? 'improved' : 'unchanged';
    out.cells.push({
      key: c.key,
      loss: c.loss,
      width: c.width,
      lr: c.lr,
      period: c.period,
      amplitude: c.amplitude,
      label,
      change,
      seeds: c.seeds.length,
      baselineSeeds: b.seeds.length,
      diverged: c.diverged,
      baselineDiverged: b.diverged,
      metrics: ms,
    });
  }
  out.counts.cellsCompared = out.cells.length;
  out.counts.cellsRegressed = out.cells.filter((c) => c.change === 'regressed').length;
  out.counts.cellsImproved = out.cells.filter((c) => c.change === 'improved').length;

  for (const loss of Object.keys(candidate.thresholds).sort((a, b) => LOSSES.indexOf(a as LossName) - LOSSES.indexOf(b as LossName))) {
    const base = baseline.thresholds[loss];
    if (!base) continue;
    const t = compareThreshold(loss, candidate.thresholds[loss], base, thresholdTolerance);
    out.thresholds.push(t);
    const band = `[${fmt(t.band[0])}, ${t.band[1] === null ? 'above the grid' : fmt(t.band[1])}]`;
    const line = `${loss} threshold P* ${fmt(t.params)} ${t.change === 'regressed' ? 'above' : 'below'} the baseline interval ${band} (baseline P* ${fmt(t.baselineParams)})`;
    if (t.change === 'regressed') out.regressions.push(line);
    if (t.change === 'improved') out.improvements.push(line);
  }
  out.counts.lossesCompared = out.thresholds.length;
  out.counts.thresholdsRegressed = out.thresholds.filter((t) => t.change === 'regressed').length;
  out.counts.thresholdsImproved = out.thresholds.filter((t) => t.change === 'improved').length;

  if (out.cells.length === 0 && out.thresholds.length === 0) {
    out.notes.push(`nothing in common with baseline ${baseline.sweepId} (the grid was replaced): this run starts a new baseline`);
    out.verdict = candidate.failedTrials > 0 ? 'regressed' : 'baseline';
    return out;
  }
  out.verdict = out.regressions.length > 0 ? 'regressed' : 'pass';
  return out;
}

/** `regression.json` in a judged run's results. */
export interface RegressionReport extends RegressionComparison {
  schema: typeof REGRESSION_SCHEMA;
  sweepId: string;
  schedule: string | null;
  baseline: { sweepId: string; resultsUri: string; source: 'pinned' | 'last-good' } | null;
  judgedAt: string;
}

/** One line for a UI summary or a terminal listing. */
export function verdictHeadline(r: Pick<RegressionReport, 'verdict' | 'baseline' | 'counts'>): string {
  if (r.verdict === 'baseline') return 'baseline (nothing to compare with)';
  const vs = r.baseline ? ` vs ${r.baseline.sweepId}` : '';
  if (r.verdict === 'pass') return `pass${vs}: ${r.counts.cellsCompared} cells, ${r.counts.lossesCompared} thresholds within seed uncertainty`;
  const parts = [];
  if (r.counts.cellsRegressed) parts.push(`${r.counts.cellsRegressed} cell(s)`);
  if (r.counts.thresholdsRegressed) parts.push(`${r.counts.thresholdsRegressed} threshold(s)`);
  if (r.counts.failedTrials) parts.push(`${r.counts.failedTrials} failed trial(s)`);
  return `REGRESSED${vs}: ${parts.join(', ')}`;
}
