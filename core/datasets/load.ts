/**
 * Reading a tabular dataset: bytes (from a reader the caller gives: file I/O stays at the edges) -> content hash
 * -> table -> prepared sets. The same function serves validation (which computes the hashes) and the workers
 * (which verify them, so a file changed since planning fails the pack instead of training on other data).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TabularDatasetSpec } from '../types.js';
import { readCsv } from './csv.js';
import { readNpy, readNpz } from './npy.js';
import { readParquet } from './parquet.js';
import { prepareTabular, type PreparedData } from './prepare.js';
import { DatasetError, type Table } from './table.js';

/** Reads the bytes at a path or s3:// URI; throws DatasetError (naming the location) when there are none. */
export type ReadBytes = (location: string) => Promise<Uint8Array>;

export type TableFormat = TabularDatasetSpec['format'];

/** SHA-256 of the bytes, hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The format a file name implies (.csv, .csv.gz, .tsv is not read), or null. */
export function formatOfName(location: string): TableFormat | null {
  const name = location.toLowerCase();
  if (name.endsWith('.csv') || name.endsWith('.csv.gz')) return 'csv';
  if (name.endsWith('.parquet') || name.endsWith('.pq')) return 'parquet';
  if (name.endsWith('.npy')) return 'npy';
  if (name.endsWith('.npz')) return 'npz';
  return null;
}

/** The table in a file's bytes. */
export function readTable(bytes: Uint8Array, file: string, format: TableFormat, header: boolean): Promise<Table> | Table {
  switch (format) {
    case 'csv':
      return readCsv(bytes, file, header);
    case 'parquet':
      return readParquet(bytes, file);
    case 'npy':
      return readNpy(bytes, file);
    case 'npz':
      return readNpz(bytes, file);
  }
}

/**
 * The handwritten digits (8x8, 1,797 images, 10 classes): UCI optdigits' test set as scikit-learn ships it
 * (sklearn/datasets/data/digits.csv.gz, from the scikit-learn 1.9.1 wheel), vendored in data/digits/ (licences
 * there). No header; columns 0-63 are the pixels (0-16), column 64 the digit.
 */
export const DIGITS = {
  sha256: '09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22',
  label: '64',
  points: 1797,
};

/** Where the vendored digits file is, from this module's place in the sources or in dist/. */
export function digitsLocation(): string {
  const candidates = ['../../data/digits/digits.csv.gz', '../../../data/digits/digits.csv.gz'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

/** The files a spec reads: its source, or the vendored digits. */
export function locationsOf(spec: Pick<TabularDatasetSpec, 'kind' | 'source'>): { train: string; validation?: string } {
  if (spec.kind === 'digits') return { train: digitsLocation() };
  if (!spec.source) throw new Error('a file dataset without a source: resolve the grid first (core/grid/resolve.ts)');
  return spec.source;
}

/** Bytes at a location, checked against the hash the spec was resolved with. */
async function verifiedBytes(read: ReadBytes, location: string, expected: string | undefined): Promise<Uint8Array> {
  const bytes = await read(location);
  const actual = sha256Hex(bytes);
  if (expected !== undefined && actual !== expected) {
    throw new DatasetError(
      location,
      `its content changed: SHA-256 ${actual}, but the sweep was planned with ${expected}. Restore the file, or start the sweep again (a new sweep id, new trial ids)`,
    );
  }
  return bytes;
}

/** A resolved spec's training and validation sets, after verifying every file's content hash. */
export async function loadTabular(spec: TabularDatasetSpec, read: ReadBytes): Promise<PreparedData> {
  const where = locationsOf(spec);
  const train = await readTable(await verifiedBytes(read, where.train, spec.contentHash.train), where.train, spec.format, spec.header);
  const validation = where.validation
    ? await readTable(await verifiedBytes(read, where.validation, spec.contentHash.validation), where.validation, spec.format, spec.header)
    : undefined;
  return prepareTabular(spec, { train, validation });
}
