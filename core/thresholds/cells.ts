/**
 * Cells and their thresholds on a chosen set of seeds. A cell is the trials of one loss with the same groupBy
 * values; within it, a (width, seed) table of the criterion metric. P* on any multiset of seeds (the observed one,
 * a bootstrap resample, a cross-fitting fold) is computed from that table by `crossingOn`.
 */
import { LOSSES, isDynamical, type LossName } from '../types.js';
import { medianSorted, sortPrefix } from '../statistics.js';
import { LEVEL_TOLERANCE, meets, worstValue, type GroupField, type ThresholdCriterion, type ThresholdInput } from './criterion.js';

export type CellKey = { lr?: number; period?: number | null; amplitude?: number | null };

export interface Cell {
  loss: LossName;
  key: CellKey;
  /** Stable identity (PRNG stream names, matching). */
  id: string;
  label: string;
  /** A dynamical cell with A = 1: the static loss itself, a control, never a candidate. */
  control: boolean;
  /** Ascending P. */
  widths: number[];
  params: number[];
  /** Distinct seeds, ascending; the columns of `values`. */
  seeds: number[];
  /** Per width, per seed column: the criterion metric (worst value when diverged), NaN when the trial is missing. */
  values: Float64Array[];
  /** The same for validation accuracy (0 when diverged). */
  valValues: Float64Array[];
  diverged: number[];
}

/** Where P* lies on a cell's grid for one multiset of seeds. */
export interface Crossing {
  /** P*, or +Infinity when the level is not sustained up to the largest width. */
  params: number;
  /** Grid index of the first width of the sustained run (-1: not reached). */
  index: number;
  /** First grid index that meets the level at all (-1: none). */
  firstMet: number;
  /** First grid index after firstMet that fails again (-1: none): a non-monotone curve. */
  lostAt: number;
  medians: Float64Array;
}

function fmtKey(key: CellKey): string {
  const parts: string[] = [];
  if ('lr' in key) parts.push(`lr=${key.lr}`);
  if ('period' in key) parts.push(`T=${key.period ?? '-'}`);
  if ('amplitude' in key) parts.push(`A=${key.amplitude ?? '-'}`);
  return parts.length ? parts.join(' ') : 'all';
}

export const cellLabel = fmtKey;

function sortKeyOf(key: CellKey): number[] {
  const v = (x: number | null | undefined): number => (x === null || x === undefined ? -Infinity : x);
  return [v(key.lr), v(key.period), v(key.amplitude)];
}

function cmpNums(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/**
 * The cell of a trial. Dynamical trials with A = 1 always form their own control cells (amplitude 1 in the key),
 * even when groupBy pools amplitudes, so a control never enters a candidate.
 */
export function cellKeyOf(r: Pick<ThresholdInput, 'loss' | 'lr' | 'period' | 'amplitude'>, groupBy: readonly GroupField[]): CellKey {
  const k: CellKey = {};
  if (groupBy.includes('lr')) k.lr = r.lr;
  if (groupBy.includes('period')) k.period = r.period;
  if (groupBy.includes('amplitude') || (isDynamical(r.loss) && r.amplitude === 1)) k.amplitude = r.amplitude;
  return k;
}

/** Group the records into cells per loss (cells in key order), with the warnings the data deserves. */
export function buildCells(records: readonly ThresholdInput[], criterion: ThresholdCriterion, warnings: string[]): Map<LossName, Cell[]> {
  const worst = worstValue(criterion);
  const metricOf = (r: ThresholdInput, m: keyof ThresholdInput['final'], w: number): number => {
    const v = r.final[m];
    return r.diverged || v === null || !Number.isFinite(v) ? w : v;
  };
  const groups = new Map<LossName, Map<string, { key: CellKey; trials: ThresholdInput[] }>>();
  for (const r of records) {
    if (!LOSSES.includes(r.loss)) throw new RangeError(`unknown loss '${String(r.loss)}'`);
    let cells = groups.get(r.loss);
    if (!cells) groups.set(r.loss, (cells = new Map()));
    const key = cellKeyOf(r, criterion.groupBy);
    const id = JSON.stringify(sortKeyOf(key).map((x) => (Number.isFinite(x) ? x : null)));
    let cell = cells.get(id);
    if (!cell) cells.set(id, (cell = { key, trials: [] }));
    cell.trials.push(r);
  }
  const out = new Map<LossName, Cell[]>();
  for (const [loss, cells] of groups) {
    const list: Cell[] = [];
    for (const [id, { key, trials }] of cells) {
      const label = fmtKey(key);
      const seeds = [...new Set(trials.map((t) => t.seed))].sort((a, b) => a - b);
      const column = new Map(seeds.map((s, j) => [s, j]));
      const byWidth = new Map<number, ThresholdInput[]>();
      for (const t of trials) {
        const l = byWidth.get(t.width);
        if (l) l.push(t);
        else byWidth.set(t.width, [t]);
      }
      const rows = [...byWidth.entries()].map(([width, ts]) => {
        const ps = new Set(ts.map((t) => t.params));
        if (ps.size > 1) warnings.push(`${loss} ${label} width ${width}: inconsistent parameter counts ${[...ps].join(', ')}`);
        const values = new Float64Array(seeds.length).fill(NaN);
        const valValues = new Float64Array(seeds.length).fill(NaN);
        // Sorted so that a duplicate seed resolves the same way whatever the record order.
        const sorted = [...ts].sort((a, b) => a.seed - b.seed || a.params - b.params || metricOf(a, criterion.metric, worst) - metricOf(b, criterion.metric, worst));
        for (const t of sorted) {
          const j = column.get(t.seed)!;
          if (!Number.isNaN(values[j])) {
            warnings.push(`${loss} ${label} width ${width}: seed ${t.seed} appears more than once (the first is used)`);
            continue;
          }
          values[j] = metricOf(t, criterion.metric, worst);
          valValues[j] = metricOf(t, 'valAcc', 0);
        }
        return { width, params: Math.min(...ps), values, valValues, diverged: ts.filter((t) => t.diverged).length };
      });
      rows.sort((a, b) => a.params - b.params || a.width - b.width);
      const missing = rows.reduce((n, r) => n + r.values.filter(Number.isNaN).length, 0);
      if (missing > 0) warnings.push(`${loss} ${label}: ${missing} (width, seed) trials missing; medians use the seeds present`);
      list.push({
        loss,
        key,
        id,
        label,
        control: isDynamical(loss) && key.amplitude === 1,
        widths: rows.map((r) => r.width),
        params: rows.map((r) => r.params),
        seeds,
        values: rows.map((r) => r.values),
        valValues: rows.map((r) => r.valValues),
        diverged: rows.map((r) => r.diverged),
      });
    }
    list.sort((a, b) => cmpNums(sortKeyOf(a.key), sortKeyOf(b.key)));
    out.set(loss, list);
  }
  return out;
}

/** Columns of `cell` for each of `seeds` (-1 where the cell lacks the seed). */
export function columnsOf(cell: Cell, seeds: readonly number[]): Int32Array {
  const column = new Map(cell.seeds.map((s, j) => [s, j]));
  return Int32Array.from(seeds, (s) => column.get(s) ?? -1);
}

/** Scratch space for medians over at most `n` seeds. */
export const scratchFor = (n: number): Float64Array => new Float64Array(Math.max(1, n));

/** Median over the chosen columns (with repetition) of one row; NaN when none of them is present. */
export function medianOver(row: Float64Array, cols: ArrayLike<number>, scratch: Float64Array): number {
  let n = 0;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (c < 0) continue;
    const v = row[c];
    if (!Number.isNaN(v)) scratch[n++] = v;
  }
  if (n === 0) return NaN;
  sortPrefix(scratch, n);
  return medianSorted(scratch, n);
}

/**
 * P* of a cell on a multiset of seed columns: the smallest P from which on every larger width's median meets the
 * level (sustained), interpolated linearly in log P between the last failing width and the first of that run:
 *   log P* = log P_lo + (level - m_lo) / (m_hi - m_lo) * (log P_hi - log P_lo).
 * A width with no trial present counts as failing.
 */
export function crossingOn(cell: Cell, cols: ArrayLike<number>, level: number, c: ThresholdCriterion, scratch: Float64Array, rows = cell.values): Crossing {
  const n = cell.params.length;
  const medians = new Float64Array(n);
  const ok = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    medians[k] = medianOver(rows[k], cols, scratch);
    ok[k] = !Number.isNaN(medians[k]) && meets(medians[k], level, c.direction) ? 1 : 0;
  }
  let s = n;
  while (s > 0 && ok[s - 1]) s--;
  let firstMet = -1;
  for (let k = 0; k < n; k++) {
    if (ok[k]) {
      firstMet = k;
      break;
    }
  }
  let lostAt = -1;
  if (firstMet >= 0) for (let k = firstMet + 1; k < n && lostAt < 0; k++) if (!ok[k]) lostAt = k;
  if (s === n) return { params: Infinity, index: -1, firstMet, lostAt, medians };
  let params = cell.params[s];
  if (s > 0) {
    const mLo = medians[s - 1];
    const mHi = medians[s];
    // A median that meets the level within rounding (an accuracy k/N against a ceiling computed elsewhere) sits on
    // the grid width: interpolating by a fraction of 1 - 1e-15 would give P* = 290.99999999999983 for 291.
    if (Number.isFinite(mLo) && Number.isFinite(mHi) && mHi !== mLo && Math.abs(mHi - level) > LEVEL_TOLERANCE) {
      const f = Math.min(1, Math.max(0, (level - mLo) / (mHi - mLo)));
      if (f < 1) params = Math.exp(Math.log(cell.params[s - 1]) + f * (Math.log(cell.params[s]) - Math.log(cell.params[s - 1])));
    }
  }
  return { params, index: s, firstMet, lostAt, medians };
}

/** The width w with P(w) = params on a cell's grid (P is linear in w for one hidden layer; a 1-point grid: its width). */
export function widthAt(cell: Cell, params: number): number {
  const n = cell.params.length;
  if (n === 1 || cell.params[n - 1] === cell.params[0]) return cell.widths[0];
  const [p0, p1, w0, w1] = [cell.params[0], cell.params[n - 1], cell.widths[0], cell.widths[n - 1]];
  return w0 + ((params - p0) / (p1 - p0)) * (w1 - w0);
}

/** All columns of a cell, once each: the observed sample. */
export const allColumns = (cell: Cell): Int32Array => Int32Array.from(cell.seeds, (_, j) => j);
