/**
 * Read a sweep's results folder (any Store): table rows pack by pack (results/rows.ts), thresholds.json,
 * summary.json, manifest.json. Works on a running sweep too: rows come from the records of packs not summarised
 * yet, and thresholds are computed from the rows (with grid.yaml's threshold settings) when thresholds.json is not
 * written yet. A folder without a manifest (copied records) is read from trials/.
 */
import { SUMMARY_KEY, THRESHOLDS_KEY, type SweepSummary } from '../results/summary.js';
import { achievableOf, readManifest, type Manifest } from '../results/manifest.js';
import { GRID_KEY } from '../results/layout.js';
import { sweepRows, thresholdInputOfRow } from '../results/rows.js';
import { trialRow, type TrialRow } from '../results/tables.js';
import { REGRESSION_KEY } from '../activities/schedule-store.js';
import type { RegressionReport } from '../core/regression.js';
import { parseGrid } from '../core/grid/index.js';
import type { Store } from '../core/store.js';
import { findThresholds, thresholdArgsOf, type ThresholdReport } from '../core/thresholds.js';
import type { TrialRecord } from '../core/types.js';
import { mapLimit } from '../core/map-limit.js';
import { REPORT_MAX_TRIALS, tracesFor } from './traces.js';

export interface SweepResults {
  uri: string;
  sweepId: string;
  name: string | null;
  gridHash: string | null;
  /** Trials in the grid (manifest), null when the manifest is missing. */
  totalTrials: number | null;
  summary: SweepSummary | null;
  thresholds: ThresholdReport | null;
  /** True when thresholds were computed here rather than read from thresholds.json. */
  thresholdsComputed: boolean;
  /** regression.json: a scheduled run's verdict, null for plain sweeps and runs not judged yet. */
  regression: RegressionReport | null;
  /** One row per trial with a record, in plan order. */
  rows: TrialRow[];
  /** Full records of the trials the report draws traces of (report/traces.ts). */
  traces: TrialRecord[];
}

async function json<T>(store: Store, key: string): Promise<T | null> {
  const text = await store.getText(key);
  return text === null ? null : (JSON.parse(text) as T);
}

/** The sweep's rows: those its plan names when there is one (a re-planned sweep id may hold others), else all records. */
async function readRows(store: Store): Promise<{ rows: TrialRow[]; manifest: Manifest | null; first: TrialRecord | null }> {
  const manifest = await readManifest(store);
  const rows: TrialRow[] = [];
  if (manifest) {
    if (manifest.totalTrials > REPORT_MAX_TRIALS) {
      throw new Error(`${store.uri}: ${manifest.totalTrials} trials is more than the ${REPORT_MAX_TRIALS} the CLI reads at once; read trials.parquet instead`);
    }
    for await (const pack of sweepRows(store, manifest)) rows.push(...pack.rows);
    return { rows, manifest, first: null };
  }
  const keys = (await store.list('trials/')).filter((k) => k.endsWith('.json'));
  const records = (await mapLimit(keys, 32, (k) => store.getText(k))).flatMap((t) => (t === null ? [] : [JSON.parse(t) as TrialRecord]));
  return { rows: records.map(trialRow), manifest, first: records[0] ?? null };
}

export async function loadResults(store: Store, opts: { sweepId?: string } = {}): Promise<SweepResults> {
  const [{ rows, manifest, first }, summary, stored, regression] = await Promise.all([
    readRows(store),
    json<SweepSummary>(store, SUMMARY_KEY),
    json<ThresholdReport>(store, THRESHOLDS_KEY),
    json<RegressionReport>(store, REGRESSION_KEY),
  ]);
  if (!manifest && !summary && rows.length === 0) {
    throw new Error(`${store.uri} holds no sweep results (no manifest.json, summary.json or trials/)`);
  }
  let thresholds = stored;
  let computed = false;
  if (!thresholds && rows.length > 0) {
    const gridText = await store.getText(GRID_KEY);
    const achievable = achievableOf(manifest, first ? [first] : []);
    const { criterion, options } = gridText ? thresholdArgsOf(parseGrid(gridText, GRID_KEY).threshold, achievable) : { criterion: {}, options: { achievable } };
    thresholds = findThresholds(rows.map(thresholdInputOfRow), criterion, options);
    computed = true;
  }
  const sweepId = opts.sweepId ?? summary?.sweepId ?? manifest?.sweepId ?? store.uri.split(/[\\/]/).filter(Boolean).pop() ?? 'sweep';
  return {
    uri: store.uri,
    sweepId,
    name: summary?.name ?? manifest?.name ?? null,
    gridHash: summary?.gridHash ?? manifest?.gridHash ?? null,
    totalTrials: manifest?.totalTrials ?? summary?.trials ?? null,
    summary,
    thresholds,
    thresholdsComputed: computed,
    regression,
    rows,
    traces: await tracesFor(store, rows, thresholds),
  };
}
