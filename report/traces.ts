/**
 * Which full records the report reads: the traces it draws (sharpness against step) are of each loss's display
 * cell at a few representative widths, so a report reads a bounded number of records however large the sweep;
 * everything else it shows comes from the table rows.
 */
import type { Store } from '../core/store.js';
import type { ThresholdReport } from '../core/thresholds.js';
import { isDynamical, type TrialRecord } from '../core/types.js';
import { mapLimit } from '../core/map-limit.js';
import { recordKey } from '../results/layout.js';
import type { TrialRow } from '../results/tables.js';
import { commonSchedule, displayCell, groupBy, lossesOf, representativeWidths } from './data.js';

/** Above this many trials the report has no charts (their rows would not fit a worker's memory budget). */
export const REPORT_MAX_TRIALS = 200_000;

/** Widths per loss whose traces are drawn (report/charts.ts sharpnessChart's default). */
export const TRACE_WIDTHS = 4;
/** Seeds per (loss, width, lr) whose traces are drawn: the smallest seeds (a sweep may have thousands). */
export const TRACE_SEEDS = 10;

/**
 * The rows whose records the sharpness charts draw: per loss, its display schedule (every lr) at TRACE_WIDTHS
 * widths, the TRACE_SEEDS smallest seeds of each: at most losses x lrs x TRACE_WIDTHS x TRACE_SEEDS records.
 */
export function traceRows(rows: readonly TrialRow[], thresholds: ThresholdReport | null): TrialRow[] {
  const out: TrialRow[] = [];
  for (const loss of lossesOf(rows)) {
    let mine = rows.filter((r) => r.loss === loss);
    if (isDynamical(loss)) {
      const cell = displayCell(loss, rows, thresholds);
      const { period, amplitude } = 'period' in cell && 'amplitude' in cell ? { period: cell.period, amplitude: cell.amplitude } : commonSchedule(mine);
      mine = mine.filter((r) => r.period === period && r.amplitude === amplitude);
    }
    const widths = new Set(representativeWidths(mine.map((r) => r.width), TRACE_WIDTHS));
    for (const group of groupBy(mine.filter((r) => widths.has(r.width)), (r) => `${r.width}|${r.lr}`).values()) {
      out.push(...[...group].sort((a, b) => a.seed - b.seed).slice(0, TRACE_SEEDS));
    }
  }
  return out;
}

export async function tracesFor(store: Store, rows: readonly TrialRow[], thresholds: ThresholdReport | null): Promise<TrialRecord[]> {
  const texts = await mapLimit(traceRows(rows, thresholds), 16, (r) => store.getText(recordKey(r.trialId)));
  return texts.flatMap((t) => {
    if (t === null) return [];
    try {
      return [JSON.parse(t) as TrialRecord];
    } catch {
      return []; // corrupt: counted as a failure in summary.json, left out of the charts
    }
  });
}
