/**
 * The live instability monitor, activity side: a pack's per-trial numbers (core/monitor.ts, on its heartbeats)
 * become one constant-size aggregate (workflows/monitor.ts), signalled to the sweep's workflow at a bounded rate.
 */
import type { Context } from '@temporalio/activity';
import { EOS_LIMIT, instabilityOf, trialCell } from '../core/monitor.js';
import type { EngineProgress, TrialConfig, TrialRecord, TrialStability } from '../core/types.js';
import { monitorSignal } from '../workflows/definitions.js';
import { MONITOR_MIN_EVERY_S, rankCells, type MonitorAggregate, type MonitorCell, type MonitorUpdate } from '../workflows/monitor.js';

/** The aggregate of trials (configs and their numbers, in the same order). */
export function packAggregate(configs: readonly TrialConfig[], stability: readonly TrialStability[]): MonitorAggregate {
  const agg: MonitorAggregate = { trials: 0, aboveNow: 0, crossed: 0, crossings: 0, diverged: 0, spiked: 0, maxEos: null, top: [] };
  const cells: MonitorCell[] = [];
  stability.forEach((s, k) => {
    const diverged = s.divergedAt !== null;
    const above = !diverged && s.eos !== null && s.eos > EOS_LIMIT;
    agg.trials++;
    agg.aboveNow += above ? 1 : 0;
    agg.crossed += s.crossings > 0 ? 1 : 0;
    agg.crossings += s.crossings;
    agg.diverged += diverged ? 1 : 0;
    agg.spiked += s.spikes > 0 ? 1 : 0;
    if (s.maxEos !== null && (agg.maxEos === null || s.maxEos > agg.maxEos)) agg.maxEos = s.maxEos;
    cells.push({ label: trialCell(configs[k]), trials: 1, aboveNow: above ? 1 : 0, crossings: s.crossings, diverged: diverged ? 1 : 0, maxEos: s.maxEos });
  });
  agg.top = rankCells(cells);
  return agg;
}

/** A finished pack's aggregate, from its records (trained now or reused). */
export function recordsAggregate(records: readonly TrialRecord[]): MonitorAggregate {
  return packAggregate(
    records.map((r) => r.config),
    records.map((r) => instabilityOf(r).stability),
  );
}

export interface LiveMonitorOptions {
  packIndex: number;
  attempt: number;
  /** The pack's trials being trained, in the order of the progress' stability. */
  configs: readonly TrialConfig[];
  /** Least seconds between two signals (default MONITOR_MIN_EVERY_S). */
  everyS?: number;
  /** Delivers an update to the workflow. */
  send: (u: MonitorUpdate) => Promise<void>;
  /** Told when a delivery failed (the monitor is best effort: it never fails the pack). */
  warn: (message: string) => void;
  now?: () => number;
}

/**
 * Signals a running pack's aggregate: the first one as soon as there is one, then at most every `everyS` seconds,
 * and only when it changed. `close` waits for the signal in flight, so it lands before the pack's result.
 */
export function liveMonitor(opts: LiveMonitorOptions): { progress(p: EngineProgress): void; close(): Promise<void> } {
  const now = opts.now ?? Date.now;
  const everyMs = (opts.everyS ?? MONITOR_MIN_EVERY_S) * 1000;
  let lastAt = -Infinity;
  let last = '';
  let seq = 0;
  let inFlight: Promise<void> | null = null;
  return {
    progress(p) {
      if (!p.stability || inFlight || now() - lastAt < everyMs) return;
      const aggregate = packAggregate(opts.configs, p.stability);
      const text = JSON.stringify(aggregate);
      if (text === last) return;
      last = text;
      lastAt = now();
      inFlight = opts
        .send({ packIndex: opts.packIndex, attempt: opts.attempt, seq: ++seq, aggregate })
        .catch((err: unknown) => opts.warn(`instability monitor: signal failed: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => (inFlight = null));
    },
    async close() {
      await inFlight;
    },
  };
}

/**
 * The live monitor of the trainPack activity `ctx`: it signals the activity's own workflow through the worker's client,
 * every `everyS` seconds at most. Without `everyS` the workflow did not ask for signals (it has no handler): none.
 */
export function packMonitor(ctx: Context, packIndex: number, configs: readonly TrialConfig[], everyS?: number): ReturnType<typeof liveMonitor> {
  if (everyS === undefined) return { progress: () => {}, close: async () => {} };
  const workflowId = ctx.info.workflowExecution?.workflowId;
  return liveMonitor({
    packIndex,
    attempt: ctx.info.attempt,
    configs,
    everyS,
    send: async (u) => {
      if (!workflowId) throw new Error('the activity was not started by a workflow');
      await ctx.client.workflow.getHandle(workflowId).signal(monitorSignal, u);
    },
    warn: (message) => ctx.log.warn(message),
  });
}
