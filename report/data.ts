/**
 * The numbers behind the charts: medians over seeds, the cell a loss is shown with, representative widths and
 * curve downsampling. Pure; the final-metric functions take table rows (results/tables.ts: a few numbers a trial,
 * so a report of 100,000 trials fits in memory), the trace functions full trial records.
 */
import type { CellKey, GroupField, ThresholdReport } from '../core/thresholds.js';
import { LOSSES, type LossName, type TrialRecord } from '../core/types.js';
import { median } from '../core/statistics.js';
import type { TrialRow } from '../results/tables.js';

/** A trial's final numbers, as the charts read them (a row of trials.csv). */
export type FinalRow = Pick<TrialRow, 'loss' | 'width' | 'params' | 'lr' | 'period' | 'amplitude' | 'seed' | 'diverged' | 'trainAcc' | 'valAcc'>;

/** What places a trial in a cell: its loss, width and schedule (a row, or a record's config). */
export type CellCoordinates = Pick<TrialRow, 'loss' | 'width' | 'lr' | 'period' | 'amplitude'>;

/** A final accuracy as the charts count it: a diverged trial, or a missing value, is 0. */
export const accuracyOf = (r: FinalRow, metric: 'trainAcc' | 'valAcc'): number => {
  const v = r[metric];
  return r.diverged || v === null || !Number.isFinite(v) ? 0 : v;
};

export function groupBy<T, K>(items: readonly T[], key: (t: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  }
  return m;
}

/** Losses present among the trials, in LOSSES order. */
export function lossesOf(trials: readonly Pick<CellCoordinates, 'loss'>[]): LossName[] {
  const present = new Set(trials.map((r) => r.loss));
  return LOSSES.filter((l) => present.has(l));
}

export const sortedUnique = (xs: Iterable<number>): number[] => [...new Set(xs)].sort((a, b) => a - b);

/** Does the trial belong to the cell (every field the key names matches)? */
export function inCell(r: CellCoordinates, key: CellKey): boolean {
  return (['lr', 'period', 'amplitude'] as const).every((f) => !(f in key) || r[f] === key[f]);
}

export function cellLabel(key: CellKey): string {
  const parts: string[] = [];
  if ('lr' in key) parts.push(`lr=${key.lr}`);
  if ('period' in key && key.period !== null) parts.push(`T=${key.period}`);
  if ('amplitude' in key && key.amplitude !== null) parts.push(`A=${key.amplitude}`);
  return parts.join(' ');
}

function keyOf(r: CellCoordinates, fields: readonly GroupField[]): CellKey {
  const k: CellKey = {};
  if (fields.includes('lr')) k.lr = r.lr;
  if (fields.includes('period')) k.period = r.period;
  if (fields.includes('amplitude')) k.amplitude = r.amplitude;
  return k;
}

/**
 * The cell (lr, T, A) a loss is drawn with: the headline cell of thresholds.json (the first fold's), else its best
 * validation cell, else (no report, or nothing reached) the cell with the best median-over-seeds validation accuracy.
 */
export function displayCell(loss: LossName, rows: readonly FinalRow[], thresholds: ThresholdReport | null): CellKey {
  const t = thresholds?.losses.find((l) => l.loss === loss);
  const headline = t?.selection.folds[0]?.cell;
  if (headline) return headline;
  if (t?.validation.bestCell) return t.validation.bestCell;
  const fields = thresholds?.criterion.groupBy ?? (['lr', 'period', 'amplitude'] as GroupField[]);
  const mine = rows.filter((r) => r.loss === loss);
  let best: { key: CellKey; val: number } | null = null;
  for (const trials of groupBy(mine, (r) => JSON.stringify(keyOf(r, fields))).values()) {
    const byWidth = groupBy(trials, (r) => r.width);
    const val = Math.max(...[...byWidth.values()].map((ts) => median(ts.map((r) => accuracyOf(r, 'valAcc')))));
    if (!best || val > best.val) best = { key: keyOf(trials[0], fields), val };
  }
  return best?.key ?? {};
}

export interface WidthSummary {
  width: number;
  params: number;
  seeds: number;
  median: number;
  min: number;
  max: number;
}

/** Median, min and max over seeds of a final accuracy per width (diverged trials count as 0). */
export function accuracyByWidth(rows: readonly FinalRow[], metric: 'trainAcc' | 'valAcc'): WidthSummary[] {
  const out: WidthSummary[] = [];
  for (const [width, trials] of groupBy(rows, (r) => r.width)) {
    const v = trials.map((r) => accuracyOf(r, metric));
    out.push({ width, params: trials[0].params, seeds: v.length, median: median(v), min: Math.min(...v), max: Math.max(...v) });
  }
  return out.sort((a, b) => a.params - b.params);
}

/** Up to k widths spread evenly (by rank) over the sorted widths, always including the smallest and the largest. */
export function representativeWidths(widths: readonly number[], k: number): number[] {
  const s = sortedUnique(widths);
  if (s.length <= k) return s;
  if (k <= 1) return [s[s.length - 1]];
  return sortedUnique(Array.from({ length: k }, (_, i) => s[Math.round((i * (s.length - 1)) / (k - 1))]));
}

/** Indices of at most maxPoints evenly spaced samples of n, always keeping the first and the last. */
export function downsampleIndices(n: number, maxPoints: number): number[] {
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const out = new Set<number>();
  for (let i = 0; i < maxPoints; i++) out.add(Math.round((i * (n - 1)) / (maxPoints - 1)));
  return [...out];
}

export interface SharpnessPoint {
  step: number;
  /** Median over the group's trials of the positive, finite lambda_max values at this step. */
  median: number;
  trials: number;
}

/** Median over trials of lambda_max (dynamic or static) at each recorded step, downsampled to maxPoints steps. */
export function medianSharpness(records: readonly TrialRecord[], which: 'dynamic' | 'static', maxPoints: number): SharpnessPoint[] {
  const byStep = new Map<number, number[]>();
  for (const r of records) {
    const s = r.sharpness;
    for (let i = 0; i < s.step.length; i++) {
      const v = s[which][i];
      if (v === null || !(v > 0) || !Number.isFinite(v)) continue;
      const list = byStep.get(s.step[i]);
      if (list) list.push(v);
      else byStep.set(s.step[i], [v]);
    }
  }
  const steps = sortedUnique(byStep.keys());
  return downsampleIndices(steps.length, maxPoints).map((i) => {
    const v = byStep.get(steps[i])!;
    return { step: steps[i], median: median(v), trials: v.length };
  });
}

/** The (period, amplitude) pair with the most trials of a loss (ties: the smallest), for a default selection. */
export function commonSchedule(trials: readonly CellCoordinates[]): { period: number | null; amplitude: number | null } {
  let best: { period: number | null; amplitude: number | null; n: number } | null = null;
  for (const group of groupBy(trials, (r) => `${r.period}|${r.amplitude}`).values()) {
    const { period, amplitude } = group[0];
    if (!best || group.length > best.n) best = { period, amplitude, n: group.length };
  }
  return best ? { period: best.period, amplitude: best.amplitude } : { period: null, amplitude: null };
}
