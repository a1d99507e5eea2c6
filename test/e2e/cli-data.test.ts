import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../support/cli.js';

type Column = { name: string; data: (number | string | null)[]; type: 'DOUBLE' | 'STRING' };
const parquet = (...columns: Column[]) => new Uint8Array(parquetWriteBuffer({ columnData: columns }));
const a: Column = { name: 'a', data: [1, 3, 5, 7, 9, 11], type: 'DOUBLE' };
const b: Column = { name: 'b', data: [2, 4, 6, 8, 10, 12], type: 'DOUBLE' };
const label: Column = { name: 'label', data: ['x', 'y', 'x', 'y', 'x', 'y'], type: 'STRING' };

/** A float64 array as numpy.save writes it (format 1.0: magic, header length, a header padded to 64 bytes). */
function npy(shape: number[], data: number[]): Uint8Array {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += `${' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`;
  const body = new Uint8Array(new Float64Array(data).buffer);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

/**
 * Bad data files through the real CLI: exit 2 from `sweep validate` and `sweep start`, the message naming the grid
 * key, the data file, the row and the column. TEMPORAL_ADDRESS points at a port nothing listens on: a start that
 * got past validation would fail to connect (exit 1), so exit 2 shows that nothing was started.
 */
describe('malformed data files', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-data-'));
  const env = cleanEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1', SWEEP_STORE: path.join(dir, 'store') });
  const good = 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,10,x\n11,12,y\n';
  const grid = (dataset: string) => `dataset:\n  kind: file\n${dataset}\ntraining: { steps: 20 }\ngrid: { width: [4], lr: [0.5], loss: [ce], seed: [0] }\n`;
  const cases: { name: string; files: Record<string, string | Uint8Array>; dataset: string; expect: RegExp }[] = [
    { name: 'missing file', files: {}, dataset: '  path: nowhere.csv', expect: /grid\.yaml:3:3 dataset\.path: .*nowhere\.csv: cannot read: no such file/ },
    { name: 'ragged row', files: { 'd.csv': good.replace('5,6,x', '5,6,7,x') }, dataset: '  path: d.csv', expect: /dataset\.path: .*d\.csv: row 3 \(line 4\): 4 values, expected 3/ },
    { name: 'non-numeric feature', files: { 'd.csv': good.replace('7,8,y', '7,eight,y') }, dataset: '  path: d.csv', expect: /d\.csv: row 4 \(line 5\), column "b": not a number: "eight"/ },
    { name: 'non-finite feature', files: { 'd.csv': good.replace('9,10', 'Infinity,10') }, dataset: '  path: d.csv', expect: /d\.csv: row 5 \(line 6\), column "a": not a finite number: Infinity/ },
    { name: 'missing value', files: { 'd.csv': good.replace('3,4,y', ',4,y') }, dataset: '  path: d.csv', expect: /d\.csv: row 2 \(line 3\), column "a": a missing value/ },
    { name: 'empty class', files: { 'd.csv': good }, dataset: '  path: d.csv\n  classes: [x, y, z]', expect: /dataset\.classes: .*d\.csv: column "label": class "z" has no training rows/ },
    { name: 'no such label column', files: { 'd.csv': good }, dataset: '  path: d.csv\n  label: kind', expect: /grid\.yaml:4:3 dataset\.label: .*d\.csv: no label column "kind" \(columns: a, b, label\)/ },
    { name: 'no such feature column', files: { 'd.csv': good }, dataset: '  path: d.csv\n  features: [a, c]', expect: /dataset\.features: .*d\.csv: no feature column "c"/ },
    {
      name: 'validation file with other columns',
      files: { 'd.csv': good, 'v.csv': 'a,c,label\n1,2,x\n' },
      dataset: '  path: d.csv\n  validation: { path: v.csv }',
      expect: /dataset\.validation\.path: .*v\.csv: its columns differ from .*d\.csv's: missing "b"; extra "c"/,
    },
    { name: 'unknown format', files: { 'd.txt': good }, dataset: '  path: d.txt', expect: /dataset\.path: cannot tell the format of .*d\.txt from its name: give dataset\.format/ },
    { name: 'not a .npy file', files: { 'd.npy': good }, dataset: '  path: d.npy', expect: /dataset\.path: .*d\.npy: not a \.npy file/ },
    { name: 'empty CSV', files: { 'd.csv': '' }, dataset: '  path: d.csv', expect: /dataset\.path: .*d\.csv: the file is empty/ },
    { name: 'header-only CSV', files: { 'd.csv': 'a,b,label\n' }, dataset: '  path: d.csv', expect: /dataset\.path: .*d\.csv: no data rows \(only a header\)/ },
    { name: 'duplicate column names in a CSV', files: { 'd.csv': good.replace('a,b', 'a,a') }, dataset: '  path: d.csv', expect: /dataset\.path: .*d\.csv: line 1: the header names column "a" twice/ },
    { name: 'a label column with a single class', files: { 'd.csv': good.replace(/y$/gm, 'x') }, dataset: '  path: d.csv', expect: /dataset\.classes: .*d\.csv: column "label": 1 class \(x\): a classifier needs at least 2/ },
    { name: 'Parquet without the label column', files: { 'd.parquet': parquet(a, b) }, dataset: '  path: d.parquet', expect: /dataset\.label: .*d\.parquet: no label column "label" \(columns: a, b\)/ },
    {
      name: 'Parquet validation file missing a column',
      files: { 't.parquet': parquet(a, b, label), 'v.parquet': parquet(a, label) },
      dataset: '  path: t.parquet\n  validation: { path: v.parquet }',
      expect: /grid\.yaml:4:17 dataset\.validation\.path: .*v\.parquet: its columns differ from .*t\.parquet's: missing "b"$/m,
    },
    { name: 'NaN in Parquet', files: { 'd.parquet': parquet(a, { ...b, data: [2, 4, 6, NaN, 10, 12] }, label) }, dataset: '  path: d.parquet', expect: /dataset\.path: .*d\.parquet: row 4, column "b": not a finite number: NaN/ },
    { name: 'a null in Parquet', files: { 'd.parquet': parquet({ ...a, data: [1, 3, null, 7, 9, 11] }, b, label) }, dataset: '  path: d.parquet', expect: /dataset\.path: .*d\.parquet: row 3, column "a": a missing value/ },
    { name: 'duplicate column names in Parquet', files: { 'd.parquet': parquet(a, { ...b, name: 'a' }, label) }, dataset: '  path: d.parquet', expect: /dataset\.path: .*d\.parquet: the schema names column "a" twice/ },
    { name: 'a truncated Parquet file', files: { 'd.parquet': parquet(a, b, label).slice(0, 60) }, dataset: '  path: d.parquet', expect: /dataset\.path: .*d\.parquet: not a readable Parquet file/ },
    {
      name: '.npz without the label array',
      files: { 'd.npz': zipSync({ 'x.npy': npy([6, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) }) },
      dataset: '  path: d.npz',
      expect: /dataset\.label: .*d\.npz: no label column "y" \(columns: x\[0\], x\[1\]\)/,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: exit 2 with the file, row and column, for validate and start`, async () => {
      const sub = mkdtempSync(path.join(dir, 'case-'));
      for (const [name, text] of Object.entries(c.files)) writeFileSync(path.join(sub, name), text);
      const file = path.join(sub, 'grid.yaml');
      writeFileSync(file, grid(c.dataset));
      for (const args of [['validate', file], ['start', file]]) {
        const run = await runCli(args, env, 60_000);
        expect(run.code, run.stderr).toBe(2);
        expect(run.stderr).toMatch(c.expect);
        expect(run.stdout).toBe('');
      }
    });
  }

  it('the good Parquet and .npz files validate (the corpus above differs from them in one fault each)', async () => {
    const sub = mkdtempSync(path.join(dir, 'good-binary-'));
    writeFileSync(path.join(sub, 'd.parquet'), parquet(a, b, label));
    writeFileSync(path.join(sub, 'd.npz'), zipSync({ 'x.npy': npy([6, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 'y.npy': npy([6], [0, 1, 0, 1, 0, 1]) }));
    for (const name of ['d.parquet', 'd.npz']) {
      writeFileSync(path.join(sub, 'grid.yaml'), grid(`  path: ${name}\n  validation: { fraction: 0.34 }`));
      const run = await runCli(['validate', path.join(sub, 'grid.yaml')], env, 60_000);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`dataset file from .*${name.replace('.', '\\.')}: 4 training and 2 validation points, 2 features, 2 classes`));
    }
  });

  it('the good file validates, with its size and content hash', async () => {
    const sub = mkdtempSync(path.join(dir, 'good-'));
    writeFileSync(path.join(sub, 'd.csv'), good);
    writeFileSync(path.join(sub, 'grid.yaml'), grid('  path: d.csv\n  validation: { fraction: 0.34 }'));
    const run = await runCli(['validate', path.join(sub, 'grid.yaml')], env, 60_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/dataset file from .*d\.csv: 4 training and 2 validation points, 2 features, 2 classes; SHA-256 [0-9a-f]{16}/);
  });
});
