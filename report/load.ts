/**
 * Read a sweep's results folder (any Store): records under trials/, thresholds.json, summary.json, manifest.json.
 * Works on a running sweep too: records are listed, not taken from the manifest, and thresholds are computed
 * from the records (with grid.yaml's threshold settings) when thresholds.json is not written yet.
 */
import { SUMMARY_KEY, THRESHOLDS_KEY, type SweepSummary } from '../activities/summary.js';
import { achievableOf, GRID_KEY, MANIFEST_KEY, recordKey, type Manifest } from '../activities/manifest.js';
import { REGRESSION_KEY } from '../activities/schedule-store.js';
import type { RegressionReport } from '../core/regression.js';
import { parseGrid } from '../core/grid/index.js';
import type { Store } from '../core/store.js';
import { findThresholds, thresholdArgsOf, thresholdInputFromRecord, type ThresholdReport } from '../core/thresholds.js';
import type { TrialRecord } from '../core/types.js';
import { mapLimit } from '../core/map-limit.js';

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
  records: TrialRecord[];
}

async function json<T>(store: Store, key: string): Promise<T | null> {
  const text = await store.getText(key);
  return text === null ? null : (JSON.parse(text) as T);
}

/** The sweep's records: those its manifest names when there is one (a re-planned sweep id may hold others), else all. */
export async function readRecords(store: Store, concurrency = 32): Promise<TrialRecord[]> {
  const manifest = await json<Manifest>(store, MANIFEST_KEY);
  const keys = manifest
    ? manifest.trials.map((t) => recordKey(t.id))
    : (await store.list('trials/')).filter((k) => k.endsWith('.json'));
  const texts = await mapLimit(keys, concurrency, (k) => store.getText(k));
  return texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as TrialRecord);
}

export async function loadResults(store: Store, opts: { sweepId?: string } = {}): Promise<SweepResults> {
  const [manifest, summary, stored, regression, records] = await Promise.all([
    json<Manifest>(store, MANIFEST_KEY),
    json<SweepSummary>(store, SUMMARY_KEY),
    json<ThresholdReport>(store, THRESHOLDS_KEY),
    json<RegressionReport>(store, REGRESSION_KEY),
    readRecords(store),
  ]);
  if (!manifest && !summary && records.length === 0) {
    throw new Error(`${store.uri} holds no sweep results (no manifest.json, summary.json or trials/)`);
  }
  let thresholds = stored;
  let computed = false;
  if (!thresholds && records.length > 0) {
    const gridText = await store.getText(GRID_KEY);
    const achievable = achievableOf(manifest, records);
    const { criterion, options } = gridText ? thresholdArgsOf(parseGrid(gridText, GRID_KEY).threshold, achievable) : { criterion: {}, options: { achievable } };
    thresholds = findThresholds(records.map(thresholdInputFromRecord), criterion, options);
    computed = true;
  }
  const sweepId = opts.sweepId ?? summary?.sweepId ?? manifest?.sweepId ?? store.uri.split(/[\\/]/).filter(Boolean).pop() ?? 'sweep';
  return {
    uri: store.uri,
    sweepId,
    name: summary?.name ?? manifest?.name ?? null,
    gridHash: summary?.gridHash ?? manifest?.gridHash ?? null,
    totalTrials: manifest?.trials.length ?? summary?.trials ?? null,
    summary,
    thresholds,
    thresholdsComputed: computed,
    regression,
    records,
  };
}
