/**
 * A grid's dataset, read: for `kind: file` and `kind: digits` the files are read once per grid (by `sweep
 * validate`, `start` and `schedule`, and by planSweep), checked, and every default that depends on the data is
 * written into the spec (absolute path, format, label, classes, content hashes), so that trial ids and the grid
 * hash follow the data's content. Spirals are generated as always. Any problem is a GridError at the grid key it
 * concerns, naming the data file, row and column.
 */
import { homedir } from 'node:os';
import * as path from 'node:path';
import { ceilingsOf, datasetCeilings, type DatasetCeilings } from '../data.js';
import { DIGITS, digitsLocation, formatOfName, readTable, sha256Hex, type ReadBytes } from '../datasets/load.js';
import { defaultClassOrder, labelsOf, prepareTabular } from '../datasets/prepare.js';
import { DatasetError, type Table } from '../datasets/table.js';
import type { KernelData } from '../kernel.js';
import type { DatasetSpec, TabularDatasetSpec } from '../types.js';
import { levelAboveCeiling } from './achievable.js';
import { datasetOf } from './expand.js';
import { GridError, issueAt } from './parse.js';
import { MAX_POINTS, packMemoryIssue, type DigitsDatasetInput, type FileDatasetInput, type GridSpec } from './schema.js';

export interface ResolvedGrid {
  /** The grid with its dataset's data-dependent defaults written in (spirals: unchanged). */
  spec: GridSpec;
  /** The dataset as every trial carries it. */
  dataset: DatasetSpec;
  ceilings: DatasetCeilings;
  /** File and digits datasets: what was read (null for spirals, generated where needed). */
  data: { train: KernelData; validation: KernelData; featureNames: string[] } | null;
}

/** A location as the workers will read it: s3:// URIs as given, paths absolute (relative to the grid file's folder). */
export function absoluteLocation(location: string, gridFile: string): string {
  if (/^s3:\/\//i.test(location)) return location;
  if (location === '~' || location.startsWith('~/')) return path.join(homedir(), location.slice(1));
  return path.resolve(path.dirname(path.resolve(gridFile)), location);
}

/** The label column a format has by default. */
function defaultLabel(format: TabularDatasetSpec['format'], header: boolean, table: Table): string {
  if (format === 'npz') return 'y';
  if (format === 'npy' || (format === 'csv' && !header)) return table.columns[table.columns.length - 1];
  return 'label';
}

class Located extends Error {
  constructor(
    readonly key: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** Run `fn`; a DatasetError becomes a Located at the key it names (under dataset), else at `fallback`. */
async function at<T>(fallback: (string | number)[], fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DatasetError) throw new Located(err.where.key ? ['dataset', ...err.where.key] : fallback, err.message);
    throw err;
  }
}

async function hashedBytes(read: ReadBytes, location: string, pinned: string | undefined, key: (string | number)[]): Promise<{ bytes: Uint8Array; sha256: string }> {
  const bytes = await at(key, () => read(location));
  const sha256 = sha256Hex(bytes);
  if (pinned !== undefined && pinned !== sha256) {
    throw new Located([...key.slice(0, -1), 'sha256'], `${location}: its SHA-256 is ${sha256}, not the pinned ${pinned}`);
  }
  return { bytes, sha256 };
}

async function resolveFile(d: FileDatasetInput, gridFile: string, read: ReadBytes): Promise<{ filled: FileDatasetInput; tables: { train: Table; validation?: Table } }> {
  const location = absoluteLocation(d.path, gridFile);
  const format = d.format ?? formatOfName(location);
  if (!format) throw new Located(['dataset', 'path'], `cannot tell the format of ${location} from its name: give dataset.format (csv, parquet, npy or npz)`);
  const train = await hashedBytes(read, location, d.sha256, ['dataset', 'path']);
  const trainTable = await at(['dataset', 'path'], () => readTable(train.bytes, location, format, d.header));
  const label = d.label ?? defaultLabel(format, d.header, trainTable);
  const classes = d.classes ?? (await at(['dataset', 'label'], () => defaultClassOrder(labelsOf(trainTable, label))));
  let validation: FileDatasetInput['validation'] = { fraction: d.validation.fraction, seed: d.validation.seed ?? 0 };
  let validationTable: Table | undefined;
  if (d.validation.path !== undefined) {
    const where = absoluteLocation(d.validation.path, gridFile);
    const v = await hashedBytes(read, where, d.validation.sha256, ['dataset', 'validation', 'path']);
    validationTable = await at(['dataset', 'validation', 'path'], () => readTable(v.bytes, where, format, d.header));
    validation = { path: where, sha256: v.sha256 };
  }
  return {
    filled: { ...d, path: location, format, label, classes, validation, sha256: train.sha256 },
    tables: { train: trainTable, validation: validationTable },
  };
}

async function resolveDigits(d: DigitsDatasetInput, read: ReadBytes): Promise<{ filled: DigitsDatasetInput; tables: { train: Table } }> {
  const location = digitsLocation();
  const { bytes, sha256 } = await hashedBytes(read, location, undefined, ['dataset', 'kind']);
  if (sha256 !== DIGITS.sha256) throw new Located(['dataset', 'kind'], `${location}: not the shipped digits file (SHA-256 ${sha256}, expected ${DIGITS.sha256}); reinstall dynsweep`);
  const table = await at(['dataset', 'kind'], () => readTable(bytes, location, 'csv', false));
  return { filled: { ...d, classes: d.classes ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }, tables: { train: table } };
}

/** Checks that need the data: at least two classes, point limits, pack memory. */
function checkData(spec: GridSpec, dataset: TabularDatasetSpec, data: { train: KernelData; validation: KernelData }): void {
  if (dataset.classes < 2) {
    const where = dataset.source ? `${dataset.source.train}: column ${JSON.stringify(dataset.label)}: ` : '';
    throw new Located(['dataset', 'classes'], `${where}${dataset.classes} class (${dataset.classNames.join(', ')}): a classifier needs at least 2`);
  }
  for (const [set, n] of [['training', data.train.n], ['validation', data.validation.n]] as const) {
    if (n > MAX_POINTS) {
      const key = set === 'training' ? 'pointsPerClass' : 'validationPointsPerClass';
      throw new Located(['dataset', key], `${n.toLocaleString('en-US')} ${set} points, more than the ${MAX_POINTS.toLocaleString('en-US')} allowed: set dataset.${key}`);
    }
  }
  const memory = packMemoryIssue(spec, { classes: dataset.classes, inputDim: data.train.d, points: data.train.n });
  if (memory) throw new Located(memory.path, memory.message);
}

/**
 * Read and check the grid's dataset (see the file comment). `text` and `file` locate problems in the grid file;
 * `read` reads a path or s3:// URI (storage/read-location.ts).
 */
export async function resolveGrid(spec: GridSpec, text: string, file: string, read: ReadBytes): Promise<ResolvedGrid> {
  const fail = (key: (string | number)[], message: string): never => {
    throw new GridError([issueAt(text, file, key, message)]);
  };
  let resolved: ResolvedGrid;
  try {
    const d = spec.dataset;
    if (d.kind === 'spirals') {
      const dataset = datasetOf(spec);
      resolved = { spec, dataset, ceilings: datasetCeilings(dataset), data: null };
    } else {
      const { filled, tables } = d.kind === 'file' ? await resolveFile(d, file, read) : await resolveDigits(d, read);
      const filledSpec: GridSpec = { ...spec, dataset: filled };
      const dataset = datasetOf(filledSpec) as TabularDatasetSpec;
      const data = await at(d.kind === 'file' ? ['dataset', 'path'] : ['dataset'], () => prepareTabular(dataset, tables));
      checkData(filledSpec, dataset, data);
      resolved = { spec: filledSpec, dataset, ceilings: ceilingsOf(data.train, data.validation), data };
    }
  } catch (err) {
    if (err instanceof Located) return fail(err.key, err.message);
    throw err;
  }
  const why = levelAboveCeiling(resolved.spec, resolved.ceilings);
  if (why) fail(['threshold', 'level'], why);
  return resolved;
}
