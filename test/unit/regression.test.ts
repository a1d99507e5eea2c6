import { describe, expect, it } from 'vitest';
import {
  cellKey,
  cellStats,
  compareRuns,
  thresholdPointsOf,
  verdictHeadline,
  type CellRow,
  type RunStats,
  type ThresholdPoint,
} from '../../core/regression.js';
import type { LossName } from '../../core/types.js';

function row(loss: LossName, width: number, seed: number, valAcc: number, trainAcc = valAcc, extra: Partial<CellRow> = {}): CellRow {
  const dyn = loss !== 'ce' && loss !== 'mse';
  return { loss, width, lr: 0.5, period: dyn ? 40 : null, amplitude: dyn ? 3 : null, seed, diverged: false, valAcc, trainAcc, ...extra };
}

const reached = (params: number, lower: number | null, upper: number | null): ThresholdPoint => ({ reached: true, params, ci: { lower, upper } });

function run(rows: CellRow[], thresholds: Record<string, ThresholdPoint> = {}, extra: Partial<RunStats> = {}): RunStats {
  return { sweepId: 'r', gridHash: 'h', cells: cellStats(rows), thresholds, failedTrials: 0, ...extra };
}

describe('cell statistics', () => {
  it('groups seeds by (loss, width, lr, T, A), sorts cells and seeds, and counts diverged trials as 0', () => {
    const cells = cellStats([
      row('dce', 8, 1, 0.8),
      row('ce', 8, 1, 0.7),
      row('ce', 4, 0, 0.5),
      row('ce', 8, 0, 0.6),
      row('dce', 8, 0, 0.9, 0.95, { diverged: true }),
      row('ce', 8, 2, Number.NaN, null as never),
    ]);
    expect(cells.map((c) => c.key)).toEqual([
      cellKey({ loss: 'ce', width: 4, lr: 0.5, period: null, amplitude: null }),
      cellKey({ loss: 'ce', width: 8, lr: 0.5, period: null, amplitude: null }),
      cellKey({ loss: 'dce', width: 8, lr: 0.5, period: 40, amplitude: 3 }),
    ]);
    expect(cells[1]).toMatchObject({ seeds: [0, 1, 2], values: { valAcc: [0.6, 0.7, 0], trainAcc: [0.6, 0.7, 0] }, diverged: 0 });
    expect(cells[2]).toMatchObject({ seeds: [0, 1], diverged: 1, values: { valAcc: [0, 0.8], trainAcc: [0, 0.8] } });
  });
});

describe('compareRuns', () => {
  const base = run(
    [row('ce', 4, 0, 0.6), row('ce', 4, 1, 0.7), row('ce', 4, 2, 0.65), row('dce', 4, 0, 0.8), row('dce', 4, 1, 0.84), row('dce', 4, 2, 0.82)],
    { ce: reached(100, 80, 120), dce: reached(60, 50, 70) },
    { sweepId: 'base' },
  );

  it('an identical run passes, with every cell and threshold unchanged', () => {
    const r = compareRuns(base, { ...base, sweepId: 'cand' });
    expect(r.verdict).toBe('pass');
    expect(r.regressions).toEqual([]);
    expect(r.counts).toMatchObject({ cellsCompared: 2, cellsRegressed: 0, lossesCompared: 2, thresholdsRegressed: 0 });
    expect(r.cells.every((c) => c.change === 'unchanged')).toBe(true);
    expect(r.gridChanged).toBe(false);
  });

  it('a cell median below the baseline seed range minus the tolerance is a regression; inside the band it is not', () => {
    // ce band: [0.6 - 0.02, 0.7 + 0.02] = [0.58, 0.72].
    const inside = compareRuns(base, run([row('ce', 4, 0, 0.59), row('ce', 4, 1, 0.6), row('ce', 4, 2, 0.7)]));
    expect(inside.verdict).toBe('pass');
    const below = compareRuns(base, run([row('ce', 4, 0, 0.5), row('ce', 4, 1, 0.57), row('ce', 4, 2, 0.9)]));
    expect(below.verdict).toBe('regressed');
    expect(below.cells[0]).toMatchObject({ label: 'ce w=4 lr=0.5', change: 'regressed' });
    const m = below.cells[0].metrics.find((x) => x.metric === 'valAcc')!;
    expect(m.median).toBeCloseTo(0.57);
    expect(m.band[0]).toBeCloseTo(0.58);
    expect(m.band[1]).toBeCloseTo(0.72);
    expect(m.delta).toBeCloseTo(0.57 - 0.65);
    expect(below.regressions[0]).toMatch(/^ce w=4 lr=0\.5: valAcc 0\.570 below \[0\.580, 0\.720\]/);
    // A wider tolerance absorbs it.
    expect(compareRuns(base, run([row('ce', 4, 0, 0.5), row('ce', 4, 1, 0.57), row('ce', 4, 2, 0.9)]), { metricTolerance: 0.05 }).verdict).toBe('pass');
  });

  it('an improvement above the band is reported but passes', () => {
    const r = compareRuns(base, run([row('dce', 4, 0, 0.95), row('dce', 4, 1, 0.96), row('dce', 4, 2, 0.97)]));
    expect(r.verdict).toBe('pass');
    expect(r.cells[0].change).toBe('improved');
    expect(r.improvements).toHaveLength(2);
  });

  it('seeds that diverge count as 0 and regress the cell, and the line says so', () => {
    const r = compareRuns(base, run([row('dce', 4, 0, 0.8, 0.8, { diverged: true }), row('dce', 4, 1, 0.84, 0.84, { diverged: true }), row('dce', 4, 2, 0.82)]));
    expect(r.verdict).toBe('regressed');
    expect(r.cells[0]).toMatchObject({ change: 'regressed', diverged: 2, baselineDiverged: 0 });
    expect(r.regressions[0]).toContain('dce w=4 lr=0.5 T=40 A=3: valAcc 0.000');
    expect(r.regressions[0]).toContain('2/3 seeds diverged');
  });

  it('threshold shifts: beyond the baseline interval regress, inside do not, open intervals absorb not-reached', () => {
    const rows = base.cells.flatMap((c) => c.seeds.map((s, i) => row(c.loss, c.width, s, c.values.valAcc[i])));
    const judge = (ce: ThresholdPoint) => compareRuns(base, run(rows, { ce }));
    expect(judge(reached(120, 100, 130)).verdict).toBe('pass');
    const up = judge(reached(121, 110, 140));
    expect(up.verdict).toBe('regressed');
    expect(up.thresholds[0]).toMatchObject({ loss: 'ce', change: 'regressed', params: 121, baselineParams: 100, band: [80, 120] });
    expect(up.regressions).toEqual([expect.stringMatching(/^ce threshold P\* 121 above the baseline interval \[80, 120\]/)]);
    expect(judge({ reached: false, params: null, ci: null }).thresholds[0]).toMatchObject({ change: 'regressed', params: null, ratio: null });
    expect(judge(reached(79, 70, 90)).thresholds[0]).toMatchObject({ change: 'improved', ratio: 0.79 });
    // A relative tolerance widens the interval.
    expect(compareRuns(base, run(rows, { ce: reached(125, 0, 0) }), { thresholdTolerance: 0.05 }).verdict).toBe('pass');

    const open = run(rows, { ce: reached(100, 80, null) });
    expect(compareRuns(open, run(rows, { ce: { reached: false, params: null, ci: null } })).verdict).toBe('pass');
    // Without bootstrap the interval is the point itself.
    const point = run(rows, { ce: { reached: true, params: 100, ci: null } });
    expect(compareRuns(point, run(rows, { ce: reached(100.5, 0, 0) })).verdict).toBe('regressed');
    expect(compareRuns(point, run(rows, { ce: reached(100, 0, 0) })).verdict).toBe('pass');
    // Neither reached: unchanged.
    const never = run(rows, { ce: { reached: false, params: null, ci: { lower: null, upper: null } } });
    expect(compareRuns(never, never).thresholds[0].change).toBe('unchanged');
  });

  it('without a baseline, or with nothing in common, the run is a (new) baseline', () => {
    expect(compareRuns(null, base)).toMatchObject({ verdict: 'baseline', regressions: [] });
    const other = run([row('mse', 16, 0, 0.5)], { mse: reached(10, 9, 11) }, { gridHash: 'other' });
    const r = compareRuns(base, other);
    expect(r).toMatchObject({ verdict: 'baseline', gridChanged: true });
    expect(r.notes.join('\n')).toMatch(/starts a new baseline/);
    expect(r.missingCells).toEqual(['ce w=4 lr=0.5', 'dce w=4 lr=0.5 T=40 A=3']);
    expect(r.newCells).toEqual(['mse w=16 lr=0.5']);
  });

  it('failed trials are a regression', () => {
    const r = compareRuns(base, { ...base, failedTrials: 2 });
    expect(r.verdict).toBe('regressed');
    expect(r.regressions).toEqual(['2 trial(s) of the run failed']);
    expect(compareRuns(null, { ...base, failedTrials: 1 }).verdict).toBe('regressed');
  });

  it('headlines', () => {
    const r = compareRuns(base, run([row('ce', 4, 0, 0.1)], { ce: reached(200, 190, 210) }));
    expect(verdictHeadline({ ...r, baseline: { sweepId: 'base', resultsUri: '/x', source: 'last-good' } })).toBe(
      'REGRESSED vs base: 1 cell(s), 1 threshold(s)',
    );
    expect(verdictHeadline({ ...compareRuns(base, base), baseline: null })).toMatch(/^pass: 2 cells, 2 thresholds/);
  });

  it('reads thresholds.json headlines', () => {
    const pts = thresholdPointsOf({
      losses: [
        { loss: 'ce', threshold: { reached: true, params: 51, ci: { lower: 40, upper: null, confidence: 0.95, replicates: 10, notReached: 3 } } },
        { loss: 'dce', threshold: { reached: false, params: null, ci: null } },
      ] as never,
    });
    expect(pts).toEqual({ ce: { reached: true, params: 51, ci: { lower: 40, upper: null } }, dce: { reached: false, params: null, ci: null } });
  });
});
