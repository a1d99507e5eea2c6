/**
 * From tables to the training and validation sets a sweep trains on (docs/real-data.md): choose the feature and
 * label columns, map labels to classes, split off validation rows, take per-class subsets, standardise. Every
 * problem is a DatasetError naming the file, the row and the column.
 */
import type { KernelData } from '../kernel.js';
import { createRng } from '../prng.js';
import type { TabularDatasetSpec } from '../types.js';
import { dropConflicting } from '../data.js';
import { DatasetError, rowAt, type Cell, type Table } from './table.js';

export interface PreparedData {
  train: KernelData;
  validation: KernelData;
  /** The feature columns, in input order (d = featureNames.length). */
  featureNames: string[];
}

/** A label cell as a class key: numbers and bigints in their shortest decimal form, strings trimmed. */
function labelKey(v: Cell): string | null {
  if (v === null) return null;
  const s = typeof v === 'string' ? v.trim() : String(v);
  return s === '' ? null : s;
}

function columnIndex(table: Table, name: string, role: string): number {
  const i = table.columns.indexOf(name);
  if (i < 0) {
    const shown = table.columns.length > 12 ? `${table.columns.slice(0, 12).join(', ')}, ... (${table.columns.length} in all)` : table.columns.join(', ');
    throw new DatasetError(table.file, `no ${role} column ${JSON.stringify(name)} (columns: ${shown})`, { key: [role === 'label' ? 'label' : 'features'] });
  }
  return i;
}

/** The label of every row, as class keys; an empty label is an error at its row. */
export function labelsOf(table: Table, label: string): string[] {
  const col = table.values[columnIndex(table, label, 'label')];
  return col.map((v, r) => {
    const k = labelKey(v);
    if (k === null) throw new DatasetError(table.file, 'the label is empty', { ...rowAt(table, r), column: label });
    return k;
  });
}

/** Distinct labels in class order: numerically when every label is an integer, else by string. */
export function defaultClassOrder(labels: readonly string[]): string[] {
  const distinct = [...new Set(labels)];
  if (distinct.every((l) => /^-?\d+$/.test(l))) {
    return distinct.sort((a, b) => {
      const diff = BigInt(a) - BigInt(b);
      return diff < 0n ? -1 : diff > 0n ? 1 : 0;
    });
  }
  return distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The feature columns: as listed, or every column but the label in file order. */
export function featureColumns(table: Table, spec: Pick<TabularDatasetSpec, 'features' | 'label'>): string[] {
  const names = spec.features ?? table.columns.filter((c) => c !== spec.label);
  for (const n of names) {
    columnIndex(table, n, 'feature');
    if (n === spec.label) throw new DatasetError(table.file, `column ${JSON.stringify(n)} is the label and cannot also be a feature`, { key: ['features'] });
  }
  if (names.length === 0) throw new DatasetError(table.file, 'no feature columns (the file has only the label column)');
  return names;
}

/** A feature cell as a finite number, else an error at its row and column. */
function featureValue(table: Table, r: number, column: string, v: Cell): number {
  let x: number;
  if (typeof v === 'number') x = v;
  else if (typeof v === 'bigint') x = Number(v);
  else if (typeof v === 'boolean') x = v ? 1 : 0;
  else if (typeof v === 'string' && v.trim() !== '') x = Number(v.trim());
  else throw new DatasetError(table.file, 'a missing value', { ...rowAt(table, r), column });
  if (Number.isNaN(x) && typeof v === 'string' && !/^[+-]?nan$/i.test(v.trim())) {
    throw new DatasetError(table.file, `not a number: ${JSON.stringify(v)}`, { ...rowAt(table, r), column });
  }
  if (!Number.isFinite(x)) throw new DatasetError(table.file, `not a finite number: ${String(v)}`, { ...rowAt(table, r), column });
  return x;
}

interface Rows {
  table: Table;
  /** Row indices in the table, in file order. */
  rows: number[];
  classOf: Int32Array;
}

/** Rows whose label is one of the classes (a class subset leaves the others out), with their class index. */
function classRows(table: Table, label: string, classNames: readonly string[]): Rows {
  const index = new Map(classNames.map((c, i) => [c, i]));
  const labels = labelsOf(table, label);
  const rows: number[] = [];
  const classOf = new Int32Array(table.rows).fill(-1);
  for (let r = 0; r < labels.length; r++) {
    const c = index.get(labels[r]);
    if (c === undefined) continue;
    rows.push(r);
    classOf[r] = c;
  }
  return { table, rows, classOf };
}

/** The first `limit` rows of each class, in file order (all when limit is null). */
function perClassLimit(rows: number[], classOf: Int32Array, classes: number, limit: number | null): number[] {
  if (limit === null) return rows;
  const taken = new Array<number>(classes).fill(0);
  return rows.filter((r) => taken[classOf[r]]++ < limit);
}

/** Stratified split: per class, a seeded shuffle picks round(fraction * n_c) validation rows; both sets stay in file order. */
function split(rows: number[], classOf: Int32Array, classes: number, fraction: number, seed: number): { train: number[]; validation: number[] } {
  const rng = createRng(seed, 'dataset/split');
  const toValidation = new Set<number>();
  for (let c = 0; c < classes; c++) {
    const members = rows.filter((r) => classOf[r] === c);
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [members[i], members[j]] = [members[j], members[i]];
    }
    for (const r of members.slice(0, Math.round(fraction * members.length))) toValidation.add(r);
  }
  return { train: rows.filter((r) => !toValidation.has(r)), validation: rows.filter((r) => toValidation.has(r)) };
}

function matrix(table: Table, rows: number[], classOf: Int32Array, features: string[], classes: number): KernelData {
  const d = features.length;
  const cols = features.map((f) => table.values[table.columns.indexOf(f)]);
  const x = new Float64Array(rows.length * d);
  const y = new Int32Array(rows.length);
  rows.forEach((r, mu) => {
    for (let k = 0; k < d; k++) x[mu * d + k] = featureValue(table, r, features[k], cols[k][r]);
    y[mu] = classOf[r];
  });
  return { x, y, n: rows.length, d, classes };
}

/** Standardise in place with the training set's per-feature mean and (population) standard deviation; a constant feature is only centred. */
function standardize(train: KernelData, validation: KernelData): void {
  const { d, n } = train;
  for (let k = 0; k < d; k++) {
    let mean = 0;
    for (let mu = 0; mu < n; mu++) mean += train.x[mu * d + k];
    mean /= n;
    let variance = 0;
    for (let mu = 0; mu < n; mu++) variance += (train.x[mu * d + k] - mean) ** 2;
    const sd = Math.sqrt(variance / n);
    const scale = sd > 0 ? 1 / sd : 1;
    for (const set of [train, validation]) for (let mu = 0; mu < set.n; mu++) set.x[mu * d + k] = (set.x[mu * d + k] - mean) * scale;
  }
}

/**
 * The training and validation sets of a resolved spec from its tables (`validation` when the spec names a
 * validation file). Checks: the columns exist, a validation file has the training file's columns, every feature
 * value is a finite number, every class has training points.
 */
export function prepareTabular(spec: TabularDatasetSpec, tables: { train: Table; validation?: Table }): PreparedData {
  const { train: trainTable } = tables;
  for (const t of [trainTable, tables.validation]) {
    // A CSV's lines are known, so a CSV without rows had only its header.
    if (t && t.rows === 0) throw new DatasetError(t.file, `no data rows${t.lines ? ' (only a header)' : ''}`, t === trainTable ? {} : { key: ['validation', 'path'] });
  }
  const features = featureColumns(trainTable, spec);
  const C = spec.classes;
  const all = classRows(trainTable, spec.label, spec.classNames);
  let trainRows: number[];
  let validationRows: number[];
  let validation: Rows;
  if (spec.split) {
    ({ train: trainRows, validation: validationRows } = split(all.rows, all.classOf, C, spec.split.fraction, spec.split.seed));
    validation = all;
  } else {
    const vt = tables.validation;
    if (!vt) throw new DatasetError(trainTable.file, 'the spec names a validation file, but none was read');
    const missing = trainTable.columns.filter((c) => !vt.columns.includes(c));
    const extra = vt.columns.filter((c) => !trainTable.columns.includes(c));
    if (missing.length > 0 || extra.length > 0) {
      throw new DatasetError(
        vt.file,
        `its columns differ from ${trainTable.file}'s:${missing.length ? ` missing ${missing.map((c) => JSON.stringify(c)).join(', ')}` : ''}${extra.length ? `${missing.length ? ';' : ''} extra ${extra.map((c) => JSON.stringify(c)).join(', ')}` : ''}`,
        { key: ['validation', 'path'] },
      );
    }
    trainRows = all.rows;
    validation = classRows(vt, spec.label, spec.classNames);
    validationRows = validation.rows;
  }
  trainRows = perClassLimit(trainRows, all.classOf, C, spec.pointsPerClass);
  validationRows = perClassLimit(validationRows, validation.classOf, C, spec.validationPointsPerClass);
  const counts = new Array<number>(C).fill(0);
  for (const r of trainRows) counts[all.classOf[r]]++;
  const empty = counts.findIndex((n) => n === 0);
  if (empty >= 0) {
    throw new DatasetError(trainTable.file, `class ${JSON.stringify(spec.classNames[empty])} has no training rows${spec.split ? ' (after the validation split)' : ''}`, { column: spec.label, key: ['classes'] });
  }
  if (validationRows.length === 0) throw new DatasetError(validation.table.file, 'no validation rows (raise validation.fraction or give a validation file)');
  let trainSet = matrix(trainTable, trainRows, all.classOf, features, C);
  let validationSet = matrix(validation.table, validationRows, validation.classOf, features, C);
  if (spec.standardize) standardize(trainSet, validationSet);
  if (spec.coincident === 'drop') {
    trainSet = dropConflicting(trainSet);
    validationSet = dropConflicting(validationSet);
  }
  return { train: trainSet, validation: validationSet, featureNames: features };
}
