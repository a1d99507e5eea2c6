/**
 * A data file read into named columns, before any feature or label is chosen (core/datasets/prepare.ts).
 * Every reader (CSV, Parquet, .npy, .npz) produces one, so that checks and messages are the same for all.
 */

/** One value as a reader found it: CSV gives strings, Parquet and NumPy numbers, bigints, strings or null. */
export type Cell = string | number | bigint | boolean | null;

export interface Table {
  /** The file, as messages name it (the path or URI the grid gave). */
  file: string;
  columns: string[];
  /** Column-major values: values[c][r] is row r of column c; every column has `rows` values. */
  values: Cell[][];
  rows: number;
  /** CSV only: the line each row starts on (1-based), for messages. */
  lines?: number[];
}

/**
 * A problem with a data file: which file, and where in it when known. `where.key`: the grid key (under `dataset`)
 * the problem is reported at, when it is not the file's own (e.g. ['label'] for a label column that is missing).
 */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly where: { row?: number; line?: number; column?: string; key?: string[] } = {},
  ) {
    const at = [
      where.row !== undefined ? `row ${where.row}${where.line !== undefined ? ` (line ${where.line})` : ''}` : where.line !== undefined ? `line ${where.line}` : '',
      where.column !== undefined ? `column ${JSON.stringify(where.column)}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    super(`${file}${at ? `: ${at}` : ''}: ${detail}`);
    this.name = 'DatasetError';
  }
}

/** Where row r (0-based) of a table is, for DatasetError: 1-based data row, and the CSV line when known. */
export function rowAt(table: Table, r: number): { row: number; line?: number } {
  return table.lines ? { row: r + 1, line: table.lines[r] } : { row: r + 1 };
}
