import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { GridError, expandGrid, parseGrid, resolveGrid } from '../../core/grid/index.js';
import { loadTabular } from '../../core/datasets/load.js';
import { readNpy, readNpz } from '../../core/datasets/npy.js';
import { readLocation } from '../../storage/read-location.js';
import type { TabularDatasetSpec } from '../../core/types.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-datasets-'));
const write = (name: string, text: string | Uint8Array) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};
const grid = (dataset: string, extra = '') => `dataset:
${dataset}
training:
  steps: 20
grid:
  width: [4]
  lr: [0.5]
  loss: [ce, dce]
  period: [5]
  amplitude: [3]
  seed: [0, 1]
${extra}`;
const resolve = (text: string, file = path.join(dir, 'g.yaml')) => resolveGrid(parseGrid(text, file), text, file, readLocation);

/** 12 rows: 4 per class of labels b, a, c (file order), features x1, x2. */
const csv = ['x1,x2,label', ...Array.from({ length: 12 }, (_, i) => `${i},${2 * i + 1},${'bac'[i % 3]}`)].join('\n');

describe('file datasets', () => {
  it('CSV: labels mapped in string order, features all but the label, a stratified seeded split, file order kept', async () => {
    write('a.csv', csv);
    const r = await resolve(grid('  kind: file\n  path: a.csv\n  validation: { fraction: 0.25, seed: 3 }'));
    expect(r.dataset).toMatchObject({ kind: 'file', format: 'csv', label: 'label', classNames: ['a', 'b', 'c'], classes: 3, split: { fraction: 0.25, seed: 3 } });
    const { train, validation } = r.data!;
    expect([train.n, validation.n, train.d]).toEqual([9, 3, 2]);
    // one validation row per class (round(0.25 * 4)), and every row exactly once
    expect([...validation.y].sort()).toEqual([0, 1, 2]);
    const x1 = [...Array.from({ length: train.n }, (_, i) => train.x[2 * i]), ...Array.from({ length: validation.n }, (_, i) => validation.x[2 * i])];
    expect(x1.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const trainX1 = Array.from({ length: train.n }, (_, i) => train.x[2 * i]);
    expect(trainX1).toEqual([...trainX1].sort((a, b) => a - b));
    // row i has label 'bac'[i % 3] -> class index
    for (let mu = 0; mu < train.n; mu++) expect(train.y[mu]).toBe('abc'.indexOf('bac'[train.x[2 * mu] % 3]));
    // a different split seed draws other rows
    const other = await resolve(grid('  kind: file\n  path: a.csv\n  validation: { fraction: 0.25, seed: 4 }'));
    expect(Array.from(other.data!.validation.x)).not.toEqual(Array.from(validation.x));
  });

  it('class order and subset as stated, per-class limits, standardisation fitted on the training part only', async () => {
    write('a.csv', csv);
    const r = await resolve(grid('  kind: file\n  path: a.csv\n  classes: [c, b]\n  pointsPerClass: 2\n  standardize: true\n  validation: { fraction: 0.25 }'));
    expect(r.dataset.kind === 'file' && r.dataset.classNames).toEqual(['c', 'b']);
    const { train, validation } = r.data!;
    expect(train.n).toBe(4);
    expect([...train.y].filter((c) => c === 0)).toHaveLength(2);
    for (let k = 0; k < 2; k++) {
      const col = Array.from({ length: train.n }, (_, i) => train.x[2 * i + k]);
      const mean = col.reduce((a, b) => a + b) / col.length;
      const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
      expect(mean).toBeCloseTo(0, 12);
      expect(sd).toBeCloseTo(1, 12);
    }
    // the validation points are transformed with the training mean and sd, so they are not themselves standardised
    const v = Array.from({ length: validation.n }, (_, i) => validation.x[2 * i]);
    expect(Math.abs(v.reduce((a, b) => a + b) / v.length)).toBeGreaterThan(1e-6);
  });

  it('trial ids depend on the content, not on where the file lies; the grid hash follows the content', async () => {
    write('a.csv', csv);
    write('copy.csv', csv);
    const ids = async (file: string) => expandGrid((await resolve(grid(`  kind: file\n  path: ${file}`))).spec).map((t) => t.id);
    const a = await ids('a.csv');
    expect(await ids('copy.csv')).toEqual(a);
    write('changed.csv', csv.replace('0,1,b', '0,1.5,b'));
    const changed = await ids('changed.csv');
    expect(changed.filter((id) => a.includes(id))).toEqual([]);
    const r = await resolve(grid('  kind: file\n  path: a.csv'));
    expect(r.spec.dataset).toMatchObject({ sha256: r.dataset.kind === 'file' ? r.dataset.contentHash.train : '', path: path.join(dir, 'a.csv') });
  });

  it('a worker verifies the content hash and refuses a changed file', async () => {
    const file = write('w.csv', csv);
    const r = await resolve(grid('  kind: file\n  path: w.csv'));
    const spec = r.dataset as TabularDatasetSpec;
    const again = await loadTabular(spec, readLocation);
    expect(Array.from(again.train.x)).toEqual(Array.from(r.data!.train.x));
    writeFileSync(file, `${csv}\n100,101,a`);
    await expect(loadTabular(spec, readLocation)).rejects.toThrow(/w\.csv: its content changed: SHA-256 [0-9a-f]{64}, but the sweep was planned with [0-9a-f]{64}/);
  });

  it('a pinned sha256 that does not match is refused at its key', async () => {
    write('a.csv', csv);
    const text = grid(`  kind: file\n  path: a.csv\n  sha256: ${'ab'.repeat(32)}`);
    await expect(resolve(text)).rejects.toThrow(/g\.yaml:4:3 dataset\.sha256: .*a\.csv: its SHA-256 is [0-9a-f]{64}, not the pinned (ab){32}/);
  });

  it('a validation file with the same columns; the ceiling counts identical inputs with different labels once', async () => {
    write('t.csv', 'x,label\n1,0\n1,1\n2,0\n3,1\n');
    write('v.csv', 'label,x\n0,1\n1,2\n');
    const r = await resolve(grid('  kind: file\n  path: t.csv\n  validation: { path: v.csv }'));
    expect(r.dataset).toMatchObject({ split: null, contentHash: { validation: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(r.data!.validation.n).toBe(2);
    expect(r.ceilings.train).toMatchObject({ correct: 3, points: 4, conflictingGroups: 1, conflictingPoints: 2 });
    expect(r.ceilings.trainAcc).toBe(0.75);
    await expect(resolve(grid('  kind: file\n  path: t.csv\n  validation: { path: v.csv }', 'threshold:\n  level: 0.8\n'))).rejects.toThrow(
      /threshold\.level: 0\.8 is above the best accuracy .* \(3\/4 = 0\.75/,
    );
  });

  it('.npy and .npz as numpy writes them (C and Fortran order, ints, floats, strings)', () => {
    const script = `
import numpy as np, sys
d = sys.argv[1]
x = np.arange(12, dtype='<f8').reshape(4, 3) / 4
np.save(d + '/c.npy', np.column_stack([x, [0, 1, 1, 0]]))
np.save(d + '/f.npy', np.asfortranarray(x.astype('>f4')))
np.savez_compressed(d + '/z.npz', x=x.astype(np.int16), y=np.array(['no', 'yes', 'yes', 'no']))
`;
    execFileSync('python3', ['-c', script, dir]);
    const c = readNpy(readFileSync(path.join(dir, 'c.npy')), 'c.npy');
    expect(c.columns).toEqual(['0', '1', '2', '3']);
    expect(c.values[1]).toEqual([0.25, 1, 1.75, 2.5]);
    expect(c.values[3]).toEqual([0, 1, 1, 0]);
    const f = readNpy(readFileSync(path.join(dir, 'f.npy')), 'f.npy');
    expect(f.values[2]).toEqual([0.5, 1.25, 2, 2.75]);
    const z = readNpz(readFileSync(path.join(dir, 'z.npz')), 'z.npz');
    expect(z.columns).toEqual(['x[0]', 'x[1]', 'x[2]', 'y']);
    expect(z.values[0]).toEqual([0, 0, 1, 2]);
    expect(z.values[3]).toEqual(['no', 'yes', 'yes', 'no']);
  });

  it('Parquet columns, with string labels', async () => {
    const bytes = parquetWriteBuffer({
      columnData: [
        { name: 'a', data: [1.5, 2.5, 3.5, 4.5], type: 'DOUBLE' },
        { name: 'b', data: [1, 2, 3, 4], type: 'INT32' },
        { name: 'label', data: ['x', 'y', 'x', 'y'], type: 'STRING' },
      ],
    });
    write('p.parquet', new Uint8Array(bytes));
    const r = await resolve(grid('  kind: file\n  path: p.parquet\n  validation: { fraction: 0.5 }'));
    expect(r.dataset).toMatchObject({ format: 'parquet', classNames: ['x', 'y'] });
    expect(r.data!.train.d).toBe(2);
    expect(r.data!.train.n + r.data!.validation.n).toBe(4);
  });
});

describe('digits', () => {
  it('the shipped 8x8 digits: 1,797 images, a class subset and per-class sizes', async () => {
    const all = await resolve(grid('  kind: digits'));
    expect(all.data!.train.d).toBe(64);
    expect(all.data!.train.n + all.data!.validation.n).toBe(1797);
    expect(all.dataset).toMatchObject({ kind: 'digits', classes: 10, classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
    const some = await resolve(grid('  kind: digits\n  classes: [3, 8]\n  pointsPerClass: 40\n  validationPointsPerClass: 10'));
    expect([some.data!.train.n, some.data!.validation.n]).toEqual([80, 20]);
    expect(new Set(some.data!.train.y)).toEqual(new Set([0, 1]));
    expect(Math.max(...some.data!.train.x)).toBeLessThanOrEqual(16);
  });
});

describe('grid errors for datasets', () => {
  it('unknown kind, a missing path, a validation with both a path and a fraction', async () => {
    const at = async (dataset: string) => {
      try {
        await resolve(grid(dataset));
      } catch (e) {
        expect(e).toBeInstanceOf(GridError);
        return (e as GridError).message;
      }
      throw new Error('expected a GridError');
    };
    expect(await at('  kind: csv\n  path: a.csv')).toMatch(/dataset\.kind: /);
    expect(await at('  kind: file')).toMatch(/dataset\.path: /);
    expect(await at('  kind: file\n  path: a.csv\n  validation: { path: v.csv, fraction: 0.2 }')).toMatch(/dataset\.validation: give either path .* or fraction/);
  });
});
