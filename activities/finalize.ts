import { parseGrid } from '../core/grid/index.js';
import type { Store } from '../core/store.js';
import { findThresholds, thresholdArgsOf, type ThresholdInput } from '../core/thresholds.js';
import type { FinalizeInput, FinalizeOutput } from './contracts.js';
import { briefOf, MAX_LISTED_FAILURES, type SweepSummary } from '../results/summary.js';
import { achievableOf, type Manifest } from '../results/manifest.js';
import { GRID_KEY, SUMMARY_KEY, THRESHOLDS_KEY } from '../results/layout.js';
import { sweepRows, thresholdInputOfRow } from '../results/rows.js';
import { TablesWriter, type TrialRow } from '../results/tables.js';
import { findingsOf } from '../core/thresholds/findings.js';
import { writeReport } from '../report/write.js';
import { REPORT_MAX_TRIALS, tracesFor } from '../report/traces.js';

/** What finalize tells its heartbeat: packs merged so far, and the phase. */
export interface FinalizeProgress {
  phase: 'merging' | 'thresholds' | 'report';
  packs: number;
  of: number;
}

/**
 * Merge the packs' summaries (never history; streaming, pack by pack) into thresholds.json, trials.csv,
 * trials.parquet, report.html and summary.json, in that order: a summary means everything else is there.
 * Memory: the threshold inputs (a few numbers a trial) and, up to REPORT_MAX_TRIALS, the report's rows.
 */
export async function finalizeResults(
  store: Store,
  manifest: Manifest,
  input: FinalizeInput,
  onProgress: (p: FinalizeProgress) => void = () => {},
): Promise<FinalizeOutput> {
  const spec = parseGrid((await store.getText(GRID_KEY)) ?? '', GRID_KEY);
  const messageOfPack = new Map(input.failures.map((f) => [f.packIndex, f.message]));
  const inputs: ThresholdInput[] = [];
  const reportRows: TrialRow[] | null = manifest.totalTrials <= REPORT_MAX_TRIALS ? [] : null;
  const failures: SweepSummary['failures'] = [];
  let failed = 0;
  let diverged = 0;
  const tables = new TablesWriter(store);
  let merged = 0;
  for await (const pack of sweepRows(store, manifest)) {
    await tables.add(pack.rows);
    for (const row of pack.rows) {
      inputs.push(thresholdInputOfRow(row));
      if (row.diverged) diverged++;
    }
    reportRows?.push(...pack.rows);
    for (const m of pack.missing) {
      failed++;
      if (failures.length >= MAX_LISTED_FAILURES) continue;
      const message = m.message ?? messageOfPack.get(pack.index) ?? (input.cancelled ? 'cancelled' : 'no record');
      failures.push({ trialId: m.trialId, packIndex: pack.index, message });
    }
    if (++merged % 100 === 0) onProgress({ phase: 'merging', packs: merged, of: manifest.packCount });
  }
  await tables.close();

  onProgress({ phase: 'thresholds', packs: merged, of: manifest.packCount });
  // What level 'achievable' stands for: the data's ceilings, recorded in the manifest.
  const { criterion, options } = thresholdArgsOf(spec.threshold, achievableOf(manifest));
  const report = findThresholds(inputs, criterion, options);
  await store.put(THRESHOLDS_KEY, JSON.stringify(report, null, 2), 'application/json');

  const thresholds = briefOf(report);
  const findings = findingsOf(report);
  const completed = inputs.length;
  const summary: SweepSummary = {
    schema: 'dynsweep.summary/1',
    sweepId: input.sweepId,
    name: manifest.name,
    gridHash: manifest.gridHash,
    status: input.cancelled ? 'cancelled' : failed > 0 ? 'failed' : 'completed',
    trials: manifest.totalTrials,
    completed,
    failed,
    diverged,
    failures,
    thresholds,
    findings,
    finishedAt: new Date().toISOString(),
  };
  // A report that fails to render must not fail the sweep: its data is stored.
  onProgress({ phase: 'report', packs: merged, of: manifest.packCount });
  try {
    await writeReport(store, {
      rows: reportRows,
      traces: reportRows ? await tracesFor(store, reportRows, report) : [],
      thresholds: report,
      summary,
      sweepId: input.sweepId,
      name: manifest.name,
      gridHash: manifest.gridHash,
      totalTrials: manifest.totalTrials,
      resultsUri: store.uri,
    });
  } catch (err) {
    console.error(`sweep ${input.sweepId}: report.html not written: ${(err as Error).stack ?? String(err)}`);
  }
  await store.put(SUMMARY_KEY, JSON.stringify(summary, null, 2), 'application/json');
  return { completed, failed, diverged, thresholds, findings };
}
