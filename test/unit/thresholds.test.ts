import { describe, expect, it } from 'vitest';

import {
  findThresholds,
  thresholdInputFromRecord,
  type ThresholdInput,
  type ThresholdReport,
} from '../../core/thresholds.js';
import { median } from '../../core/statistics.js';
import type { LossName, TrialRecord } from '../../core/types.js';

const P = (w: number): number => 6 * w + 3;

interface Spec {
  loss?: LossName;
  lr?: number;
  period?: number | null;
  amplitude?: number | null;
}

function trial(spec: Spec, width: number, seed: number, trainAcc: number, extra: Partial<ThresholdInput> & { valAcc?: number } = {}): ThresholdInput {
  const loss = spec.loss ?? 'ce';
  const dyn = loss !== 'ce' && loss !== 'mse';
  return {
    loss,
    width,
    params: P(width),
    seed,
    lr: spec.lr ?? 0.1,
    period: spec.period !== undefined ? spec.period : dyn ? 500 : null,
    amplitude: spec.amplitude !== undefined ? spec.amplitude : dyn ? 5 : null,
    diverged: extra.diverged ?? false,
    final: {
      trainAcc,
      valAcc: extra.valAcc ?? trainAcc * 0.9,
      trainLoss: 1 - trainAcc,
      trainLossStatic: 1 - trainAcc,
      valLoss: 1 - trainAcc,
    },
  };
}

/** Every seed gets the same accuracy at each width. */
function consistent(spec: Spec, accByWidth: Record<number, number>, seeds = 5): ThresholdInput[] {
  const out: ThresholdInput[] = [];
  for (const [w, a] of Object.entries(accByWidth)) for (let s = 0; s < seeds; s++) out.push(trial(spec, Number(w), s, a));
  return out;
}

/** Seed s fits (acc 1) from width firstFit[s] on, and has `below` accuracy under it. */
function byFirstFit(spec: Spec, widths: number[], firstFit: number[], below = 0.9): ThresholdInput[] {
  const out: ThresholdInput[] = [];
  for (const w of widths) firstFit.forEach((f, s) => out.push(trial(spec, w, s, w >= f ? 1 : below)));
  return out;
}

const lossOf = (rep: ThresholdReport, loss: LossName) => {
  const l = rep.losses.find((x) => x.loss === loss);
  if (!l) throw new Error(`no ${loss}`);
  return l;
};

const GRID = [2, 3, 4, 6, 8, 12, 16, 24, 32];
/** A fixed level of 1 (the default 'achievable' needs the data's ceiling). */
const LEVEL1 = { level: 1 } as const;

describe('helpers', () => {
  it('median (with +Infinity)', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([Infinity, Infinity, 1, 2])).toBe(Infinity);
    expect(() => median([])).toThrow();
  });

  it('thresholdInputFromRecord takes the fields it needs', () => {
    const r = {
      config: { loss: 'dce', width: 8, seed: 3, lr: 0.5, period: 500, amplitude: 20 },
      params: 51,
      diverged: false,
      final: { trainLoss: 0.1, trainLossStatic: 0.2, trainAcc: 0.97, valLoss: 0.3, valAcc: 0.9, sharpnessDynamic: 1, sharpnessStatic: 2 },
    } as unknown as TrialRecord;
    expect(thresholdInputFromRecord(r)).toEqual({
      loss: 'dce',
      width: 8,
      params: 51,
      seed: 3,
      lr: 0.5,
      period: 500,
      amplitude: 20,
      diverged: false,
      final: { trainAcc: 0.97, valAcc: 0.9, trainLoss: 0.1, trainLossStatic: 0.2, valLoss: 0.3 },
    });
  });
});

describe('point estimate', () => {
  it('hits a grid width exactly with the default criterion (median train acc = 1.0)', () => {
    const recs = consistent({}, { 2: 0.8, 4: 0.95, 8: 1, 16: 1 });
    const rep = findThresholds(recs, { level: 1 }, { bootstrap: 200 });
    const t = lossOf(rep, 'ce').threshold;
    expect(rep.criterion).toEqual({ metric: 'trainAcc', level: 1, direction: 'atLeast', aggregate: 'median', groupBy: ['lr', 'period', 'amplitude'] });
    expect(rep.level).toBe(1);
    expect(t.reached).toBe(true);
    expect(t.params).toBe(P(8));
    expect(t.width).toBe(8);
    expect(t.gridWidth).toBe(8);
    expect(t.gridParams).toBe(51);
    expect(t.censoredBelow).toBe(false);
    expect(t.nonMonotone).toBeNull();
    expect(t.bracket).toEqual({ below: { width: 4, params: 27, median: 0.95 }, atOrAbove: { width: 8, params: 51, median: 1 } });
  });

  it('interpolates linearly in log P between the last width below and the first at/above', () => {
    // medians: w2 -> 0.8, w4 -> 0.95; level 0.9 crosses between P = 15 and P = 27
    const recs = consistent({}, { 2: 0.8, 4: 0.95, 8: 1 });
    const rep = findThresholds(recs, { level: 0.9 }, { bootstrap: 0 });
    const t = lossOf(rep, 'ce').threshold;
    // independent: geometric interpolation P* = P_lo^(1-f) P_hi^f, f = (0.9 - 0.8)/(0.95 - 0.8) = 2/3
    const f = 2 / 3;
    const expected = Math.pow(15, 1 - f) * Math.pow(27, f);
    expect(t.params).toBeCloseTo(expected, 10);
    expect(t.params!).toBeGreaterThan(15);
    expect(t.params!).toBeLessThan(27);
    // width with P(w) = P* (P linear in w): w = (P* - 3)/6
    expect(t.width).toBeCloseTo((expected - 3) / 6, 10);
    expect(t.gridWidth).toBe(4);
    expect(t.ci).toBeNull();
  });

  it('a level met exactly at a grid width gives that width; the smallest width meeting it is censored below', () => {
    const recs = consistent({}, { 2: 0.8, 4: 0.95, 8: 1 });
    expect(lossOf(findThresholds(recs, { level: 0.95 }, { bootstrap: 0 }), 'ce').threshold.params).toBe(27);
    const low = lossOf(findThresholds(recs, { level: 0.5 }, { bootstrap: 0 }), 'ce').threshold;
    expect(low.params).toBe(15);
    expect(low.censoredBelow).toBe(true);
    expect(low.bracket!.below).toBeNull();
  });

  it('P* is where the level holds from that width on; a non-monotone curve is reported with both widths', () => {
    const recs = consistent({}, { 2: 0.8, 4: 1, 8: 0.98, 16: 1, 32: 1 });
    const t = lossOf(findThresholds(recs, { level: 1 }, { bootstrap: 0 }), 'ce').threshold;
    expect(t.params).toBe(P(16));
    expect(t.gridWidth).toBe(16);
    expect(t.bracket!.below).toEqual({ width: 8, params: P(8), median: 0.98 });
    expect(t.nonMonotone).toEqual({ firstMet: { width: 4, params: P(4), median: 1 }, lostAt: { width: 8, params: P(8), median: 0.98 } });
    // lost at the largest width: not reached, and still reported
    const lost = lossOf(findThresholds(consistent({}, { 2: 0.8, 4: 1, 8: 1, 16: 0.99 }), { level: 1 }, { bootstrap: 0 }), 'ce').threshold;
    expect(lost).toMatchObject({ reached: false, params: null, above: P(16) });
    expect(lost.nonMonotone).toMatchObject({ firstMet: { width: 4 }, lostAt: { width: 16 } });
  });

  it('says not reached when no width reaches the level', () => {
    const recs = consistent({}, { 2: 0.8, 4: 0.95, 8: 0.99, 16: 0.99 });
    const t = lossOf(findThresholds(recs, { level: 1 }, { bootstrap: 100 }), 'ce').threshold;
    expect(t).toMatchObject({ reached: false, params: null, width: null, gridWidth: null, bracket: null, nonMonotone: null, above: P(16) });
    // every replicate is censored at the grid's top: known only to lie above P(16)
    expect(t.ci).toEqual({ confidence: 0.95, replicates: 100, lower: expect.closeTo(P(16), 9), upper: null, censored: 100 });
  });

  it('uses the median over seeds (odd and even counts)', () => {
    const recs = [...consistent({}, { 2: 0.5 }), ...[1, 1, 1, 0.9, 0.9].map((a, s) => trial({}, 4, s, a))];
    expect(lossOf(findThresholds(recs, LEVEL1, { bootstrap: 0 }), 'ce').threshold.params).toBe(27);
    const even = [...consistent({}, { 2: 0.5 }), ...[1, 1, 0.9, 0.9].map((a, s) => trial({}, 4, s, a))];
    const t = lossOf(findThresholds(even, LEVEL1, { bootstrap: 0 }), 'ce');
    expect(t.threshold.reached).toBe(false);
    expect(t.cells[0].curve[1].median).toBeCloseTo(0.95, 12);
  });
});

describe('diverged trials', () => {
  it('count as not fitting whatever their recorded metric', () => {
    const ok = (w: number, s: number) => trial({}, w, s, w >= 8 ? 1 : 0.9);
    const recs: ThresholdInput[] = [];
    for (const w of [4, 8, 16]) {
      for (let s = 0; s < 5; s++) {
        // at width 8, three of five seeds diverged but still report train acc 1 (or NaN)
        if (w === 8 && s < 3) recs.push(trial({}, w, s, s === 0 ? Number.NaN : 1, { diverged: true }));
        else recs.push(ok(w, s));
      }
    }
    const l = lossOf(findThresholds(recs, LEVEL1, { bootstrap: 0 }), 'ce');
    expect(l.threshold.params).toBe(P(16));
    expect(l.cells[0].curve.map((c) => c.diverged)).toEqual([0, 3, 0]);
    expect(l.cells[0].curve[1].median).toBe(0);
    // two of five diverged: the median still fits
    const two = recs.map((r) => (r.width === 8 && r.seed === 2 ? ok(8, 2) : r));
    expect(lossOf(findThresholds(two, LEVEL1, { bootstrap: 0 }), 'ce').threshold.params).toBe(P(8));
  });

  it('get +Infinity on an atMost loss metric (no interpolation from a diverged width)', () => {
    const recs: ThresholdInput[] = [];
    for (let s = 0; s < 3; s++) {
      recs.push(trial({}, 2, s, 0, { diverged: true }));
      recs.push(trial({}, 4, s, 0.999));
    }
    const rep = findThresholds(recs, { metric: 'trainLoss', level: 0.01 }, { bootstrap: 0 });
    const l = lossOf(rep, 'ce');
    expect(rep.criterion.direction).toBe('atMost');
    expect(l.threshold.params).toBe(27);
    expect(l.cells[0].curve[0].median).toBeNull();
    expect(() => JSON.stringify(rep)).not.toThrow();
  });

  it('a null (non-finite) final metric of a finished trial also counts as worst', () => {
    const recs: ThresholdInput[] = [];
    for (let s = 0; s < 3; s++) {
      const t = trial({}, 4, s, 1);
      if (s < 2) t.final.valLoss = null;
      recs.push(t);
    }
    const l = lossOf(findThresholds(recs, { metric: 'valLoss', level: 0.5 }, { bootstrap: 0 }), 'ce');
    expect(l.threshold.reached).toBe(false);
    expect(l.cells[0].curve[0].median).toBeNull();
  });

  it('a loss metric needs an explicit level', () => {
    expect(() => findThresholds([], { metric: 'trainLoss' })).toThrow(/level/);
  });
});

describe('bootstrap', () => {
  const noisy = byFirstFit({}, GRID, [4, 6, 8, 12, 16]);
  const steady = byFirstFit({}, GRID, [8, 8, 8, 8, 8]);

  it('degenerates to the point estimate when all seeds agree', () => {
    const t = lossOf(findThresholds(steady, LEVEL1, { bootstrap: 500, seed: 1 }), 'ce').threshold;
    expect(t.params).toBe(P(8));
    expect(t.ci).toMatchObject({ lower: expect.closeTo(P(8), 9), upper: expect.closeTo(P(8), 9), censored: 0, replicates: 500 });
  });

  it('widens with noisy seeds and contains the point estimate', () => {
    const t = lossOf(findThresholds(noisy, LEVEL1, { bootstrap: 1000, seed: 1 }), 'ce').threshold;
    expect(t.params).toBe(P(8));
    const ci = t.ci!;
    expect(ci.lower!).toBeLessThanOrEqual(t.params!);
    expect(ci.upper!).toBeGreaterThanOrEqual(t.params!);
    expect(ci.upper! - ci.lower!).toBeGreaterThan(0);
    expect(ci.lower!).toBeGreaterThanOrEqual(P(4));
    expect(ci.upper!).toBeLessThanOrEqual(P(16));
    // noisier still: wider (or equal) interval
    const noisier = byFirstFit({}, GRID, [2, 3, 8, 24, 32]);
    const t2 = lossOf(findThresholds(noisier, LEVEL1, { bootstrap: 1000, seed: 1 }), 'ce').threshold;
    expect(t2.params).toBe(P(8));
    expect(t2.ci!.upper! - t2.ci!.lower!).toBeGreaterThan(ci.upper! - ci.lower!);
  });

  it('interpolated interval contains the point and shrinks as seed noise shrinks', () => {
    // level 0.9; seeds scatter around a median crossing between widths 4 and 6
    const make = (spread: number) => {
      const recs: ThresholdInput[] = [];
      const base: Record<number, number> = { 2: 0.7, 3: 0.8, 4: 0.87, 6: 0.93, 8: 0.97, 12: 1 };
      const offs = [-2, -1, 0, 1, 2].map((k) => k * spread);
      for (const [w, m] of Object.entries(base)) offs.forEach((o, s) => recs.push(trial({}, Number(w), s, Math.min(1, m + o))));
      return lossOf(findThresholds(recs, { level: 0.9 }, { bootstrap: 1000, seed: 7 }), 'ce').threshold;
    };
    const tight = make(0.005);
    const loose = make(0.03);
    const f = (0.9 - 0.87) / (0.93 - 0.87);
    const expected = Math.exp(Math.log(27) + f * (Math.log(39) - Math.log(27)));
    for (const t of [tight, loose]) {
      expect(t.params).toBeCloseTo(expected, 10);
      expect(t.ci!.lower!).toBeLessThanOrEqual(t.params!);
      expect(t.ci!.upper!).toBeGreaterThanOrEqual(t.params!);
    }
    expect(tight.ci!.upper! - tight.ci!.lower!).toBeLessThan(loose.ci!.upper! - loose.ci!.lower!);
  });

  it('counts replicates that do not reach, and reports an unbounded upper end', () => {
    // only 3 of 5 seeds ever fit: the median fits, but many resamples do not
    const recs = byFirstFit({}, [2, 4, 8], [4, 4, 4, 1e9, 1e9], 0.9);
    const t = lossOf(findThresholds(recs, LEVEL1, { bootstrap: 1000, seed: 3 }), 'ce').threshold;
    expect(t.params).toBe(P(4));
    // a seed is drawn once for every width, so a replicate fails when >= 3 of its 5 draws are the non-fitting seeds:
    // P(Bin(5, 0.4) >= 3) = 0.31744, i.e. ~317 of 1000 (sd ~ 15)
    const p3 = 10 * 0.4 ** 3 * 0.6 ** 2 + 5 * 0.4 ** 4 * 0.6 + 0.4 ** 5;
    expect(Math.abs(t.ci!.censored - 1000 * p3)).toBeLessThan(60);
    expect(t.ci!.upper).toBeNull();
    expect(t.ci!.lower).toBeCloseTo(P(4), 9);
  });

  it('is deterministic under a seed, independent of record order and of other cells', () => {
    // continuous per-seed scatter so that interval ends vary with the PRNG stream
    const noisy: ThresholdInput[] = [];
    const base: Record<number, number> = { 2: 0.7, 3: 0.8, 4: 0.87, 6: 0.93, 8: 0.97, 12: 1 };
    for (const [w, m] of Object.entries(base)) {
      for (let s = 0; s < 7; s++) noisy.push(trial({}, Number(w), s, Math.min(1, m + 0.01 * Math.sin(3.7 * s + Number(w)))));
    }
    const a = findThresholds(noisy, { level: 0.95 }, { bootstrap: 300, seed: 42 });
    const b = findThresholds([...noisy].reverse(), { level: 0.95 }, { bootstrap: 300, seed: 42 });
    expect(b).toEqual(a);
    const other = byFirstFit({ lr: 1 }, GRID, [2, 4, 8, 16, 32]);
    const c = findThresholds([...other, ...noisy], { level: 0.95 }, { bootstrap: 300, seed: 42 });
    const cell = lossOf(c, 'ce').cells.find((x) => x.key.lr === 0.1)!;
    expect(cell.threshold).toEqual(lossOf(a, 'ce').cells[0].threshold);
    // a different seed gives a different (interpolated) interval
    const ci = (seed: number) => lossOf(findThresholds(noisy, { level: 0.95 }, { bootstrap: 300, seed, confidence: 0.5 }), 'ce').threshold.ci;
    expect(ci(42)).toEqual(ci(42));
    const others = [43, 44, 45, 46].map(ci);
    expect(others.some((o) => o!.lower !== ci(42)!.lower || o!.upper !== ci(42)!.upper)).toBe(true);
  });

  it('writes plain JSON (no Infinity or NaN)', () => {
    const rep = findThresholds([...noisy, ...byFirstFit({ loss: 'dce' }, GRID, [1e9, 1e9, 1e9, 4, 4])], LEVEL1, { bootstrap: 100 });
    expect(JSON.parse(JSON.stringify(rep))).toEqual(rep);
  });
});

describe('per-loss headline and ratios', () => {
  const ce = [...consistent({ lr: 0.1 }, { 2: 0.5, 4: 0.9, 8: 1, 16: 1 }), ...consistent({ lr: 1 }, { 2: 0.5, 4: 0.9, 8: 0.95, 16: 1 })];
  const dceA5 = consistent({ loss: 'dce', lr: 0.1, period: 500, amplitude: 5 }, { 2: 0.5, 4: 0.9, 8: 0.95, 16: 1 });
  const dceA20 = consistent({ loss: 'dce', lr: 0.1, period: 500, amplitude: 20 }, { 2: 0.5, 4: 1, 8: 1, 16: 1 });
  const dceLr1 = consistent({ loss: 'dce', lr: 1, period: 500, amplitude: 20 }, { 2: 0.5, 4: 0.9, 8: 1, 16: 1 });

  it('one candidate cell per loss: estimated on all seeds, ratio per matched pair (same lr)', () => {
    const rep = findThresholds([...ce.slice(0, 20), ...dceA20], LEVEL1, { bootstrap: 200 });
    const d = lossOf(rep, 'dce');
    expect(d.selection).toMatchObject({ method: 'single', candidates: 1, controls: 0 });
    expect(d.selection.folds).toEqual([{ cell: { lr: 0.1, period: 500, amplitude: 20 }, label: 'lr=0.1 T=500 A=20', selectedOn: null, estimatedOn: [0, 1, 2, 3, 4] }]);
    expect(d.threshold.params).toBe(P(4));
    expect(d.ratioToStatic).toMatchObject({ against: 'ce', staticCell: { lr: 0.1 }, pairedSeeds: 5, dynamicalParams: P(4), staticParams: P(8), bound: null, fractionBelowOne: 1, decidedReplicates: 200, verdict: 'smaller' });
    expect(d.ratioToStatic!.value).toBeCloseTo(27 / 51, 12);
    expect(d.ratioToStatic!.ci).toMatchObject({ lower: expect.closeTo(27 / 51, 9), upper: expect.closeTo(27 / 51, 9), censored: 0 });
  });

  it('a single candidate headline is exactly its cell (same seeds, same resamples)', () => {
    const noisyCe = byFirstFit({}, GRID, [4, 6, 8, 12, 16]);
    const noisyDce = byFirstFit({ loss: 'dce', amplitude: 20 }, GRID, [3, 8, 4, 24, 6]);
    const rep = findThresholds([...noisyCe, ...noisyDce], LEVEL1, { bootstrap: 300, seed: 9 });
    for (const loss of ['ce', 'dce'] as const) {
      const l = lossOf(rep, loss);
      expect(l.selection.method).toBe('single');
      expect(l.threshold).toEqual(l.cells[0].threshold);
    }
    expect(lossOf(rep, 'dce').ratioToStatic).toEqual(lossOf(rep, 'dce').cells[0].ratioToStatic);
  });

  it('interval ends are replicate values (no interpolation into the gaps of a grid)', () => {
    const rep = findThresholds([...byFirstFit({}, GRID, [4, 6, 8, 12, 16]), ...byFirstFit({ loss: 'dce', amplitude: 20 }, GRID, [3, 8, 4, 24, 6])], LEVEL1, { bootstrap: 300, seed: 9 });
    const ci = lossOf(rep, 'ce').threshold.ci!;
    expect(GRID.map(P)).toContain(Math.round(ci.lower!));
    expect(GRID.map(P)).toContain(Math.round(ci.upper!));
  });

  it('several candidate cells: cross-fitted headline; every cell still has its own ratio', () => {
    const rep = findThresholds([...ce, ...dceA5, ...dceA20, ...dceLr1], LEVEL1, { bootstrap: 200 });
    const c = lossOf(rep, 'ce');
    const d = lossOf(rep, 'dce');
    expect(c.selection.method).toBe('cross-fit');
    expect(c.ratioToStatic).toBeNull();
    expect(c.threshold.params).toBeCloseTo(P(8), 9);
    expect(d.selection.method).toBe('cross-fit');
    expect(d.selection.candidates).toBe(3);
    // seeds 0..4 dealt alternately: one fold selects, the other estimates
    expect(d.selection.folds.map((f) => [f.selectedOn, f.estimatedOn])).toEqual([
      [[0, 2, 4], [1, 3]],
      [[1, 3], [0, 2, 4]],
    ]);
    expect(d.selection.folds.map((f) => f.label)).toEqual(['lr=0.1 T=500 A=20', 'lr=0.1 T=500 A=20']);
    expect(d.threshold.params).toBeCloseTo(P(4), 9);
    expect(d.ratioToStatic!.value).toBeCloseTo(27 / 51, 9);
    expect(d.cells.map((x) => x.label)).toEqual(['lr=0.1 T=500 A=5', 'lr=0.1 T=500 A=20', 'lr=1 T=500 A=20']);
    expect(d.cells.map((x) => x.ratioToStatic!.value)).toEqual([99 / 51, 27 / 51, 51 / 99].map((v) => expect.closeTo(v, 9)));
  });

  it('a declared comparison is used on all seeds, without selection', () => {
    const rep = findThresholds([...ce, ...dceA5, ...dceA20, ...dceLr1], LEVEL1, { bootstrap: 50, compare: { dce: { lr: 1, period: 500, amplitude: 20 }, ce: { lr: 1 } } });
    const d = lossOf(rep, 'dce');
    expect(d.selection).toMatchObject({ method: 'declared', candidates: 1 });
    expect(d.threshold.params).toBe(P(8));
    expect(d.ratioToStatic!.value).toBeCloseTo(51 / 99, 12);
    expect(lossOf(rep, 'ce').selection.method).toBe('declared');
    const bad = findThresholds([...ce, ...dceA5], LEVEL1, { bootstrap: 0, compare: { dce: { lr: 1, period: 500, amplitude: 70 } } });
    expect(lossOf(bad, 'dce').selection.method).toBe('none');
    expect(bad.warnings.join('\n')).toMatch(/declared cell lr=1 T=500 A=70 is not a candidate/);
  });

  it('dynamical cells with A = 1 are controls: reported, never the headline', () => {
    const control = consistent({ loss: 'dce', lr: 0.1, period: 500, amplitude: 1 }, { 2: 1, 4: 1, 8: 1, 16: 1 });
    const rep = findThresholds([...ce.slice(0, 20), ...control, ...dceA5], LEVEL1, { bootstrap: 0 });
    const d = lossOf(rep, 'dce');
    expect(d.cells.find((c) => c.key.amplitude === 1)!.control).toBe(true);
    expect(d.selection).toMatchObject({ method: 'single', candidates: 1, controls: 1 });
    expect(d.threshold.params).toBe(P(16));
    // pooled amplitudes (groupBy without amplitude) still keep the controls apart
    const pooled = lossOf(findThresholds([...ce.slice(0, 20), ...control, ...dceA5], { level: 1, groupBy: ['lr'] }, { bootstrap: 0 }), 'dce');
    expect(pooled.cells.map((c) => [c.label, c.control])).toEqual([['lr=0.1', false], ['lr=0.1 A=1', true]]);
    const onlyControls = findThresholds([...ce.slice(0, 20), ...control], LEVEL1, { bootstrap: 0 });
    expect(lossOf(onlyControls, 'dce').selection.method).toBe('none');
  });

  it('the ratio pairs seeds: a dynamical loss that fits every seed at half the width has a tight interval', () => {
    const ceSeeds = byFirstFit({}, GRID, [4, 6, 8, 12, 16]);
    const dceSeeds = byFirstFit({ loss: 'dce' }, GRID, [2, 3, 4, 6, 8]);
    const r = lossOf(findThresholds([...ceSeeds, ...dceSeeds], LEVEL1, { bootstrap: 1000, seed: 5 }), 'dce').ratioToStatic!;
    // paired: the median seed of a resample is the same seed on both sides, whose ratio is P(w/2)/P(w) in [0.515, 0.556]
    expect(r.ci!.lower!).toBeGreaterThan(0.5);
    expect(r.ci!.upper!).toBeLessThan(0.56);
    expect(r.verdict).toBe('smaller');
    // with the dce seeds relabelled (pairing broken), resamples mix seeds and the interval widens past 0.56
    const shuffled = dceSeeds.map((t) => ({ ...t, seed: (t.seed * 3) % 5 }));
    const u = lossOf(findThresholds([...ceSeeds, ...shuffled], LEVEL1, { bootstrap: 1000, seed: 5 }), 'dce').ratioToStatic!;
    expect(u.ci!.upper!).toBeGreaterThan(0.6);
  });

  it('keeps not-reached replicates as bounds and states one-sided ratios', () => {
    const ceNo = consistent({ lr: 0.1 }, { 2: 0.5, 4: 0.9, 8: 0.99, 16: 0.99 });
    const r1 = lossOf(findThresholds([...ceNo, ...dceA20], LEVEL1, { bootstrap: 50 }), 'dce').ratioToStatic!;
    expect(r1.value).toBeNull();
    expect(r1.bound).toEqual({ relation: '<', value: expect.closeTo(27 / 99, 9) });
    expect(r1.ci).toMatchObject({ lower: null, upper: expect.closeTo(27 / 99, 9), censored: 50 });
    expect(r1.fractionBelowOne).toBe(1);
    expect(r1.verdict).toBe('smaller');
    const dceNo = consistent({ loss: 'dce', amplitude: 20 }, { 2: 0.5, 4: 0.9, 8: 0.99, 16: 0.99 });
    const r2 = lossOf(findThresholds([...ce.slice(0, 20), ...dceNo], LEVEL1, { bootstrap: 50 }), 'dce').ratioToStatic!;
    expect(r2.value).toBeNull();
    expect(r2.bound).toEqual({ relation: '>', value: expect.closeTo(99 / 51, 9) });
    expect(r2.fractionBelowOne).toBe(0);
    expect(r2.verdict).toBe('larger');
    const r3 = lossOf(findThresholds([...ceNo, ...dceNo], LEVEL1, { bootstrap: 50 }), 'dce').ratioToStatic!;
    expect(r3).toMatchObject({ value: null, bound: null, fractionBelowOne: null, decidedReplicates: 0, verdict: 'no-difference' });
    expect(r3.ci).toMatchObject({ lower: null, upper: null, censored: 50 });
  });

  it('dmse1 and dmse2 compare with mse; no counterpart gives a warning', () => {
    const mse = consistent({ loss: 'mse' }, { 2: 0.5, 4: 0.9, 8: 0.95, 16: 1 });
    const d1 = consistent({ loss: 'dmse1' }, { 2: 0.5, 4: 0.9, 8: 1, 16: 1 });
    const d2 = consistent({ loss: 'dmse2' }, { 2: 0.5, 4: 0.9, 8: 0.95, 16: 1 });
    const rep = findThresholds([...d2, ...d1, ...mse], LEVEL1, { bootstrap: 0 });
    expect(rep.losses.map((l) => l.loss)).toEqual(['mse', 'dmse1', 'dmse2']);
    expect(lossOf(rep, 'dmse1').ratioToStatic).toMatchObject({ against: 'mse', value: expect.closeTo(51 / 99, 9), ci: null, fractionBelowOne: null, verdict: null });
    expect(lossOf(rep, 'dmse2').ratioToStatic!.value).toBeCloseTo(1, 12);
    const lone = findThresholds(d1, LEVEL1, { bootstrap: 0 });
    expect(lossOf(lone, 'dmse1').ratioToStatic).toBeNull();
    expect(lone.warnings.some((w) => w.includes('no mse'))).toBe(true);
  });

  it('groupBy [] pools every configuration of a loss into one cell', () => {
    const rep = findThresholds([...dceA5, ...dceA20], { level: 1, groupBy: [] }, { bootstrap: 0 });
    const d = lossOf(rep, 'dce');
    expect(d.cells).toHaveLength(1);
    expect(d.cells[0].label).toBe('all');
    // the seeds 0..4 of both amplitudes are the same seeds: one column each, the first trial of a duplicate used
    expect(rep.warnings.some((w) => w.includes('appears more than once'))).toBe(true);
  });
});

describe('achievable criterion', () => {
  const ceiling = 298 / 300;
  const acc = (k: number) => k / 300;

  it('the default level is the data\'s achievable accuracy, stored in the report', () => {
    const recs = consistent({}, { 2: acc(250), 4: acc(297), 8: acc(298), 16: acc(298) });
    expect(() => findThresholds(recs)).toThrow(/achievable/);
    const rep = findThresholds(recs, {}, { bootstrap: 0, achievable: { trainAcc: ceiling, valAcc: 299 / 300 } });
    expect(rep.criterion.level).toBe('achievable');
    expect(rep.level).toBe(ceiling);
    expect(rep.achievable).toEqual({ trainAcc: ceiling, valAcc: 299 / 300 });
    expect(lossOf(rep, 'ce').threshold.params).toBe(P(8));
    expect(lossOf(rep, 'ce').cells[0].curve.map((c) => c.fit)).toEqual([0, 0, 5, 5]);
    // a fixed level of 1 is unreachable on this data
    expect(lossOf(findThresholds(recs, LEVEL1, { bootstrap: 0 }), 'ce').threshold.reached).toBe(false);
  });

  it('a median that meets the ceiling within rounding sits on the grid width (no interpolation by 1 - 1e-15)', () => {
    const below = ceiling * (1 - 1e-15); // the same ceiling computed another way
    const recs = [...consistent({}, { 2: acc(250), 8: acc(298), 16: acc(298) }), ...consistent({ loss: 'dce' }, { 2: acc(298), 8: acc(298), 16: acc(298) })];
    const rep = findThresholds(recs, {}, { bootstrap: 50, achievable: { trainAcc: below } });
    expect(lossOf(rep, 'ce').threshold.params).toBe(P(8));
    expect(lossOf(rep, 'ce').threshold.ci).toMatchObject({ lower: P(8), upper: P(8) });
    expect(lossOf(rep, 'dce').ratioToStatic).toMatchObject({ value: expect.closeTo(P(2) / P(8), 11), dynamicalParams: P(2), staticParams: P(8) });
  });

  it('rejects achievable on a loss metric and an achievable value outside (0, 1]', () => {
    expect(() => findThresholds([], { metric: 'trainLoss', level: 'achievable' })).toThrow(/accuracy metric/);
    expect(() => findThresholds([], {}, { achievable: { trainAcc: 1.2 } })).toThrow(/\(0, 1\]/);
  });
});

describe('validation accuracy', () => {
  it('best median validation accuracy and the smallest P within tolerance', () => {
    const val: Record<number, number> = { 2: 0.7, 4: 0.85, 8: 0.9, 16: 0.905, 32: 0.9 };
    const recs: ThresholdInput[] = [];
    for (const w of [2, 4, 8, 16, 32]) for (let s = 0; s < 3; s++) recs.push(trial({}, w, s, 1, { valAcc: val[w] + (s - 1) * 0.001 }));
    const rep = findThresholds(recs, LEVEL1, { bootstrap: 0 });
    const v = lossOf(rep, 'ce').validation;
    expect(v.best).toBeCloseTo(0.905, 12);
    expect(v.bestWidth).toBe(16);
    expect(v.smallestWidthWithinTolerance).toBe(8);
    expect(v.smallestParamsWithinTolerance).toBe(P(8));
    expect(lossOf(findThresholds(recs, LEVEL1, { bootstrap: 0, valTolerance: 0 }), 'ce').validation.smallestWidthWithinTolerance).toBe(16);
    expect(lossOf(findThresholds(recs, LEVEL1, { bootstrap: 0, valTolerance: 0.1 }), 'ce').validation.smallestWidthWithinTolerance).toBe(4);
  });

  it('per loss: best over cells, smallest P over cells within tolerance; diverged val = 0', () => {
    const a = [2, 4, 8].flatMap((w) => [0, 1, 2].map((s) => trial({ lr: 0.1 }, w, s, 1, { valAcc: { 2: 0.6, 4: 0.8, 8: 0.92 }[w] })));
    const b = [2, 4, 8].flatMap((w) => [0, 1, 2].map((s) => trial({ lr: 1 }, w, s, 1, { valAcc: { 2: 0.6, 4: 0.915, 8: 0.9 }[w], diverged: w === 8 })));
    const v = lossOf(findThresholds([...a, ...b], LEVEL1, { bootstrap: 0 }), 'ce').validation;
    expect(v.best).toBe(0.92);
    expect(v.bestCell).toMatchObject({ lr: 0.1 });
    expect(v.smallestWidthWithinTolerance).toBe(4);
    expect(v.withinToleranceCell).toMatchObject({ lr: 1 });
  });
});

describe('scale', () => {
  it('handles the reproduction grid (76 cells x 14 widths x 5 seeds, 1000 replicates) quickly', () => {
    const widths = [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256];
    const recs: ThresholdInput[] = [];
    let h = 1;
    const rnd = () => ((h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
    for (const loss of ['ce', 'dce', 'mse', 'dmse1', 'dmse2'] as const) {
      const dyn = loss !== 'ce' && loss !== 'mse';
      for (const lr of [0.1, 1]) {
        for (const period of dyn ? [500, 2000, 5000] : [null]) {
          for (const amplitude of dyn ? [1, 5, 20, 70] : [null]) {
            for (const w of widths) {
              for (let s = 0; s < 5; s++) recs.push(trial({ loss, lr, period, amplitude }, w, s, Math.min(1, 0.6 + w / 40 + 0.05 * rnd())));
            }
          }
        }
      }
    }
    const t0 = performance.now();
    const rep = findThresholds(recs, LEVEL1, { bootstrap: 1000, seed: 1 });
    const ms = performance.now() - t0;
    expect(rep.losses).toHaveLength(5);
    expect(rep.losses.map((l) => l.cells.length)).toEqual([2, 24, 2, 24, 24]);
    expect(rep.warnings).toEqual([]);
    expect(ms).toBeLessThan(20_000);
  });
});
