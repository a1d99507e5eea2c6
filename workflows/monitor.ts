/**
 * The live instability monitor, workflow side (pure and deterministic). Running packs signal a constant-size
 * aggregate of their trials (counts and the few most unstable cells, built in activities/monitor.ts) at a bounded
 * rate; a finished pack's final aggregate comes with its result. The sweep keeps the latest aggregate of each
 * running pack and one merged total of the finished ones: its state is bounded by the number of packs in flight,
 * and only the finished total (constant size) is carried over continue-as-new, when no pack is in flight.
 */

/** Cells shown as the most unstable, here and in every aggregate. */
export const TOP_CELLS = 5;
/** Least seconds between two monitor signals of one pack. */
export const MONITOR_MIN_EVERY_S = 15;
/** Monitor signals per second the whole sweep may send (each is a history event, plus a workflow task). */
export const MONITOR_SIGNALS_PER_S = 1;

/** A cell (loss, width, lr, T, A) over the seeds an aggregate has seen. */
export interface MonitorCell {
  /** "dce w=8 lr=2 T=40 A=3". */
  label: string;
  trials: number;
  /** Trials whose latest ratio lambda_max * eta / 2 is above 1 (running packs only). */
  aboveNow: number;
  crossings: number;
  diverged: number;
  /** Largest lambda_max * eta / 2 seen. */
  maxEos: number | null;
}

/** Counts over a set of trials, and their most unstable cells (at most TOP_CELLS): the same size for any set. */
export interface MonitorAggregate {
  trials: number;
  /** Trials above 2/eta at their latest sharpness sample, not diverged (meaningful while training). */
  aboveNow: number;
  /** Trials that crossed 2/eta at least once. */
  crossed: number;
  crossings: number;
  diverged: number;
  /** Trials with at least one loss spike. */
  spiked: number;
  maxEos: number | null;
  top: MonitorCell[];
}

/** What a running pack signals to its sweep. */
export interface MonitorUpdate {
  packIndex: number;
  /** Activity attempt: a later attempt's updates replace an earlier one's. */
  attempt: number;
  /** Increases with every update of one attempt (signals may arrive out of order across retries). */
  seq: number;
  aggregate: MonitorAggregate;
}

/** What progress and the UI show: the packs in flight now, and everything recorded or in flight. */
export interface MonitorView {
  live: MonitorAggregate;
  total: MonitorAggregate;
}

export function emptyAggregate(): MonitorAggregate {
  return { trials: 0, aboveNow: 0, crossed: 0, crossings: 0, diverged: 0, spiked: 0, maxEos: null, top: [] };
}

/** A ratio lambda_max * eta / 2 for people: three significant digits, '–' when none. */
export const fmtRatio = (x: number | null): string => (x === null ? '–' : x.toPrecision(3));

const maxOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

/** Most unstable first: more diverged trials, then a larger ratio, then more crossings; ties by label. */
export function compareCells(a: MonitorCell, b: MonitorCell): number {
  return (
    b.diverged - a.diverged ||
    (b.maxEos ?? -Infinity) - (a.maxEos ?? -Infinity) ||
    b.crossings - a.crossings ||
    (a.label < b.label ? -1 : a.label > b.label ? 1 : 0)
  );
}

/** Cells with the same label summed, ranked, the first TOP_CELLS kept. */
export function rankCells(cells: readonly MonitorCell[]): MonitorCell[] {
  const byLabel = new Map<string, MonitorCell>();
  for (const c of cells) {
    const m = byLabel.get(c.label);
    if (!m) byLabel.set(c.label, { ...c });
    else {
      m.trials += c.trials;
      m.aboveNow += c.aboveNow;
      m.crossings += c.crossings;
      m.diverged += c.diverged;
      m.maxEos = maxOf(m.maxEos, c.maxEos);
    }
  }
  return [...byLabel.values()].sort(compareCells).slice(0, TOP_CELLS);
}

/**
 * Sum of aggregates. Counts are exact; the top cells are exact unless a cell's seeds span packs and one pack
 * already left it out of its own top (it may then rank a little low).
 */
export function mergeAggregates(parts: readonly MonitorAggregate[]): MonitorAggregate {
  const out = emptyAggregate();
  for (const p of parts) {
    out.trials += p.trials;
    out.aboveNow += p.aboveNow;
    out.crossed += p.crossed;
    out.crossings += p.crossings;
    out.diverged += p.diverged;
    out.spiked += p.spiked;
    out.maxEos = maxOf(out.maxEos, p.maxEos);
  }
  out.top = rankCells(parts.flatMap((p) => p.top));
  return out;
}

/** A finished pack's trials are no longer "now". */
function settled(a: MonitorAggregate): MonitorAggregate {
  return { ...a, aboveNow: 0, top: a.top.map((c) => ({ ...c, aboveNow: 0 })) };
}

/** Seconds between one pack's signals so that the sweep sends at most MONITOR_SIGNALS_PER_S. */
export function monitorEveryS(maxConcurrentPacks: number): number {
  return Math.max(MONITOR_MIN_EVERY_S, Math.ceil(maxConcurrentPacks / MONITOR_SIGNALS_PER_S));
}

/**
 * The sweep's monitor state. `carry.monitor` holds the finished packs' total and is updated in place, so the
 * workflow's carry object takes it over continue-as-new as it is.
 */
export class SweepMonitor {
  private readonly running = new Set<number>();
  private readonly live = new Map<number, MonitorUpdate>();

  constructor(private readonly carry: { monitor?: MonitorAggregate }) {}

  started(packIndex: number): void {
    this.running.add(packIndex);
  }

  /** A pack's signal; false (ignored) when the pack is not running here or the update is older than one seen. */
  update(u: MonitorUpdate): boolean {
    if (!this.running.has(u.packIndex)) return false;
    const seen = this.live.get(u.packIndex);
    if (seen && (u.attempt < seen.attempt || (u.attempt === seen.attempt && u.seq <= seen.seq))) return false;
    this.live.set(u.packIndex, u);
    return true;
  }

  /** The pack ended: its final aggregate (absent when it failed) joins the total; later signals are ignored. */
  finished(packIndex: number, final?: MonitorAggregate | null): void {
    this.running.delete(packIndex);
    this.live.delete(packIndex);
    if (final) this.carry.monitor = mergeAggregates([this.carry.monitor ?? emptyAggregate(), settled(final)]);
  }

  view(): MonitorView {
    const live = mergeAggregates([...this.live.values()].map((u) => u.aggregate));
    return { live, total: mergeAggregates([this.carry.monitor ?? emptyAggregate(), live]) };
  }
}
