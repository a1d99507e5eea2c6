import { describe, expect, it } from 'vitest';
import { geometryOf, ladderOf, newCell, runSearch, type RoundRequest, type SearchGeometry } from '../../core/search/bracket.js';
import { cellIdOf, judgeRound } from '../../core/search/round.js';
import { findThresholds, type ThresholdInput } from '../../core/thresholds.js';
import { resolveCriterion } from '../../core/thresholds/criterion.js';
import { paramCount } from '../../core/model.js';
import type { SearchCell } from '../../core/types.js';

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
