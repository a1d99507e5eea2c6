import { describe, expect, it } from 'vitest';
import { instabilityOf, schedulePosition, StabilityTracker, trialCell } from '../../core/monitor.js';
import type { Curves, SharpnessTrace, TrialConfig, TrialStability } from '../../core/types.js';
import { createReferenceKernel } from '../../core/engines/reference-kernel.js';
import { trainPack } from '../../core/train.js';
import { liveMonitor, packAggregate, packMonitor } from '../../activities/monitor.js';
import { emptyAggregate, mergeAggregates, monitorEveryS, SweepMonitor, TOP_CELLS, type MonitorAggregate, type MonitorUpdate } from '../../workflows/monitor.js';
import { packOf, trialConfig } from './science-helpers.js';
import { monitorMarkdown } from '../../workflows/details.js';
import { monitorLines, monitorSummary } from '../../cli/render.js';

/** A trace with the given ratios at steps 0, 10, 20, ... (lr 1: lambda = 2 * ratio). */
function trace(eos: (number | null)[]): SharpnessTrace {
  const step = eos.map((_, i) => 10 * i);
  const dynamic = eos.map((e) => (e === null ? null : 2 * e));
  return {
    step,
    dynamic,
    dynamicResidual: eos.map(() => 0),
    dynamicResidualKind: eos.map(() => 'explicit' as const),
    static: dynamic,
    staticResidual: eos.map(() => 0),
    staticResidualKind: eos.map(() => 'explicit' as const),
    eosRatio: eos,
    coldChecks: { step: [], dynamicWarm: [], dynamicCold: [], staticWarm: [], staticCold: [], mismatch: [] },
    coldMismatches: 0,
  };
}

function curves(lossStatic: number[]): Curves {
  const step = lossStatic.map((_, i) => 5 * i);
  return { step, trainLoss: lossStatic, trainLossStatic: lossStatic, trainAcc: step.map(() => 0.5), valLoss: step.map(() => 1), valAcc: step.map(() => 0.5) };
}

/** Hand-computed below. */
const EOS = [0.5, 1.2, 1.5, 0.9, null, 1.1, 1.0, 2.0];
const LOSS = [1.0, 0.5, 0.2, 0.5, 0.45, 0.1, 0.205, 0.19, 0.5];

describe('per-trial instability scan', () => {
  it('counts upward crossings of 2/eta, skipping non-finite samples, and keeps the latest and largest ratio', () => {
    const { stability, events } = instabilityOf({ sharpness: trace(EOS), curves: curves([1]), divergedAtStep: null });
    // 0.5 -> 1.2 at step 10; 0.9 -> (null) -> 1.1 at step 50; 1.0 is not above; -> 2.0 at step 70.
    expect(events.crossings).toEqual([
      { step: 10, eos: 1.2 },
      { step: 50, eos: 1.1 },
      { step: 70, eos: 2.0 },
    ]);
    expect(stability).toEqual({ step: 70, sharpness: 4, eos: 2, maxEos: 2, crossings: 3, spikes: 0, divergedAt: null });
  });

  it('a trace that starts above the limit crosses at its first sample; one that never reaches it, never', () => {
    expect(instabilityOf({ sharpness: trace([1.5, 1.6, 0.2]), curves: curves([]), divergedAtStep: null }).events.crossings).toEqual([{ step: 0, eos: 1.5 }]);
    expect(instabilityOf({ sharpness: trace([0.2, 1, 0.99]), curves: curves([]), divergedAtStep: null }).stability.crossings).toBe(0);
    expect(instabilityOf({ sharpness: trace([null, null]), curves: curves([]), divergedAtStep: 30 }).stability).toEqual({
      step: null,
      sharpness: null,
      eos: null,
      maxEos: null,
      crossings: 0,
      spikes: 0,
      divergedAt: 30,
    });
  });

  it('counts loss spikes: above twice the lowest loss so far and 0.01 above it, one per excursion', () => {
    const { stability, events } = instabilityOf({ sharpness: trace([]), curves: curves(LOSS), divergedAtStep: null });
    // min 0.2: 0.5 > 0.4 starts a spike (step 15), 0.45 continues it; min 0.1: 0.205 > 0.2 (step 30); 0.19 ends it; 0.5 (step 40).
    expect(events.spikes).toEqual([
      { step: 15, loss: 0.5 },
      { step: 30, loss: 0.205 },
      { step: 40, loss: 0.5 },
    ]);
    expect(stability.spikes).toBe(3);
    // Near zero the absolute rise decides: 0.001 -> 0.009 is not a spike, 0.001 -> 0.012 is.
    expect(instabilityOf({ sharpness: trace([]), curves: curves([0.001, 0.009]), divergedAtStep: null }).stability.spikes).toBe(0);
    expect(instabilityOf({ sharpness: trace([]), curves: curves([0.001, 0.012]), divergedAtStep: null }).stability.spikes).toBe(1);
  });

  it('the live tracker, fed growing traces at any cadence, ends where the whole-record scan does', () => {
    const full = { t: trace(EOS), c: curves(LOSS) };
    const slice = (n: number, m: number) => {
      const t = trace(EOS.slice(0, n));
      const c = curves(LOSS.slice(0, m));
      return { t, c };
    };
    const whole = instabilityOf({ sharpness: full.t, curves: full.c, divergedAtStep: 85 }).stability;
    for (const cuts of [[1], [3, 4], [2, 5, 7], [8]]) {
      const tracker = new StabilityTracker(1);
      for (const n of cuts) {
        const { t, c } = slice(n, Math.round((n / EOS.length) * LOSS.length));
        tracker.observe([t], [c], [null]);
      }
      expect(tracker.observe([full.t], [full.c], [85])[0], `cuts ${cuts.join(',')}`).toEqual(whole);
    }
    // observe returns copies: a later observation does not change an earlier snapshot.
    const tracker = new StabilityTracker(1);
    const first = tracker.observe([trace([1.5])], [curves([])], [null])[0];
    tracker.observe([trace([1.5, 0.5, 3])], [curves([])], [null]);
    expect(first.crossings).toBe(1);
  });

  it('places a step in the schedule: phase (s mod T)/T and the emphasised class floor(s/T) mod C; null where static', () => {
    const dce = trialConfig({ loss: 'dce', period: 40, amplitude: 3, steps: 200, finalStaticSteps: 50 });
    expect(schedulePosition(10, dce)).toEqual({ phase: 0.25, emphasised: 0 });
    expect(schedulePosition(50, dce)).toEqual({ phase: 0.25, emphasised: 1 });
    expect(schedulePosition(100, dce)).toEqual({ phase: 0.5, emphasised: 2 });
    expect(schedulePosition(130, dce)).toEqual({ phase: 0.25, emphasised: 0 });
    expect(schedulePosition(150, dce)).toBeNull(); // the final static segment
    expect(schedulePosition(10, trialConfig({ loss: 'dce', period: 40, amplitude: 1 }))).toBeNull(); // A = 1: the static control
    expect(schedulePosition(10, trialConfig({ loss: 'ce' }))).toBeNull();
  });
});

const s = (over: Partial<ReturnType<typeof base>>) => ({ ...base(), ...over });
const base = () => ({ step: 100, sharpness: 1, eos: 0.5, maxEos: 0.5, crossings: 0, spikes: 0, divergedAt: null as number | null });

describe('pack aggregate', () => {
  const cfg = (over: Partial<TrialConfig>) => trialConfig({ loss: 'dce', width: 8, lr: 2, period: 40, amplitude: 3, ...over });

  it('counts trials above 2/eta now, crossed, diverged and spiked, and ranks cells (diverged, then the largest ratio)', () => {
    const configs = [cfg({ seed: 0 }), cfg({ seed: 1 }), cfg({ amplitude: 5, seed: 0 }), cfg({ loss: 'ce', period: null, amplitude: null }), cfg({ lr: 0.5 })];
    const stab = [
      s({ eos: 1.3, maxEos: 1.8, crossings: 2 }),
      s({ eos: 0.9, maxEos: 1.1, crossings: 1, spikes: 1 }),
      s({ eos: 2.5, maxEos: 2.5, crossings: 1, divergedAt: 120 }), // diverged: not "above now"
      s({ eos: 1.01, maxEos: 1.01, crossings: 1 }),
      s({}),
    ];
    const a = packAggregate(configs, stab);
    expect(a).toMatchObject({ trials: 5, aboveNow: 2, crossed: 4, crossings: 5, diverged: 1, spiked: 1, maxEos: 2.5 });
    expect(a.top.map((c) => c.label)).toEqual(['dce w=8 lr=2 T=40 A=5', 'dce w=8 lr=2 T=40 A=3', 'ce w=8 lr=2', 'dce w=8 lr=0.5 T=40 A=3']);
    expect(a.top[1]).toEqual({ label: 'dce w=8 lr=2 T=40 A=3', trials: 2, aboveNow: 1, crossings: 3, diverged: 0, maxEos: 1.8 });
    expect(trialCell(configs[3])).toBe('ce w=8 lr=2');
  });

  it('keeps at most TOP_CELLS cells, whatever the number of trials', () => {
    const configs = Array.from({ length: 64 }, (_, i) => cfg({ width: 8, lr: i + 1 }));
    const a = packAggregate(configs, configs.map((_, i) => s({ maxEos: i / 10 })));
    expect(a.trials).toBe(64);
    expect(a.top).toHaveLength(TOP_CELLS);
    expect(a.top[0].label).toBe('dce w=8 lr=64 T=40 A=3');
    expect(JSON.stringify(a).length).toBeLessThan(1200);
  });
});

const agg = (over: Partial<MonitorAggregate>): MonitorAggregate => ({ ...emptyAggregate(), ...over });
const cell = (label: string, maxEos: number, over: Partial<MonitorAggregate['top'][number]> = {}) => ({ label, trials: 1, aboveNow: 0, crossings: 1, diverged: 0, maxEos, ...over });

describe('sweep monitor (workflow side)', () => {
  it('merges aggregates: counts add, ratios max, cells of one label sum', () => {
    const m = mergeAggregates([
      agg({ trials: 4, aboveNow: 1, crossed: 2, crossings: 3, diverged: 0, spiked: 1, maxEos: 1.5, top: [cell('a', 1.5), cell('b', 1.2)] }),
      agg({ trials: 2, aboveNow: 1, crossed: 1, crossings: 1, diverged: 1, spiked: 0, maxEos: 3, top: [cell('b', 3, { diverged: 1 })] }),
    ]);
    expect(m).toEqual({
      trials: 6,
      aboveNow: 2,
      crossed: 3,
      crossings: 4,
      diverged: 1,
      spiked: 1,
      maxEos: 3,
      top: [cell('b', 3, { trials: 2, crossings: 2, diverged: 1 }), cell('a', 1.5)],
    });
    expect(mergeAggregates([])).toEqual(emptyAggregate());
  });

  const upd = (packIndex: number, attempt: number, seq: number, a: Partial<MonitorAggregate>): MonitorUpdate => ({ packIndex, attempt, seq, aggregate: agg(a) });

  it('live counts from running packs, the total over finished ones; stale, late and unknown signals are ignored', () => {
    const carry: { monitor?: MonitorAggregate } = {};
    const mon = new SweepMonitor(carry);
    expect(mon.update(upd(0, 1, 1, { trials: 4 }))).toBe(false); // not started
    mon.started(0);
    mon.started(1);
    expect(mon.update(upd(0, 1, 2, { trials: 4, aboveNow: 3, crossed: 3, top: [cell('a', 2, { aboveNow: 3 })] }))).toBe(true);
    expect(mon.update(upd(0, 1, 1, { trials: 4, aboveNow: 0 }))).toBe(false); // older
    expect(mon.update(upd(1, 1, 1, { trials: 2, aboveNow: 1, crossed: 1, diverged: 1 }))).toBe(true);
    expect(mon.view().live).toMatchObject({ trials: 6, aboveNow: 4, crossed: 4, diverged: 1 });
    // A retry's first update replaces the earlier attempt's later one.
    expect(mon.update(upd(1, 2, 1, { trials: 2, aboveNow: 0, crossed: 0 }))).toBe(true);
    expect(mon.update(upd(1, 1, 9, { trials: 2, aboveNow: 2 }))).toBe(false);
    expect(mon.view().live).toMatchObject({ trials: 6, aboveNow: 3, crossed: 3, diverged: 0 });

    // Pack 0 finishes: its final aggregate joins the total, no longer "now"; late signals are ignored.
    mon.finished(0, agg({ trials: 4, aboveNow: 2, crossed: 3, crossings: 5, diverged: 1, top: [cell('a', 2.2, { aboveNow: 2, diverged: 1 })] }));
    expect(mon.update(upd(0, 1, 3, { trials: 4 }))).toBe(false);
    const v = mon.view();
    expect(v.live).toMatchObject({ trials: 2, aboveNow: 0 });
    expect(v.total).toMatchObject({ trials: 6, aboveNow: 0, crossed: 3, crossings: 5, diverged: 1 });
    expect(v.total.top[0]).toEqual(cell('a', 2.2, { crossings: 1, diverged: 1, aboveNow: 0 }));
    // A failed pack leaves the live view and adds nothing.
    mon.finished(1);
    expect(mon.view().live).toEqual(emptyAggregate());

    // The carry holds the finished total, and a new monitor over it (continue-as-new) shows the same.
    const total = mon.view().total;
    expect(total).toMatchObject({ trials: 4, crossed: 3, crossings: 5, diverged: 1 });
    expect(carry.monitor).toEqual(total);
    expect(new SweepMonitor(JSON.parse(JSON.stringify(carry))).view().total).toEqual(total);
  });

  it('spaces signals so that the sweep sends at most one a second, each pack at most every 15 s', () => {
    expect(monitorEveryS(1)).toBe(15);
    expect(monitorEveryS(15)).toBe(15);
    expect(monitorEveryS(64)).toBe(64);
  });
});

describe('live monitor (activity side)', () => {
  const configs = [trialConfig({ lr: 2 }), trialConfig({ lr: 2, seed: 2 })];
  const progress = (eos: number) => ({ step: 200, totalSteps: 1000, stability: [s({ eos, maxEos: Math.max(1.5, eos), crossings: 1 }), s({})] });

  it('signals the first aggregate at once, then at most every everyS and only on change; close waits for delivery', async () => {
    let t = 0;
    const sent: MonitorUpdate[] = [];
    let deliver = () => {};
    const mon = liveMonitor({
      packIndex: 3,
      attempt: 2,
      configs,
      everyS: 15,
      now: () => t,
      warn: () => {},
      send: (u) =>
        new Promise<void>((r) => {
          sent.push(u);
          deliver = r;
        }),
    });
    mon.progress({ step: 0, totalSteps: 1000 }); // no stability: nothing
    mon.progress(progress(1.5));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ packIndex: 3, attempt: 2, seq: 1, aggregate: { trials: 2, aboveNow: 1, crossed: 1 } });
    t = 20_000;
    mon.progress(progress(0.5)); // the first is still in flight
    expect(sent).toHaveLength(1);
    deliver();
    await mon.close();
    mon.progress(progress(0.5));
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ seq: 2, aggregate: { aboveNow: 0, crossed: 1 } });
    deliver();
    await mon.close();
    t = 30_000;
    mon.progress(progress(2)); // changed, but only 10 s later
    expect(sent).toHaveLength(2);
    t = 40_000;
    mon.progress(progress(0.5)); // 20 s later but unchanged
    expect(sent).toHaveLength(2);
    mon.progress(progress(2));
    expect(sent).toHaveLength(3);
    deliver();
    await mon.close();
  });

  it('sends nothing when the workflow did not ask (no interval with the pack)', async () => {
    // No context is touched: a workflow without a monitor handler gets no signals.
    const mon = packMonitor({} as never, 0, configs);
    mon.progress(progress(1.5));
    await expect(mon.close()).resolves.toBeUndefined();
  });

  it('a failed delivery is reported and never rejects', async () => {
    const warnings: string[] = [];
    const mon = liveMonitor({ packIndex: 0, attempt: 1, configs, warn: (m) => warnings.push(m), send: () => Promise.reject(new Error('workflow completed')) });
    mon.progress(progress(1.5));
    await expect(mon.close()).resolves.toBeUndefined();
    expect(warnings).toEqual(['instability monitor: signal failed: workflow completed']);
  });
});

describe('the trainer reports the monitor on its progress hook', () => {
  const train = async (configs: TrialConfig[]) => {
    const reports: TrialStability[][] = [];
    const outcomes = await trainPack(packOf(configs), createReferenceKernel, { name: 'reference', version: 'test' }, {
      onProgress: (p) => reports.push(p.stability!),
    });
    expect(reports).toHaveLength(600 / 200 + 1);
    const last = reports[reports.length - 1];
    outcomes.forEach(({ record }, k) => expect(last[k], `${configs[k].loss} lr ${configs[k].lr}`).toEqual(instabilityOf(record).stability));
    return { last, records: outcomes.map((o) => o.record) };
  };
  const cfg = (loss: 'dce' | 'dmse1', lr: number) => trialConfig({ loss, period: 40, amplitude: 5, lr, steps: 600, evalEvery: 10, sharpnessEvery: 20 });

  it('its last report equals the whole-record scan, for stable, unstable and diverging trials', async () => {
    // dce: a small rate stays below 2/eta, a large one bounces across it without blowing up.
    const ce = await train([cfg('dce', 0.05), cfg('dce', 10)]);
    expect(ce.last[0]).toMatchObject({ crossings: 0, divergedAt: null });
    expect(ce.last[0].maxEos!).toBeLessThan(1);
    expect(ce.last[1].crossings).toBeGreaterThan(1);
    expect(ce.records[1].diverged).toBe(false);
    // dmse1 at a large rate crosses and then blows up: the report ends at its last finite sample.
    const mse = await train([cfg('dmse1', 0.3), cfg('dmse1', 50)]);
    expect(mse.last[0].crossings).toBe(0);
    expect(mse.records[1].diverged).toBe(true);
    expect(mse.last[1].crossings).toBeGreaterThan(0);
    expect(mse.last[1].divergedAt).toBe(mse.records[1].divergedAtStep);
  });
});

describe('the monitor for people', () => {
  const view = {
    live: agg({ trials: 8, aboveNow: 3 }),
    total: agg({ trials: 12, crossed: 5, crossings: 9, diverged: 1, spiked: 2, maxEos: 4.1234, top: [cell('dce w=8 lr=10 T=40 A=5', 4.1234, { trials: 4, crossings: 7, diverged: 1, aboveNow: 3 })] }),
  };

  it('web UI markdown: the counts row and a row per unstable cell', () => {
    const md = monitorMarkdown(view).join('\n');
    expect(md).toContain('| 3 | 8 | 5 of 12 | 9 | 1 | 2 | 4.12 |');
    expect(md).toContain('| dce w=8 lr=10 T=40 A=5 | 4 | 4.12 | 7 | 1 | 3 |');
  });

  it('terminal: one short progress token, and lines with the cells', () => {
    expect(monitorSummary(view)).toBe('above 2/η 3/8 now | crossed 5/12 | blow-ups 1');
    const lines = monitorLines(view);
    expect(lines[0]).toBe('instability: 3 of 8 training trials above 2/η now; 5 of 12 crossed it (9 crossings), 1 diverged, 2 with loss spikes; max λmax·η/2 4.12');
    expect(lines[2]).toMatch(/^ {2}dce w=8 lr=10 T=40 A=5 +4 +4\.12 +7 +1 +3$/);
  });
});
