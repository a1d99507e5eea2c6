import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { TablesWriter, TRIAL_COLUMNS, TRIALS_CSV_KEY, TRIALS_PARQUET_KEY, rowsToCsv, rowsToParquet, trialRow } from '../../results/tables.js';
import { LocalStore } from '../../storage/local.js';
import { syntheticRecords } from './report-fixtures.js';

const toArrayBuffer = (u: Uint8Array): ArrayBuffer => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

describe('trial tables', () => {
  const records = syntheticRecords({ widths: [2, 8], lrs: [0.1, 1], losses: ['ce', 'dce', 'mse'], seeds: [0, 1] });

  it('has one row per record with the documented columns', () => {
    const rows = records.map(trialRow);
    expect(rows).toHaveLength(records.length);
    expect(Object.keys(rows[0])).toEqual(TRIAL_COLUMNS.map((c) => c.name));
    const dce = rows.find((r) => r.loss === 'dce')!;
    expect(dce.period).not.toBeNull();
    expect(rows.find((r) => r.loss === 'ce')!.period).toBeNull();
    const div = rows.find((r) => r.diverged)!;
    expect(div).toMatchObject({ divergedAtStep: 17, trainLoss: null, engine: 'reference', backend: 'float64' });
  });

  it('CSV parses back to the same values (null as empty)', () => {
    const rows = records.map(trialRow);
    const parsed = parse(rowsToCsv(rows), { columns: true }) as Record<string, string>[];
    expect(parsed).toHaveLength(rows.length);
    expect(Object.keys(parsed[0])).toEqual(TRIAL_COLUMNS.map((c) => c.name));
    parsed.forEach((p, i) => {
      const r = rows[i];
      expect(p.trialId).toBe(r.trialId);
      expect(Number(p.params)).toBe(r.params);
      expect(Number(p.valAcc)).toBe(r.valAcc);
      expect(p.diverged).toBe(String(r.diverged));
      expect(p.period).toBe(r.period === null ? '' : String(r.period));
      expect(p.trainLoss).toBe(r.trainLoss === null ? '' : String(r.trainLoss));
    });
  });

  it('Parquet round-trips through an independent reader with typed columns', async () => {
    const rows = records.map(trialRow);
    const file = toArrayBuffer(rowsToParquet(rows));
    const schema = parquetSchema(parquetMetadata(file));
    const types = Object.fromEntries(schema.children.map((c) => [c.element.name, c.element.type]));
    expect(types).toMatchObject({ trialId: 'BYTE_ARRAY', width: 'INT32', seed: 'INT64', lr: 'DOUBLE', diverged: 'BOOLEAN' });
    const back = await parquetReadObjects({ file });
    expect(back).toHaveLength(rows.length);
    back.forEach((b, i) => {
      const r = rows[i];
      for (const c of TRIAL_COLUMNS) {
        const v = b[c.name];
        expect(c.type === 'INT64' && v !== null ? Number(v) : v, c.name).toEqual(r[c.name]);
      }
    });
  });

  it('TablesWriter streams trials.csv and trials.parquet into the store in row groups, also for no rows', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'dynsweep-tables-'));
    try {
      const store = new LocalStore(root);
      const rows = records.map(trialRow);
      const writer = new TablesWriter(store, 5); // rows arrive pack by pack, row groups of 5
      for (let i = 0; i < rows.length; i += 3) await writer.add(rows.slice(i, i + 3));
      await writer.close();
      expect((await store.getText(TRIALS_CSV_KEY))!).toBe(rowsToCsv(rows));
      const file = toArrayBuffer((await store.get(TRIALS_PARQUET_KEY))!);
      expect(parquetMetadata(file).row_groups.length).toBe(Math.ceil(rows.length / 6)); // flushed at >= 5: every 6 rows
      const back = await parquetReadObjects({ file });
      expect(back.map((b) => b.trialId)).toEqual(rows.map((r) => r.trialId));
      const empty = new TablesWriter(store.child('empty'));
      await empty.close();
      expect((await store.child('empty').getText(TRIALS_CSV_KEY))!.trim()).toBe(TRIAL_COLUMNS.map((c) => c.name).join(','));
      expect(await parquetReadObjects({ file: toArrayBuffer((await store.child('empty').get(TRIALS_PARQUET_KEY))!) })).toHaveLength(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
