/** Parquet files into a Table (hyparquet: every column, every row group). */
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { DatasetError, type Cell, type Table } from './table.js';

export async function readParquet(bytes: Uint8Array, file: string): Promise<Table> {
  // hyparquet reads from an ArrayBuffer; copy out exactly this view's bytes.
  const buffer = bytes.slice().buffer;
  let rows: Record<string, unknown>[];
  let columns: string[];
  try {
    const metadata = parquetMetadata(buffer);
    // Top-level fields (the root element is the schema itself).
    columns = metadata.schema.slice(1).filter((e) => !e.num_children).map((e) => e.name);
    rows = await parquetReadObjects({ file: buffer, metadata });
  } catch (err) {
    throw new DatasetError(file, `not a readable Parquet file: ${(err as Error).message}`);
  }
  // Rows are read as objects keyed by name: a second column of the same name would silently replace the first.
  const twice = columns.find((c, i) => columns.indexOf(c) !== i);
  if (twice !== undefined) throw new DatasetError(file, `the schema names column ${JSON.stringify(twice)} twice`);
  const values: Cell[][] = columns.map((c, ci) =>
    rows.map((row, r) => {
      const v = row[c];
      if (v === null || v === undefined || typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint' || typeof v === 'boolean') return v ?? null;
      throw new DatasetError(file, `a nested or binary value (${Object.prototype.toString.call(v)}); only numbers and strings are read`, {
        row: r + 1,
        column: columns[ci],
      });
    }),
  );
  return { file, columns, values, rows: rows.length };
}
