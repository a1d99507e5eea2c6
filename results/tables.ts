/**
 * trials.csv and trials.parquet: one row per trial, for pandas / DuckDB / spreadsheet users.
 *
 * Columns (same names and order in both files; null = missing or not finite):
 *   trialId, loss, width, params, lr, period, amplitude, seed,
 *   trainLoss, trainLossStatic, trainAcc, valLoss, valAcc, sharpnessDynamic, sharpnessStatic,
 *   diverged, divergedAtStep, stepsRun, wallTimeS, stepsPerSecond, engine, engineVersion, backend,
 *   eosCrossings, firstCrossingStep, maxEosRatio, lossSpikes
 * The last four are the instability monitor's numbers of the whole trial (core/monitor.ts instabilityOf, at the
 * sharpness cadence): crossings of 2/eta (lambda_max eta / 2 passing 1), the step of the first, the largest
 * lambda_max eta / 2, and loss spikes.
 * The final metrics are `record.final` (SCIENCE.md: at the final parameters). Static losses have empty period and
 * amplitude. Rows are in plan order (pack by pack: loss family, width, then loss, lr, period, amplitude, seed), the
 * order they are streamed in, so that no process holds a large sweep's table; `sweep results` lists them alike.
 * CSV: RFC 4180, header row, empty field for null, booleans as true/false.
 * Parquet: STRING, INT32, INT64 (seed), DOUBLE and BOOLEAN columns, all nullable, snappy compressed.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { ByteWriter, ParquetWriter, parquetWriteBuffer, schemaFromColumnData } from 'hyparquet-writer';
import type { Store } from '../core/store.js';
import type { LossName, TrialRecord } from '../core/types.js';
import { instabilityOf } from '../core/monitor.js';

export interface TrialRow {
  trialId: string;
  loss: LossName;
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
  eosCrossings: number;
  firstCrossingStep: number | null;
  maxEosRatio: number | null;
  lossSpikes: number;
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
  { name: 'eosCrossings', type: 'INT32' },
  { name: 'firstCrossingStep', type: 'INT32' },
  { name: 'maxEosRatio', type: 'DOUBLE' },
  { name: 'lossSpikes', type: 'INT32' },
];

const finite = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function trialRow(r: TrialRecord): TrialRow {
  const c = r.config;
  const { stability, events } = instabilityOf(r);
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
    eosCrossings: events.crossings.length,
    firstCrossingStep: events.crossings[0]?.step ?? null,
    maxEosRatio: finite(stability.maxEos),
    lossSpikes: stability.spikes,
  };
}

const CSV_OPTIONS = { columns: TRIAL_COLUMNS.map((c) => c.name), cast: { boolean: (v: boolean) => (v ? 'true' : 'false'), number: (v: number) => String(v) } };

export function rowsToCsv(rows: readonly TrialRow[], header = true): string {
  return stringify(
    rows.map((r) => TRIAL_COLUMNS.map((c) => r[c.name])),
    { ...CSV_OPTIONS, header },
  );
}

function columnData(rows: readonly TrialRow[]) {
  return TRIAL_COLUMNS.map((c) => ({
    name: c.name,
    type: c.type,
    nullable: true,
    data:
      c.type === 'INT64'
        ? rows.map((r) => (r[c.name] === null ? null : BigInt(r[c.name] as number)))
        : rows.map((r) => r[c.name]),
  }));
}

export function rowsToParquet(rows: readonly TrialRow[]): Uint8Array {
  return new Uint8Array(parquetWriteBuffer({ columnData: columnData(rows), createdBy: 'dynsweep' }));
}

export const TRIALS_CSV_KEY = 'trials.csv';
export const TRIALS_PARQUET_KEY = 'trials.parquet';

/** Rows per Parquet row group (and per CSV chunk): what the table writer holds at a time. */
const ROW_GROUP = 10_000;

/** A stream into a store object, written as chunks arrive (backpressure included). */
function storeStream(store: Store, key: string, contentType: string) {
  const pass = new PassThrough();
  const done = store.putStream(key, pass, contentType);
  done.catch(() => pass.destroy());
  return {
    async write(bytes: Uint8Array) {
      if (!pass.write(bytes)) await Promise.race([once(pass, 'drain'), done]);
    },
    async end() {
      pass.end();
      await done;
    },
  };
}

/** hyparquet-writer's byte writer, emptied into a store stream after every row group. */
class StreamingByteWriter extends ByteWriter {
  constructor(private readonly out: ReturnType<typeof storeStream>) {
    super(1 << 20);
  }
  flush(): Promise<void> {
    const chunk = new Uint8Array(this.buffer, 0, this.index).slice();
    this.index = 0;
    return this.out.write(chunk);
  }
}

/**
 * trials.csv and trials.parquet of a sweep, written as rows arrive (finalize adds them pack by pack): memory is
 * one row group, whatever the sweep's size.
 */
export class TablesWriter {
  private readonly csv: ReturnType<typeof storeStream>;
  private readonly parquetOut: ReturnType<typeof storeStream>;
  private readonly bytes: StreamingByteWriter;
  private readonly parquet: ParquetWriter;
  private pending: TrialRow[] = [];
  private header = true;
  rows = 0;

  /** @param rowGroup rows per Parquet row group (and CSV chunk); default ROW_GROUP. */
  constructor(
    store: Store,
    private readonly rowGroup = ROW_GROUP,
  ) {
    this.csv = storeStream(store, TRIALS_CSV_KEY, 'text/csv');
    this.parquetOut = storeStream(store, TRIALS_PARQUET_KEY, 'application/vnd.apache.parquet');
    this.bytes = new StreamingByteWriter(this.parquetOut);
    this.parquet = new ParquetWriter({ writer: this.bytes, schema: schemaFromColumnData({ columnData: columnData([]) }), createdBy: 'dynsweep' });
  }

  async add(rows: readonly TrialRow[]): Promise<void> {
    this.pending.push(...rows);
    this.rows += rows.length;
    if (this.pending.length >= this.rowGroup) await this.flush();
  }

  private async flush(): Promise<void> {
    const rows = this.pending;
    this.pending = [];
    if (rows.length === 0) return;
    await this.csv.write(new TextEncoder().encode(rowsToCsv(rows, this.header)));
    this.header = false;
    await this.parquet.write({ columnData: columnData(rows), rowGroupSize: rows.length });
  }

  /** Flush what is left and complete both objects. */
  async close(): Promise<void> {
    await this.flush();
    if (this.header) await this.csv.write(new TextEncoder().encode(rowsToCsv([], true)));
    this.parquet.finish();
    await this.bytes.flush();
    await Promise.all([this.csv.end(), this.parquetOut.end()]);
  }
}
