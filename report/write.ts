/** Write report.html into a sweep's results store (at the end of every sweep, and from `sweep report`). */
import type { Store } from '../core/store.js';
import { reportHtml, type ReportInput } from './html.js';
import type { SweepResults } from './load.js';

export const REPORT_KEY = 'report.html';

export function reportInputOf(results: SweepResults, uiUrl?: string | null): ReportInput {
  return {
    rows: results.rows,
    traces: results.traces,
    thresholds: results.thresholds,
    summary: results.summary,
    regression: results.regression,
    sweepId: results.sweepId,
    name: results.name ?? undefined,
    gridHash: results.gridHash ?? undefined,
    totalTrials: results.totalTrials ?? undefined,
    resultsUri: results.uri,
    uiUrl,
  };
}

/** Render the report and store it as report.html; returns the HTML. */
export async function writeReport(store: Store, input: ReportInput): Promise<string> {
  const html = await reportHtml(input);
  await store.put(REPORT_KEY, html, 'text/html; charset=utf-8');
  return html;
}
