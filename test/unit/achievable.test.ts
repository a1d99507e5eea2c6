/**
 * The best accuracy any classifier can reach on a data set (core/data.ts accuracyCeiling), the option that drops
 * coinciding points (dataset.coincident: drop), and the grid check of threshold.level against them.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { achievableOf, writePlan } from '../../results/manifest.js';
import { GRID_KEY, MANIFEST_KEY, recordKey } from '../../results/layout.js';
import { loadResults } from '../../report/load.js';
import { LocalStore } from '../../storage/local.js';
import { syntheticRecords } from './report-fixtures.js';
import { trialConfig } from './science-helpers.js';
import { accuracyCeiling, datasetCeilings, defaultDatasetSpec, dropConflicting, makeSpirals } from '../../core/data.js';
import { createRng } from '../../core/prng.js';
import { checkLevelAgainstData, datasetOf, expandGrid, levelAboveCeiling, parseGrid } from '../../core/grid/index.js';

/** Same input: every coordinate equal by === (so -0 equals 0), compared pairwise, no keys. */
function sameInput(x: ArrayLike<number>, d: number, a: number, b: number): boolean {
  for (let k = 0; k < d; k++) if (x[a * d + k] !== x[b * d + k]) return false;
  return true;
}

/** Oracle: try every labelling of the distinct inputs (a classifier is a function of the input), keep the best. */
function bruteForce(x: ArrayLike<number>, y: ArrayLike<number>, d: number, C: number) {
  const n = y.length;
  const rep: number[] = []; // distinct input of each point
  const reps: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = reps.findIndex((j) => sameInput(x, d, i, j));
    if (r >= 0) rep.push(r);
    else rep.push(reps.push(i) - 1);
  }
  let best = 0;
  const labelling = new Array<number>(reps.length).fill(0);
  for (let code = 0; code < C ** reps.length; code++) {
    for (let g = 0, c = code; g < reps.length; g++, c = Math.floor(c / C)) labelling[g] = c % C;
    let correct = 0;
    for (let i = 0; i < n; i++) if (labelling[rep[i]] === y[i]) correct++;
    best = Math.max(best, correct);
  }
  const conflicting = [...Array(n).keys()].filter((i) => [...Array(n).keys()].some((j) => sameInput(x, d, i, j) && y[j] !== y[i]));
  const groups = new Set(conflicting.map((i) => rep[i])).size;
  return { correct: best, conflicting, groups };
}

/** Small random sets with planted duplicates: coordinates from a pool of a few values (0 and -0 among them). */
function randomSet(seed: number) {
  const rng = createRng(seed, 'achievable-test');
  const int = (k: number) => Math.floor(rng.next() * k);
  const d = 1 + int(3);
  const C = 2 + int(2);
  const n = 1 + int(7);
  const pool = [0, -0, 1.5, -2.25, rng.normal(), 1e-300];
  const x = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (i > 0 && rng.next() < 0.4) x.copyWithin(i * d, int(i) * d, int(i) * d + d); // a planted duplicate
    else for (let k = 0; k < d; k++) x[i * d + k] = pool[int(pool.length)];
    y[i] = int(C);
  }
  return { x, y, n, d, C };
}

describe('accuracyCeiling', () => {
  it('agrees with a brute-force oracle on 400 small random sets with planted duplicates', () => {
    let below = 0;
    for (let s = 0; s < 400; s++) {
      const { x, y, n, d, C } = randomSet(s);
      const oracle = bruteForce(x, y, d, C);
      const got = accuracyCeiling(x, y, d);
      expect(got, `set ${s}`).toEqual({
        accuracy: oracle.correct / n,
        correct: oracle.correct,
        points: n,
        conflictingGroups: oracle.groups,
        conflictingPoints: oracle.conflicting.length,
      });
      if (got.correct < n) below++;
    }
    expect(below).toBeGreaterThan(50); // the sets do exercise conflicts
  });

  it('treats -0 as 0, rejects NaN, and needs points', () => {
    expect(accuracyCeiling([0, -0, -0, 0], [0, 1], 2)).toMatchObject({ correct: 1, conflictingGroups: 1, conflictingPoints: 2 });
    expect(accuracyCeiling([0, 1, 1, 0], [0, 1], 2)).toMatchObject({ accuracy: 1, conflictingPoints: 0 });
    expect(() => accuracyCeiling([0, NaN], [0], 2)).toThrow(/NaN/);
    expect(() => accuracyCeiling([], [], 2)).toThrow(RangeError);
    expect(() => accuracyCeiling([0, 1, 2], [0, 1], 2)).toThrow(RangeError);
  });

  it('is 298/300 on the default spirals, training and validation: the three arms meet at the origin', () => {
    const spec = defaultDatasetSpec();
    for (const split of ['train', 'validation'] as const) {
      const data = makeSpirals(spec, split);
      expect(accuracyCeiling(data.x, data.y, data.d)).toEqual({ accuracy: 298 / 300, correct: 298, points: 300, conflictingGroups: 1, conflictingPoints: 3 });
    }
    const c = datasetCeilings(spec);
    expect([c.trainAcc, c.valAcc]).toEqual([298 / 300, 298 / 300]);
    expect(datasetCeilings(defaultDatasetSpec({ classes: 5, pointsPerClass: 20 })).train).toMatchObject({ correct: 96, points: 100 });
  });
});

describe('coincident: drop', () => {
  it('removes exactly the points that share an input with a point of another label (oracle), keeping order', () => {
    for (let s = 0; s < 200; s++) {
      const { x, y, n, d, C } = randomSet(s);
      const { conflicting } = bruteForce(x, y, d, C);
      const kept = [...Array(n).keys()].filter((i) => !conflicting.includes(i));
      const out = dropConflicting({ x, y, n, d, classes: C });
      expect(out.n).toBe(kept.length);
      expect(Array.from(out.y)).toEqual(kept.map((i) => y[i]));
      expect(Array.from(out.x)).toEqual(kept.flatMap((i) => Array.from(x.subarray(i * d, i * d + d))));
      if (out.n > 0) expect(accuracyCeiling(out.x, out.y, d).accuracy).toBe(1);
    }
  });

  it('drops the three origin points of the default spirals from both sets, ceiling 1, the rest unchanged', () => {
    const keep = defaultDatasetSpec();
    const drop = defaultDatasetSpec({ coincident: 'drop' });
    for (const split of ['train', 'validation'] as const) {
      const a = makeSpirals(keep, split);
      const b = makeSpirals(drop, split);
      const kept = [...Array(300).keys()].filter((i) => i % 100 !== 0);
      expect(b.n).toBe(297);
      expect(Array.from(b.y)).toEqual(kept.map((i) => a.y[i]));
      expect(Array.from(b.x)).toEqual(kept.flatMap((i) => [a.x[2 * i], a.x[2 * i + 1]]));
      expect(accuracyCeiling(b.x, b.y)).toMatchObject({ accuracy: 1, conflictingPoints: 0 });
    }
    expect(makeSpirals(defaultDatasetSpec({ coincident: 'keep' }), 'train')).toEqual(makeSpirals(keep, 'train'));
  });

  it('is part of the trial ids only when it changes the data', () => {
    const grid = (extra: string) => `training:\n  steps: 10\ndataset:\n  seed: 0\n${extra}grid:\n  width: [2]\n  lr: [0.5]\n  loss: [ce]\n  seed: [0]\n`;
    const ids = (extra: string) => expandGrid(parseGrid(grid(extra), 'g.yaml')).map((t) => t.id);
    expect(ids('  coincident: keep\n')).toEqual(ids(''));
    expect(ids('  coincident: drop\n')).not.toEqual(ids(''));
    expect(datasetOf(parseGrid(grid(''), 'g.yaml'))).not.toHaveProperty('coincident');
    expect(datasetOf(parseGrid(grid('  coincident: drop\n'), 'g.yaml')).coincident).toBe('drop');
  });
});

describe('threshold.level against the data', () => {
  const grid = (threshold: string, dataset = '') =>
    `training:\n  steps: 10\n${dataset}grid:\n  width: [2]\n  lr: [0.5]\n  loss: [ce]\n  seed: [0]\nthreshold:\n${threshold}`;

  it('explains a level above the ceiling of the training or validation set; accepts those at or below it', () => {
    const spec = (t: string, d = '') => parseGrid(grid(t, d), 'g.yaml');
    expect(levelAboveCeiling(spec('  level: 1\n'))).toBe(
      "1 is above the best accuracy any classifier can reach on this training set (298/300 = 0.99333: 3 points at coinciding inputs with different labels); use 'achievable' or a level <= 0.99333",
    );
    expect(levelAboveCeiling(spec('  metric: valAcc\n  level: 0.995\n'))).toMatch(/^0\.995 is above .* on this validation set \(298\/300 = 0\.99333/);
    expect(levelAboveCeiling(spec('  level: 0.99333\n'))).toBeNull();
    expect(levelAboveCeiling(spec(`  level: ${298 / 300}\n`))).toBeNull();
    expect(levelAboveCeiling(spec('  level: achievable\n'))).toBeNull();
    expect(levelAboveCeiling(spec('  metric: trainLoss\n  level: 5\n'))).toBeNull();
    expect(levelAboveCeiling(spec('  level: 1\n', 'dataset:\n  coincident: drop\n'))).toBeNull();
    expect(levelAboveCeiling(spec('  level: 1\n', 'dataset:\n  pointsPerClass: 20\n'))).toMatch(/\(58\/60 = 0\.96666: 3 points/);
    const text = grid('  metric: trainAcc\n  level: 1\n');
    expect(() => checkLevelAgainstData(parseGrid(text, 'g.yaml'), text, 'g.yaml')).toThrow(/^g\.yaml:10:3 threshold\.level: 1 is above the best/);
    const fine = grid('  level: 0.99\n');
    expect(() => checkLevelAgainstData(parseGrid(fine, 'g.yaml'), fine, 'g.yaml')).not.toThrow();
  });
});

describe('the ceilings travel with the dataset to the thresholds', () => {
  const gridYaml = 'training:\n  steps: 10\ngrid:\n  width: [2, 4]\n  lr: [0.5]\n  loss: [ce]\n  seed: [0, 1]\n';

  const plan = async (text: string) =>
    (await writePlan(new LocalStore(mkdtempSync(path.join(os.tmpdir(), 'dynsweep-achievable-')), { fsync: false }), { sweepId: 's', gridYaml: text, gridFile: 'grid.yaml' })).manifest;

  it('manifest.json records both ceilings; achievableOf reads them, or recomputes them from records', async () => {
    const manifest = await plan(gridYaml);
    expect(manifest.achievable).toEqual(datasetCeilings(defaultDatasetSpec()));
    expect(manifest.achievable).toMatchObject({ trainAcc: 298 / 300, train: { correct: 298, points: 300, conflictingGroups: 1, conflictingPoints: 3 } });
    const option = { trainAcc: 298 / 300, valAcc: 298 / 300 };
    expect(achievableOf(manifest)).toEqual(option);
    expect(achievableOf({ ...manifest, achievable: { ...manifest.achievable, valAcc: 0.5 } })).toEqual({ ...option, valAcc: 0.5 }); // recorded: used as is
    expect(achievableOf(null, [{ config: { ...trialConfig(), dataset: manifest.dataset } }])).toEqual(option);
    expect(achievableOf(null, [])).toBeUndefined();
    const dropped = await plan(gridYaml.replace('grid:', 'dataset:\n  coincident: drop\ngrid:'));
    expect(achievableOf(dropped)).toEqual({ trainAcc: 1, valAcc: 1 });
  });

  it("loadResults resolves level 'achievable' with them: a median at 58/60 fits the 60-point spirals", async () => {
    const store = new LocalStore(mkdtempSync(path.join(os.tmpdir(), 'dynsweep-achievable-')), { fsync: false });
    // syntheticRecords train on 20 points per arm: ceiling 58/60; the widest network reaches it, no width reaches 1.
    const records = syntheticRecords({ losses: ['ce'], lrs: [0.5], widths: [2, 4, 8], seeds: [0, 1, 2] });
    for (const r of records) r.final.trainAcc = r.config.width === 8 ? 58 / 60 : 0.5;
    // A manifest of the first layout (every trial inline) from before the ceilings were recorded: they are
    // recomputed from the trials' dataset, and the trials are read from the inline packs.
    const trials = records.map((r) => ({ id: r.trialId, config: r.config }));
    const manifest = { schema: 'dynsweep.manifest/1', sweepId: 's', name: 's', gridHash: 'h', trials, packs: [{ index: 0, width: 2, trialIds: trials.map((t) => t.id) }] };
    await store.put(GRID_KEY, gridYaml, 'application/yaml');
    await store.put(MANIFEST_KEY, JSON.stringify(manifest), 'application/json');
    for (const r of records) await store.put(recordKey(r.trialId), JSON.stringify(r), 'application/json');
    const { thresholds } = await loadResults(store);
    expect(thresholds?.achievable).toEqual({ trainAcc: 58 / 60, valAcc: 58 / 60 });
    expect(thresholds?.losses[0].threshold.reached).toBe(true);
    expect(thresholds?.losses[0].threshold.gridWidth).toBe(8);
  });
});
