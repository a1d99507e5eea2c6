/** CSV files (optionally gzip-compressed) into a Table, with ragged rows reported at their line. */
import { parse } from 'csv-parse/sync';
import { gunzipSync } from 'fflate';
import { DatasetError, type Table } from './table.js';

/** Bytes of a gzip stream start with 1f 8b: such files are decompressed first, whatever their name. */
export function maybeGunzip(bytes: Uint8Array): Uint8Array {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
}

/**
 * Parse CSV bytes. `header`: the first record names the columns; otherwise columns are named "0", "1", ... by
 * position. Empty lines are skipped; every other record must have as many values as the first.
 */
export function readCsv(bytes: Uint8Array, file: string, header: boolean): Table {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(maybeGunzip(bytes));
    records = parse(text, { relax_column_count: true, skip_empty_lines: true, info: true, bom: true }) as unknown as typeof records;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new DatasetError(file, `not a readable CSV file: ${e.message}`, e.lines ? { line: e.lines } : {});
  }
  if (records.length === 0) throw new DatasetError(file, 'the file is empty');
  const first = records[0].record;
  const columns = header ? first.map((c) => c.trim()) : first.map((_, i) => String(i));
  if (header) {
    const seen = new Set<string>();
    for (const c of columns) {
      if (c === '') throw new DatasetError(file, 'the header has an empty column name', { line: records[0].info.lines });
      if (seen.has(c)) throw new DatasetError(file, `the header names column ${JSON.stringify(c)} twice`, { line: records[0].info.lines });
      seen.add(c);
    }
  }
  const data = header ? records.slice(1) : records;
  const values: string[][] = columns.map(() => new Array<string>(data.length));
  const lines = new Array<number>(data.length);
  for (let r = 0; r < data.length; r++) {
    const { record, info } = data[r];
    if (record.length !== columns.length) {
      throw new DatasetError(file, `${record.length} values, expected ${columns.length}${header ? ' (the header has that many columns)' : ' (as in the first row)'}`, {
        row: r + 1,
        line: info.lines,
      });
    }
    for (let c = 0; c < columns.length; c++) values[c][r] = record[c];
    lines[r] = info.lines;
  }
  return { file, columns, values, rows: data.length, lines };
}
