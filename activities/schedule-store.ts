/**
 * What scheduled sweeps keep in the store root (besides each run's own folder <root>/<sweepId>/):
 *
 *   schedules/<name>/baseline.json          the pinned baseline (`sweep baseline pin`), when there is one
 *   schedules/<name>/runs/<sweepId>.json    one entry per judged run: its verdict in brief (the run index)
 *
 * and in a judged run's folder: regression.json (the full verdict) and cells.json (per-cell seed values, read
 * when the run later serves as a baseline). Run ids of a schedule are "<name>-<scheduled time, RFC 3339>", so the
 * index sorts chronologically.
 */
import type { Store } from '../core/store.js';
import type { Verdict } from '../core/regression.js';

export const REGRESSION_KEY = 'regression.json';
export const CELLS_KEY = 'cells.json';
export const BASELINE_SCHEMA = 'dynsweep.baseline/1';
export const RUN_INDEX_SCHEMA = 'dynsweep.schedule-run/1';

export const baselineKey = (schedule: string) => `schedules/${schedule}/baseline.json`;
export const runsPrefix = (schedule: string) => `schedules/${schedule}/runs/`;
export const runKey = (schedule: string, sweepId: string) => `${runsPrefix(schedule)}${sweepId}.json`;

export interface PinnedBaseline {
  schema: typeof BASELINE_SCHEMA;
  schedule: string;
  sweepId: string;
  resultsUri: string;
  pinnedAt: string;
}

/** schedules/<name>/runs/<sweepId>.json */
export interface ScheduleRunEntry {
  schema: typeof RUN_INDEX_SCHEMA;
  schedule: string;
  sweepId: string;
  resultsUri: string;
  /** The sweep's own status (summary.json). */
  status: 'completed' | 'failed' | 'cancelled';
  verdict: Verdict;
  baseline: { sweepId: string; source: 'pinned' | 'last-good' } | null;
  headline: string;
  regressionCount: number;
  /** The first regression lines (all of them are in the run's regression.json). */
  regressions: string[];
  judgedAt: string;
}

export interface BaselineRef {
  sweepId: string;
  resultsUri: string;
  source: 'pinned' | 'last-good';
}

export const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export async function readJson<T>(store: Store, key: string): Promise<T | null> {
  const text = await store.getText(key);
  return text === null ? null : (JSON.parse(text) as T);
}

export async function readPinned(root: Store, schedule: string): Promise<PinnedBaseline | null> {
  return readJson<PinnedBaseline>(root, baselineKey(schedule));
}

export async function writePinned(root: Store, pin: Omit<PinnedBaseline, 'schema' | 'pinnedAt'>): Promise<PinnedBaseline> {
  const full: PinnedBaseline = { schema: BASELINE_SCHEMA, ...pin, pinnedAt: new Date().toISOString() };
  await root.put(baselineKey(pin.schedule), JSON.stringify(full, null, 2), 'application/json');
  return full;
}

/** The judged runs of a schedule, oldest first. */
export async function listRuns(root: Store, schedule: string): Promise<ScheduleRunEntry[]> {
  const keys = (await root.list(runsPrefix(schedule))).filter((k) => k.endsWith('.json'));
  const entries = await Promise.all(keys.map((k) => readJson<ScheduleRunEntry>(root, k)));
  return entries.filter((e): e is ScheduleRunEntry => e !== null).sort((a, b) => (a.sweepId < b.sweepId ? -1 : a.sweepId > b.sweepId ? 1 : 0));
}

/** Names of the schedules with anything in this store. */
export async function listScheduleNames(root: Store): Promise<string[]> {
  const keys = await root.list('schedules/');
  return [...new Set(keys.map((k) => k.split('/')[1]).filter((n): n is string => !!n))].sort();
}

/**
 * The baseline of a run of `schedule`: the pinned one (unless it is the run itself), else the last good run
 * before it (latest judged run with a smaller id whose verdict is 'baseline' or 'pass' and whose sweep completed).
 */
export async function findBaseline(root: Store, schedule: string, sweepId: string): Promise<BaselineRef | null> {
  const pinned = await readPinned(root, schedule);
  if (pinned && pinned.sweepId !== sweepId) return { sweepId: pinned.sweepId, resultsUri: pinned.resultsUri, source: 'pinned' };
  const good = (await listRuns(root, schedule)).filter(
    (r) => r.sweepId < sweepId && r.status === 'completed' && (r.verdict === 'baseline' || r.verdict === 'pass'),
  );
  const last = good[good.length - 1];
  return last ? { sweepId: last.sweepId, resultsUri: last.resultsUri, source: 'last-good' } : null;
}
