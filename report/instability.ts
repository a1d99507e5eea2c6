/**
 * The report's instability numbers (pure): per trial, the crossings of 2/eta, loss spikes and the blow-up, each
 * placed in the schedule's period (phase and emphasised class, core/monitor.ts); then small tables and chart rows
 * whose size does not grow with the trials (cells and bins, and at most RASTER_TRIALS trials drawn one by one). The
 * table covers every trial (from the table rows); the charts and the blow-up list, the trials whose traces the
 * report reads.
 */
import { instabilityOf, schedulePosition, trialCell, type InstabilityEvents } from '../core/monitor.js';
import { median } from '../core/statistics.js';
import type { LossName, TrialRecord } from '../core/types.js';
import type { TrialRow } from '../results/tables.js';
import { groupBy, lossesOf } from './data.js';

/** Trials drawn one per row in the crossings chart (those with the most events first). */
export const RASTER_TRIALS = 40;
/** Bins of the schedule's period in the phase chart. */
export const PHASE_BINS = 10;

export interface TrialInstability {
  record: TrialRecord;
  label: string;
  events: InstabilityEvents;
  maxEos: number | null;
  spikes: number;
}

export function trialInstability(records: readonly TrialRecord[]): TrialInstability[] {
  return records.map((record) => {
    const { stability, events } = instabilityOf(record);
    return { record, label: `${trialCell(record.config)} seed ${record.config.seed}`, events, maxEos: stability.maxEos, spikes: stability.spikes };
  });
}

export interface InstabilityRow {
  loss: LossName;
  lr: number;
  trials: number;
  /** Trials that crossed 2/eta at least once. */
  crossed: number;
  crossings: number;
  /** Median over the trials that crossed of the step of their first crossing. */
  firstCrossingStep: number | null;
  blowUps: number;
  spiked: number;
  maxEos: number | null;
}

/** One row per loss and learning rate, over every trial of the sweep (its table rows). */
export function instabilityTable(rows: readonly TrialRow[]): InstabilityRow[] {
  const out: InstabilityRow[] = [];
  for (const loss of lossesOf(rows)) {
    const mine = rows.filter((r) => r.loss === loss);
    for (const [lr, ts] of [...groupBy(mine, (r) => r.lr)].sort((a, b) => a[0] - b[0])) {
      const firsts = ts.map((r) => r.firstCrossingStep).filter((x): x is number => x !== null);
      const ratios = ts.map((r) => r.maxEosRatio).filter((x): x is number => x !== null);
      out.push({
        loss,
        lr,
        trials: ts.length,
        crossed: firsts.length,
        crossings: ts.reduce((n, r) => n + r.eosCrossings, 0),
        firstCrossingStep: firsts.length > 0 ? median(firsts) : null,
        blowUps: ts.filter((r) => r.divergedAtStep !== null).length,
        spiked: ts.filter((r) => r.lossSpikes > 0).length,
        maxEos: ratios.reduce<number | null>((m, x) => (m === null || x > m ? x : m), null),
      });
    }
  }
  return out;
}

export type EventKind = 'crossing' | 'spike' | 'blow-up';

export interface RasterRow {
  trial: string;
  loss: LossName;
  kind: EventKind;
  step: number;
}

/** Events of the trials with the most of them (blow-ups first), at most RASTER_TRIALS trials; and how many had any. */
export function rasterRows(trials: readonly TrialInstability[], maxTrials = RASTER_TRIALS): { rows: RasterRow[]; shown: number; withEvents: number } {
  const weight = (t: TrialInstability) => (t.events.divergedAt !== null ? 1e9 : 0) + t.events.crossings.length + t.events.spikes.length;
  const eventful = trials.filter((t) => weight(t) > 0).sort((a, b) => weight(b) - weight(a) || (a.label < b.label ? -1 : 1));
  const shown = eventful.slice(0, maxTrials);
  const rows = shown.flatMap((t) => {
    const base = { trial: t.label, loss: t.record.config.loss };
    return [
      ...t.events.crossings.map((e) => ({ ...base, kind: 'crossing' as const, step: e.step })),
      ...t.events.spikes.map((e) => ({ ...base, kind: 'spike' as const, step: e.step })),
      ...(t.events.divergedAt === null ? [] : [{ ...base, kind: 'blow-up' as const, step: t.events.divergedAt }]),
    ];
  });
  return { rows, shown: shown.length, withEvents: eventful.length };
}

export interface PhaseRow {
  loss: LossName;
  kind: 'crossing' | 'blow-up';
  /** The emphasised class. */
  emphasised: number;
  /** Bin [bin0, bin1) of the phase (step mod T) / T. */
  bin0: number;
  bin1: number;
  count: number;
}

/** Crossings and blow-ups by where in the period they happen (steps where the loss is dynamical only). */
export function phaseRows(trials: readonly TrialInstability[], bins = PHASE_BINS): PhaseRow[] {
  const counts = new Map<string, PhaseRow>();
  const add = (t: TrialInstability, kind: PhaseRow['kind'], step: number) => {
    const pos = schedulePosition(step, t.record.config);
    if (!pos) return;
    const b = Math.min(bins - 1, Math.floor(pos.phase * bins));
    const key = `${t.record.config.loss}|${kind}|${pos.emphasised}|${b}`;
    const row = counts.get(key);
    if (row) row.count++;
    else counts.set(key, { loss: t.record.config.loss, kind, emphasised: pos.emphasised, bin0: b / bins, bin1: (b + 1) / bins, count: 1 });
  };
  for (const t of trials) {
    for (const c of t.events.crossings) add(t, 'crossing', c.step);
    if (t.events.divergedAt !== null) add(t, 'blow-up', t.events.divergedAt);
  }
  return [...counts.values()];
}

export interface BlowUp {
  label: string;
  step: number;
  /** Where in the period, or null where the loss was static at that step. */
  phase: number | null;
  emphasised: number | null;
  /** Crossings of 2/eta before the blow-up. */
  crossingsBefore: number;
}

/** Every blow-up, earliest first. */
export function blowUps(trials: readonly TrialInstability[]): BlowUp[] {
  return trials
    .filter((t) => t.events.divergedAt !== null)
    .map((t) => {
      const step = t.events.divergedAt as number;
      const pos = schedulePosition(step, t.record.config);
      return { label: t.label, step, phase: pos?.phase ?? null, emphasised: pos?.emphasised ?? null, crossingsBefore: t.events.crossings.filter((c) => c.step <= step).length };
    })
    .sort((a, b) => a.step - b.step || (a.label < b.label ? -1 : 1));
}
