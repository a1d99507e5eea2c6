import { Context } from '@temporalio/activity';
import {
  CELLS_SCHEMA,
  REGRESSION_SCHEMA,
  cellStats,
  compareRuns,
  thresholdPointsOf,
  verdictHeadline,
  type CellRow,
  type CellsFile,
  type RegressionOptions,
  type RegressionReport,
  type RunStats,
} from '../core/regression.js';
import type { Store } from '../core/store.js';
import type { ThresholdReport } from '../core/thresholds.js';
import type { JudgeActivities, JudgeInput, JudgeOutput } from './contracts.js';
import { SUMMARY_KEY, THRESHOLDS_KEY, type SweepSummary } from '../results/summary.js';
import { requireManifest } from '../results/manifest.js';
import { sweepRows } from '../results/rows.js';
import {
  CELLS_KEY,
  REGRESSION_KEY,
  RUN_INDEX_SCHEMA,
  findBaseline,
  readJson,
  runKey,
  type ScheduleRunEntry,
} from './schedule-store.js';
import { loadResults } from '../report/load.js';
import { reportInputOf, writeReport } from '../report/write.js';

/** The comparison's view of a finalized run, from its summary, thresholds and per-cell seed values. */
function statsOf(summary: SweepSummary, thresholds: ThresholdReport | null, cells: CellsFile): RunStats {
  return {
    sweepId: summary.sweepId,
    gridHash: summary.gridHash,
    cells: cells.cells,
    thresholds: thresholdPointsOf(thresholds ?? { losses: [] }),
    failedTrials: summary.failed,
  };
}

/** Per-cell seed values from a run's records, written to cells.json for when the run serves as a baseline. */
async function writeCells(store: Store, summary: SweepSummary, rows: readonly CellRow[]): Promise<CellsFile> {
  const cells: CellsFile = { schema: CELLS_SCHEMA, sweepId: summary.sweepId, gridHash: summary.gridHash, cells: cellStats(rows) };
  await store.put(CELLS_KEY, JSON.stringify(cells), 'application/json');
  return cells;
}

/**
 * A baseline run's statistics: summary.json, thresholds.json and the per-cell seed values (cells.json when present,
 * else from the records, then written to cells.json).
 */
async function baselineStats(store: Store, onRead: (n: number) => void): Promise<RunStats> {
  const summary = await readJson<SweepSummary>(store, SUMMARY_KEY);
  if (!summary) throw new Error(`${store.uri}: ${SUMMARY_KEY} is missing; was the sweep finalized?`);
  const thresholds = await readJson<ThresholdReport>(store, THRESHOLDS_KEY);
  let cells = await readJson<CellsFile>(store, CELLS_KEY);
  if (!cells || cells.schema !== CELLS_SCHEMA) {
    const manifest = await requireManifest(store);
    const rows: CellRow[] = [];
    for await (const pack of sweepRows(store, manifest)) {
      rows.push(...pack.rows);
      onRead(rows.length);
    }
    cells = await writeCells(store, summary, rows);
  }
  return statsOf(summary, thresholds, cells);
}

/** Judge one finalized run of a schedule against its baseline; writes regression.json and the run index entry. */
export async function judgeRun(
  openStore: (uri: string) => Store,
  input: JudgeInput,
  opts: RegressionOptions = {},
  onProgress: (what: string) => void = () => {},
): Promise<{ report: RegressionReport; output: JudgeOutput }> {
  const root = openStore(input.schedule.storeRoot);
  const run = openStore(input.resultsUri);
  // The run's results are read once: for its statistics and for the report rendered again with the verdict.
  onProgress('reading the run');
  const results = await loadResults(run);
  if (!results.summary) throw new Error(`${run.uri}: ${SUMMARY_KEY} is missing; was the sweep finalized?`);
  const candidate = statsOf(results.summary, results.thresholds, await writeCells(run, results.summary, results.rows));
  const status = results.summary.status as ScheduleRunEntry['status'];
  const baselineRef = await findBaseline(root, input.schedule.name, input.sweepId);
  let baseline: RunStats | null = null;
  const notes: string[] = [];
  if (baselineRef) {
    try {
      baseline = await baselineStats(openStore(baselineRef.resultsUri), (n) => onProgress(`read ${n} baseline records`));
    } catch (err) {
      notes.push(`baseline ${baselineRef.sweepId} could not be read (${(err as Error).message}); judged without it`);
    }
  }
  const cmp = compareRuns(baseline, candidate, opts);
  const report: RegressionReport = {
    schema: REGRESSION_SCHEMA,
    sweepId: input.sweepId,
    schedule: input.schedule.name,
    baseline: baseline && baselineRef ? baselineRef : null,
    ...cmp,
    notes: [...notes, ...cmp.notes],
    judgedAt: new Date().toISOString(),
  };
  await run.put(REGRESSION_KEY, JSON.stringify(report, null, 2), 'application/json');
  // report.html was written by finalize, before the verdict existed: render it again with the verdict in it.
  onProgress('rewriting report.html with the verdict');
  try {
    await writeReport(run, reportInputOf({ ...results, regression: report }));
  } catch (err) {
    console.error(`sweep ${input.sweepId}: report.html not rewritten with the verdict: ${(err as Error).stack ?? String(err)}`);
  }
  const headline = verdictHeadline(report);
  const entry: ScheduleRunEntry = {
    schema: RUN_INDEX_SCHEMA,
    schedule: input.schedule.name,
    sweepId: input.sweepId,
    resultsUri: run.uri,
    status,
    verdict: report.verdict,
    baseline: report.baseline ? { sweepId: report.baseline.sweepId, source: report.baseline.source } : null,
    headline,
    regressionCount: report.regressions.length,
    regressions: report.regressions.slice(0, 20),
    judgedAt: report.judgedAt,
  };
  await root.put(runKey(input.schedule.name, input.sweepId), JSON.stringify(entry, null, 2), 'application/json');
  return {
    report,
    output: {
      verdict: report.verdict,
      baselineSweepId: report.baseline?.sweepId ?? null,
      headline,
      regressions: report.regressions.slice(0, 5),
      regressionCount: report.regressions.length,
    },
  };
}

export function createJudgeActivities(deps: { openStore(uri: string): Store }): JudgeActivities {
  return {
    async judgeSweep(input: JudgeInput) {
      const ctx = Context.current();
      ctx.heartbeat({ judging: input.sweepId });
      const { output } = await judgeRun(deps.openStore, input, {}, (what) => ctx.heartbeat({ judging: input.sweepId, what }));
      return output;
    },
  };
}
