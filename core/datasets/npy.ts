/**
 * NumPy .npy and .npz files (format versions 1-3, numpy.lib.format) into a Table. Read: little- and big-endian
 * floats (f2 is not), signed and unsigned integers, booleans and fixed-width unicode strings (U), C or Fortran
 * order, 1-D and 2-D arrays. Object arrays (pickles) are refused: reading them would run code.
 * .npz is a zip of .npy files (numpy.savez, savez_compressed), unpacked with fflate.
 */
import { unzipSync } from 'fflate';
import { DatasetError, type Cell, type Table } from './table.js';

export interface NpyArray {
  shape: number[];
  /** Values in C (row-major) order, whatever the file's order. */
  values: Cell[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parse one .npy file. */
export function readNpyArray(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new DatasetError(file, 'not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [headerLength, headerStart] = major === 1 ? [view.getUint16(8, true), 10] : major <= 3 ? [view.getUint32(8, true), 12] : [-1, 0];
  if (headerLength < 0) throw new DatasetError(file, `.npy format version ${major} is not supported (1-3 are)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DatasetError(file, `unreadable .npy header ${JSON.stringify(header.trim())} (a structured dtype?)`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.length === 0 || shape.length > 2) throw new DatasetError(file, `an array of shape (${shapeText}); 1-D or 2-D arrays are read`);
  const m = /^([<>|=]?)([fiubU])(\d+)$/.exec(descr);
  if (!m) throw new DatasetError(file, `dtype ${descr} is not supported (floats, integers, booleans and unicode strings are)`);
  const [, order, kind, sizeText] = m;
  const size = Number(sizeText);
  const little = order !== '>';
  const count = shape.reduce((a, b) => a * b, 1);
  const itemBytes = kind === 'U' ? 4 * size : size;
  const start = headerStart + headerLength;
  if (bytes.length - start < count * itemBytes) {
    throw new DatasetError(file, `truncated: shape (${shapeText}) of ${descr} needs ${count * itemBytes} bytes of data, the file has ${bytes.length - start}`);
  }
  const read = itemReader(view, kind, size, little, file, descr);
  const values = new Array<Cell>(count);
  const [rows, cols] = shape.length === 2 ? shape : [shape[0], 1];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const stored = fortran === 'True' ? c * rows + r : r * cols + c;
      values[r * cols + c] = read(start + stored * itemBytes);
    }
  }
  return { shape, values };
}

function itemReader(view: DataView, kind: string, size: number, little: boolean, file: string, descr: string): (offset: number) => Cell {
  if (kind === 'f' && size === 8) return (o) => view.getFloat64(o, little);
  if (kind === 'f' && size === 4) return (o) => view.getFloat32(o, little);
  if (kind === 'b' && size === 1) return (o) => view.getUint8(o) !== 0;
  if (kind === 'i' || kind === 'u') {
    const signed = kind === 'i';
    if (size === 1) return (o) => (signed ? view.getInt8(o) : view.getUint8(o));
    if (size === 2) return (o) => (signed ? view.getInt16(o, little) : view.getUint16(o, little));
    if (size === 4) return (o) => (signed ? view.getInt32(o, little) : view.getUint32(o, little));
    if (size === 8) return (o) => (signed ? view.getBigInt64(o, little) : view.getBigUint64(o, little));
  }
  if (kind === 'U') {
    return (o) => {
      let s = '';
      for (let i = 0; i < size; i++) {
        const cp = view.getUint32(o + 4 * i, little);
        if (cp === 0) break;
        s += String.fromCodePoint(cp);
      }
      return s;
    };
  }
  throw new DatasetError(file, `dtype ${descr} is not supported (floats f4/f8, integers, booleans and unicode strings are)`);
}

/** Columns of an array: a 1-D array is one column named `name`; a 2-D array of k columns gives `prefix0` ... */
function arrayColumns(a: NpyArray, name: (c: number) => string, file: string, rows: number | null): { columns: string[]; values: Cell[][] } {
  const [n, k] = a.shape.length === 2 ? a.shape : [a.shape[0], 0];
  if (rows !== null && n !== rows) throw new DatasetError(file, `arrays of different lengths (${rows} and ${n} rows)`);
  if (k === 0) return { columns: [name(-1)], values: [a.values] };
  const columns: string[] = [];
  const values: Cell[][] = [];
  for (let c = 0; c < k; c++) {
    columns.push(name(c));
    values.push(Array.from({ length: n }, (_, r) => a.values[r * k + c]));
  }
  return { columns, values };
}

/** A .npy file as a table: a 2-D array's columns are named "0", "1", ...; a 1-D array is the single column "0". */
export function readNpy(bytes: Uint8Array, file: string): Table {
  const a = readNpyArray(bytes, file);
  const { columns, values } = arrayColumns(a, (c) => String(Math.max(c, 0)), file, null);
  return { file, columns, values, rows: a.shape[0] };
}

/**
 * A .npz file as a table: a 1-D array `y` is the column "y"; a 2-D array `x` of k columns gives the columns
 * "x[0]" ... "x[k-1]". All arrays must have the same number of rows.
 */
export function readNpz(bytes: Uint8Array, file: string): Table {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (err) {
    throw new DatasetError(file, `not a readable .npz (zip) file: ${(err as Error).message}`);
  }
  const columns: string[] = [];
  const values: Cell[][] = [];
  let rows: number | null = null;
  for (const [entry, data] of Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!entry.endsWith('.npy')) continue;
    const name = entry.slice(0, -4);
    const a = readNpyArray(data, `${file}:${entry}`);
    const part = arrayColumns(a, (c) => (c < 0 ? name : `${name}[${c}]`), file, rows);
    rows = a.shape[0];
    columns.push(...part.columns);
    values.push(...part.values);
  }
  if (rows === null) throw new DatasetError(file, 'the .npz file holds no .npy arrays');
  return { file, columns, values, rows };
}
