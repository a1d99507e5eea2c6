import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { packData } from '../../activities/dataset-cache.js';
import { createSearchActivities, SEARCH_GRID_KEY } from '../../activities/search.js';
import type { SearchRoundInput } from '../../activities/contracts.js';
import { createReferenceEngine } from '../../core/engines/index.js';
import { expandGrid, parseGrid, resolveGrid } from '../../core/grid/index.js';
import { geometryOf, ladderOf, newCell, runSearch, type RoundRequest, type SearchGeometry } from '../../core/search/bracket.js';
import { cellIdOf, judgeRound, searchGridOf, searchSetupOf } from '../../core/search/round.js';
import { findThresholds, thresholdInputFromRecord, type ThresholdInput } from '../../core/thresholds.js';
import { resolveCriterion } from '../../core/thresholds/criterion.js';
import { paramCount } from '../../core/model.js';
import type { SearchCell, TrialRecord } from '../../core/types.js';
import { MANIFEST_KEY, THRESHOLDS_KEY } from '../../results/layout.js';
import { LocalStore } from '../../storage/local.js';
import { readLocation } from '../../storage/read-location.js';

/**
 * The search against synthetic result functions with a known threshold: seed s of width w fits (training accuracy
 * at the ceiling) when fits(w, s), else it stays at 0.5. The verdicts go through judgeRound, the activity's code.
 */
const LEVEL = 298 / 300;
const criterion = resolveCriterion({ metric: 'trainAcc', level: LEVEL });
const SEEDS = [0, 1, 2, 3, 4];
const SPEC = { factor: 4, rungs: 3, precision: 0.1, maxRounds: 20, maxTrials: undefined as number | undefined };
const P = (w: number) => paramCount(w, 3);
const idOf = (lr: number) => cellIdOf({ loss: 'ce', lr, period: null, amplitude: null }, criterion);

function record(w: number, seed: number, fits: (w: number, s: number) => boolean): ThresholdInput {
  const acc = fits(w, seed) ? LEVEL : 0.5;
  return { loss: 'ce', width: w, params: P(w), seed, lr: 1, period: null, amplitude: null, diverged: false, final: { trainAcc: acc, valAcc: acc, trainLoss: 1, trainLossStatic: 1, valLoss: 1 } };
}

function search(fits: (w: number, s: number) => boolean, g: SearchGeometry, spec = SPEC) {
  const trained: ThresholdInput[] = [];
  const asked: number[] = [];
  const cell = newCell(idOf(1), 'ce', { lr: 1 }, SEEDS.length);
  const out = runSearch([cell], spec, g, (requests: readonly RoundRequest[]) => {
    const recs = requests.flatMap((r) => r.widths.flatMap((w) => SEEDS.map((s) => record(w, s, fits))));
    asked.push(...requests.flatMap((r) => r.widths));
    trained.push(...recs);
    return judgeRound(recs, criterion, LEVEL);
  });
  return { cell: out.cells[0], rounds: out.rounds, trained, asked };
}

const any = geometryOf([2, 512], 'any', P);

describe('threshold search (pure)', () => {
  it('brackets a known threshold within the precision, never training a width twice', () => {
    // Seed thresholds 60, 70, 77, 90, 110: the median over 5 seeds fits from w = 77 on.
    const wStar = [60, 70, 77, 90, 110];
    const { cell, rounds, asked, trained } = search((w, s) => w >= wStar[s], any);
    expect(cell.outcome).toBe('resolved');
    expect(cell.lo!.width).toBeLessThan(77);
    expect(cell.hi!.width).toBeGreaterThanOrEqual(77);
    expect(cell.hi!.params / cell.lo!.params).toBeLessThanOrEqual(1.1);
    expect(new Set(asked).size).toBe(asked.length);
    expect(cell.trials).toBe(trained.length);
    expect(rounds[0].widths).toBe(3);
    expect(cell.nonMonotone).toBeNull();
    // findThresholds on the search's records puts P* in the same bracket (the same rule, on the widths trained).
    const t = findThresholds(trained, criterion, { bootstrap: 0 }).losses[0].threshold;
    expect(t.gridWidth).toBe(cell.hi!.width);
    expect(t.bracket!.below!.width).toBe(cell.lo!.width);
    // Far fewer trials than a dense grid over 2..512 at 10% resolution (58 widths).
    expect(cell.widths).toBeLessThanOrEqual(10);
  });

  it('agrees with the full grid on its own widths (listed), at a fraction of the trials', () => {
    const widths = [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512];
    const wStar = [40, 60, 70, 100, 300];
    const fits = (w: number, s: number) => w >= wStar[s];
    const { cell, trained } = search(fits, geometryOf(widths, 'listed', P));
    const grid = widths.flatMap((w) => SEEDS.map((s) => record(w, s, fits)));
    const full = findThresholds(grid, criterion, { bootstrap: 0 }).losses[0].threshold;
    const mine = findThresholds(trained, criterion, { bootstrap: 0 }).losses[0].threshold;
    expect(cell.outcome).toBe('resolved');
    expect(mine.params).toBe(full.params);
    expect(mine.gridWidth).toBe(96);
    expect(trained.length).toBeLessThanOrEqual(grid.length / 3);
    expect(trained.every((r) => widths.includes(r.width))).toBe(true);
  });

  it('reports a non-monotone criterion instead of hiding it', () => {
    // Fits at widths 20-40, not at 41-299, and from 300 on: the ladder (512, 128, 32) sees 32 fit and 128 fail.
    const { cell } = search((w) => (w >= 20 && w <= 40) || w >= 300, any);
    expect(cell.nonMonotone).toMatchObject({ metAt: { width: 32 }, lostAt: { width: 128 } });
    expect(cell.outcome).toBe('resolved');
    expect(cell.lo!.width).toBeLessThan(300);
    expect(cell.hi!.width).toBeGreaterThanOrEqual(300);
  });

  it('stops after the ladder when the largest width never reaches the level', () => {
    const { cell, rounds } = search(() => false, any);
    expect(cell.outcome).toBe('not-reached');
    expect(cell.hi).toBeNull();
    expect(cell.lo!.width).toBe(512);
    expect(rounds).toHaveLength(1);
  });

  it('walks the ladder down to the smallest width when every width meets (censored below)', () => {
    const { cell } = search(() => true, any);
    expect(ladderOf(any, 4)).toEqual([512, 128, 32, 8, 2]);
    expect(cell.outcome).toBe('below-range');
    expect(cell.hi!.width).toBe(2);
    expect(cell.lo).toBeNull();
  });

  it('respects maxTrials and maxRounds', () => {
    const fits = (w: number) => w >= 77;
    const budget = search(fits, any, { ...SPEC, maxTrials: 20 });
    expect(budget.cell.outcome).toBe('budget');
    expect(budget.cell.trials).toBeLessThanOrEqual(20);
    const rounds = search(fits, any, { ...SPEC, maxRounds: 2 });
    expect(rounds.cell.outcome).toBe('rounds');
    expect(rounds.rounds).toHaveLength(2);
  });

  it('searches cells independently', () => {
    const cells: SearchCell[] = [newCell(idOf(1), 'ce', { lr: 1 }, 1), newCell(idOf(0.5), 'ce', { lr: 0.5 }, 1)];
    const threshold: Record<number, number> = { 1: 50, 0.5: 200 };
    const out = runSearch(cells, SPEC, any, (requests) => {
      const recs = requests.flatMap((r) => {
        const lr = r.cellId === idOf(0.5) ? 0.5 : 1;
        return r.widths.map((w) => ({ ...record(w, 0, () => w >= threshold[lr]), lr }));
      });
      return judgeRound(recs, criterion, LEVEL);
    });
    const [a, b] = out.cells;
    expect([a.lo!.width < 50, a.hi!.width >= 50, b.lo!.width < 200, b.hi!.width >= 200]).toEqual([true, true, true, true]);
  });
});

describe('the search block of grid.yaml', () => {
  const grid = (search: string) => `training: { steps: 100 }\ngrid:\n  width: [2, 64]\n  lr: [1]\n  loss: [ce]\n  seed: [0]\nsearch: ${search}\n`;
  it('takes the shorthand and the block, and reports mistakes at their line', async () => {
    const { parseGrid, GridError } = await import('../../core/grid/index.js');
    expect(parseGrid(grid('threshold'), 'g.yaml').search).toMatchObject({ kind: 'threshold', factor: 4, rungs: 3, precision: 0.1, widths: 'any' });
    expect(parseGrid(grid('{ kind: threshold, widths: listed, maxTrials: 50 }'), 'g.yaml').search).toMatchObject({ widths: 'listed', maxTrials: 50 });
    expect(() => parseGrid(grid('thresold'), 'g.yaml')).toThrow(GridError);
    expect(() => parseGrid(grid('thresold'), 'g.yaml')).toThrow(/g\.yaml:7:\d+ search/);
    expect(() => parseGrid(grid('{ kind: threshold, factor: 1 }'), 'g.yaml')).toThrow(/g\.yaml:7:\d+ search\.factor/);
  });
});

/**
 * A search on a file dataset (CSV, 3 features, 2 classes: the sign of x1 x2, an XOR, with x3 as noise), through its
 * activities on a local store, trained in-process by the reference engine, against the full grid on the same data.
 */
describe('the search on a file dataset', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynsweep-search-file-'));
  let state = 1;
  const uniform = () => ((state = (state * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const rows = Array.from({ length: 80 }, () => [uniform(), uniform(), uniform()]);
  writeFileSync(path.join(dir, 'xor.csv'), ['x1,x2,x3,label', ...rows.map(([a, b, c]) => `${a.toFixed(4)},${b.toFixed(4)},${c.toFixed(4)},${a * b > 0 ? 'p' : 'n'}`)].join('\n'));
  const gridFile = path.join(dir, 'g.yaml');
  const gridYaml = (search: string) => `dataset:
  kind: file
  path: xor.csv
  validation: { fraction: 0.25 }
training:
  steps: 300
  evalEvery: 50
  sharpnessEvery: 0
grid:
  width: [1, 2, 3, 4, 6, 8, 12, 16]
  lr: [1]
  loss: [ce]
  seed: [0, 1, 2]
threshold: { level: 0.95, bootstrap: 0 }
engine: reference
${search}`;
  const engine = createReferenceEngine();
  const runner = { run: async (pack: Parameters<typeof engine.trainPack>[0]) => engine.trainPack(pack, { data: await packData(pack.trials[0].config.dataset) }) };

  it('reads the data once at planning, counts P with its input dimension, and finds the full grid\'s P*', { timeout: 60_000 }, async () => {
    const yaml = gridYaml('search: { kind: threshold, widths: listed }\n');
    const resolved = await resolveGrid(parseGrid(yaml, gridFile), yaml, gridFile, readLocation);
    const setup = searchSetupOf(searchGridOf(resolved));
    expect(setup.geometry.paramsOf(6)).toBe(paramCount(6, 2, 3)); // (3 + 1) 6 + (6 + 1) 2 = 38, not the spirals' 6w + 3
    expect(setup.level).toBe(0.95);

    const store = new LocalStore(path.join(dir, 'search'), { fsync: false });
    const search = createSearchActivities({ openStore: () => store });
    const sweep = createActivities({ openStore: () => store, runner: { run: (pack) => runner.run(pack) } });
    const env = new MockActivityEnvironment();
    const plan = await env.run(search.planSearch, { resultsUri: store.uri, sweepId: 's', gridYaml: yaml, gridFile });
    expect(JSON.parse((await store.getText(SEARCH_GRID_KEY))!)).toMatchObject({ inputDim: 3, ceilings: { trainAcc: resolved.ceilings.trainAcc } });

    // The workflow's loop (workflows/search.ts), without Temporal.
    let round: SearchRoundInput = { resultsUri: store.uri, sweepId: 's', gridHash: plan.gridHash, round: 1, cells: plan.cells, packOffset: 0, previous: null };
    const rounds = [];
    let trialSteps = 0;
    for (;;) {
      const r = await env.run(search.searchRound, round);
      trialSteps += r.judgedTrialSteps;
      if (r.cellsSearched === 0) {
        round = { ...round, cells: r.cells };
        break;
      }
      rounds.push({ round: round.round, cells: r.cellsSearched, widths: r.widths, trials: r.trials });
      for (let i = 0; i < r.packCount; i++) await env.run(sweep.trainPack, { resultsUri: store.uri, sweepId: 's', packIndex: round.packOffset + i, gridHash: plan.gridHash });
      const toPack = round.packOffset + r.packCount;
      round = { ...round, round: round.round + 1, cells: r.cells, packOffset: toPack, previous: { requests: r.requests, fromPack: round.packOffset, toPack } };
    }
    const finish = { resultsUri: store.uri, sweepId: 's', name: plan.name, gridHash: plan.gridHash, rounds, cells: round.cells, trialSteps, packCount: round.packOffset };
    await env.run(search.finishSearch, finish);
    await env.run(sweep.finalizeSweep, { resultsUri: store.uri, sweepId: 's', gridHash: plan.gridHash, failures: [], cancelled: false });
    await env.run(search.annotateSearch, finish);

    const [cell] = round.cells;
    expect(cell.outcome).toBe('resolved');
    const manifest = JSON.parse((await store.getText(MANIFEST_KEY))!) as { dataset: { kind: string }; achievable: { trainAcc: number } };
    expect(manifest.dataset.kind).toBe('file');
    expect(manifest.achievable.trainAcc).toBe(resolved.ceilings.trainAcc);

    // The search's trials are the full grid's own (same ids), and the full grid on the same data has the same P*.
    const fullGrid = expandGrid(resolved.spec);
    const records = (await store.list('trials/')).map((k) => JSON.parse(readFileSync(path.join(store.uri, k), 'utf8')) as TrialRecord);
    expect(records.every((r) => fullGrid.some((t) => t.id === r.trialId))).toBe(true);
    expect(records.length).toBe(cell.trials);
    expect(records.length).toBeLessThan(fullGrid.length);
    const full = await Promise.all([...new Set(fullGrid.map((t) => t.config.width))].map((w) => runner.run({ index: 0, width: w, trials: fullGrid.filter((t) => t.config.width === w) })));
    const fullInputs = full.flat().map((o) => thresholdInputFromRecord(o.record));
    const gridP = findThresholds(fullInputs, setup.criterion, { bootstrap: 0 }).losses[0].threshold.params;
    const thresholds = JSON.parse((await store.getText(THRESHOLDS_KEY))!) as { losses: { threshold: { params: number } }[]; search: { trialSteps: number } };
    expect(gridP).not.toBeNull();
    expect(thresholds.losses[0].threshold.params).toBe(gridP);
    expect(thresholds.search.trialSteps).toBe(records.length * 300);
  });
});
