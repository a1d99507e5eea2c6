/**
 * trials.csv and trials.parquet: one row per trial, for pandas / DuckDB / spreadsheet users.
 *
 * Columns (same names and order in both files; null = missing or not finite):
 *   trialId, loss, width, params, lr, period, amplitude, seed,
 *   trainLoss, trainLossStatic, trainAcc, valLoss, valAcc, sharpnessDynamic, sharpnessStatic,
 *   diverged, divergedAtStep, stepsRun, wallTimeS, stepsPerSecond, engine, engineVersion, backend
 * The final metrics are `record.final` (SCIENCE.md: at the final parameters). Static losses have empty period and
 * amplitude. Rows are sorted by loss (LOSSES order), width, lr, period, amplitude, seed, then id.
 * CSV: RFC 4180, header row, empty field for null, booleans as true/false.
 * Parquet: STRING, INT32, INT64 (seed), DOUBLE and BOOLEAN columns, all nullable, snappy compressed.
 */
import { stringify } from 'csv-stringify/sync';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { Store } from '../core/store.js';
import { LOSSES, type TrialRecord } from '../core/types.js';

export const TRIALS_CSV_KEY = 'trials.csv';
export const TRIALS_PARQUET_KEY = 'trials.parquet';

export interface TrialRow {
  trialId: string;
  loss: string;
  width: number;
  params: number;
  lr: number;
  period: number | null;
  amplitude: number | null;
  seed: number;
  trainLoss: number | null;
  trainLossStatic: number | null;
  trainAcc: number | null;
  valLoss: number | null;
  valAcc: number | null;
  sharpnessDynamic: number | null;
  sharpnessStatic: number | null;
  diverged: boolean;
  divergedAtStep: number | null;
  stepsRun: number;
  wallTimeS: number | null;
  stepsPerSecond: number | null;
  engine: string;
  engineVersion: string;
  backend: string;
}

type ParquetType = 'STRING' | 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN';

/** Column order and Parquet type of every column of TrialRow. */
export const TRIAL_COLUMNS: readonly { name: keyof TrialRow; type: ParquetType }[] = [
  { name: 'trialId', type: 'STRING' },
  { name: 'loss', type: 'STRING' },
  { name: 'width', type: 'INT32' },
  { name: 'params', type: 'INT32' },
  { name: 'lr', type: 'DOUBLE' },
  { name: 'period', type: 'INT32' },
  { name: 'amplitude', type: 'DOUBLE' },
  { name: 'seed', type: 'INT64' },
  { name: 'trainLoss', type: 'DOUBLE' },
  { name: 'trainLossStatic', type: 'DOUBLE' },
  { name: 'trainAcc', type: 'DOUBLE' },
  { name: 'valLoss', type: 'DOUBLE' },
  { name: 'valAcc', type: 'DOUBLE' },
  { name: 'sharpnessDynamic', type: 'DOUBLE' },
  { name: 'sharpnessStatic', type: 'DOUBLE' },
  { name: 'diverged', type: 'BOOLEAN' },
  { name: 'divergedAtStep', type: 'INT32' },
  { name: 'stepsRun', type: 'INT32' },
  { name: 'wallTimeS', type: 'DOUBLE' },
  { name: 'stepsPerSecond', type: 'DOUBLE' },
  { name: 'engine', type: 'STRING' },
  { name: 'engineVersion', type: 'STRING' },
  { name: 'backend', type: 'STRING' },
];

const finite = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const nullLast = (v: number | null): number => (v === null ? Infinity : v);

export function trialRow(r: TrialRecord): TrialRow {
  const c = r.config;
  return {
    trialId: r.trialId,
    loss: c.loss,
    width: c.width,
    params: r.params,
    lr: c.lr,
    period: c.period,
    amplitude: c.amplitude,
    seed: c.seed,
    trainLoss: finite(r.final.trainLoss),
    trainLossStatic: finite(r.final.trainLossStatic),
    trainAcc: finite(r.final.trainAcc),
    valLoss: finite(r.final.valLoss),
    valAcc: finite(r.final.valAcc),
    sharpnessDynamic: finite(r.final.sharpnessDynamic),
    sharpnessStatic: finite(r.final.sharpnessStatic),
    diverged: r.diverged,
    divergedAtStep: r.divergedAtStep,
    stepsRun: r.stepsRun,
    wallTimeS: finite(r.wallTimeS),
    stepsPerSecond: finite(r.stepsPerSecond),
    engine: r.engine.name,
    engineVersion: r.engine.version,
    backend: r.engine.backend,
  };
}

/** One row per record, in the documented order. */
export function trialRows(records: readonly TrialRecord[]): TrialRow[] {
  const lossIndex = (l: string) => LOSSES.indexOf(l as (typeof LOSSES)[number]);
  return records.map(trialRow).sort(
    (a, b) =>
      lossIndex(a.loss) - lossIndex(b.loss) ||
      a.width - b.width ||
      a.lr - b.lr ||
      nullLast(a.period) - nullLast(b.period) ||
      nullLast(a.amplitude) - nullLast(b.amplitude) ||
      a.seed - b.seed ||
      (a.trialId < b.trialId ? -1 : a.trialId > b.trialId ? 1 : 0),
  );
}

export function rowsToCsv(rows: readonly TrialRow[]): string {
  return stringify(
    rows.map((r) => TRIAL_COLUMNS.map((c) => r[c.name])),
    {
      header: true,
      columns: TRIAL_COLUMNS.map((c) => c.name),
      cast: { boolean: (v) => (v ? 'true' : 'false'), number: (v) => String(v) },
    },
  );
}

export function rowsToParquet(rows: readonly TrialRow[]): Uint8Array {
  const buf = parquetWriteBuffer({
    columnData: TRIAL_COLUMNS.map((c) => ({
      name: c.name,
      type: c.type,
      nullable: true,
      data:
        c.type === 'INT64'
          ? rows.map((r) => (r[c.name] === null ? null : BigInt(r[c.name] as number)))
          : rows.map((r) => r[c.name]),
    })),
    createdBy: 'dynsweep',
  });
  return new Uint8Array(buf);
}

/** Write trials.csv and trials.parquet for these records into a sweep's results store. */
export async function writeTables(store: Store, records: readonly TrialRecord[]): Promise<TrialRow[]> {
  const rows = trialRows(records);
  await store.put(TRIALS_CSV_KEY, rowsToCsv(rows), 'text/csv');
  await store.put(TRIALS_PARQUET_KEY, rowsToParquet(rows), 'application/vnd.apache.parquet');
  return rows;
}
