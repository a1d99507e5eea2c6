import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { TRIAL_COLUMNS, TRIALS_CSV_KEY, TRIALS_PARQUET_KEY, rowsToCsv, rowsToParquet, trialRows, writeTables } from '../../results/tables.js';
import { LocalStore } from '../../storage/local.js';
import { syntheticRecords } from './report-fixtures.js';

const toArrayBuffer = (u: Uint8Array): ArrayBuffer => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

describe('trial tables', () => {
  const records = syntheticRecords({ widths: [2, 8], lrs: [0.1, 1], losses: ['ce', 'dce', 'mse'], seeds: [0, 1] });

  it('has one row per record in a stable order with the documented columns', () => {
    const rows = trialRows([...records].reverse());
    expect(rows).toHaveLength(records.length);
    expect(Object.keys(rows[0])).toEqual(TRIAL_COLUMNS.map((c) => c.name));
    expect(rows.map((r) => r.loss)).toEqual([...rows.map((r) => r.loss)].sort((a, b) => ['ce', 'dce', 'mse'].indexOf(a) - ['ce', 'dce', 'mse'].indexOf(b)));
    expect(trialRows(records)).toEqual(rows);
    const dce = rows.find((r) => r.loss === 'dce')!;
    expect(dce.period).not.toBeNull();
    expect(rows.find((r) => r.loss === 'ce')!.period).toBeNull();
    const div = rows.find((r) => r.diverged)!;
    expect(div).toMatchObject({ divergedAtStep: 17, trainLoss: null, engine: 'reference', backend: 'float64' });
  });

  it('CSV parses back to the same values (null as empty)', () => {
    const rows = trialRows(records);
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
    const rows = trialRows(records);
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

  it('writeTables puts trials.csv and trials.parquet into the store, also for no records', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'dynsweep-tables-'));
    try {
      const store = new LocalStore(root);
      await writeTables(store, records);
      expect((await store.getText(TRIALS_CSV_KEY))!.split('\n')[0]).toBe(TRIAL_COLUMNS.map((c) => c.name).join(','));
      expect(await parquetReadObjects({ file: toArrayBuffer((await store.get(TRIALS_PARQUET_KEY))!) })).toHaveLength(records.length);
      await writeTables(store.child('empty'), []);
      expect(await parquetReadObjects({ file: toArrayBuffer((await store.child('empty').get(TRIALS_PARQUET_KEY))!) })).toHaveLength(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
