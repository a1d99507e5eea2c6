/**
 * A threshold search (grid.yaml `search: threshold`, docs/search.md): rounds of trials planned by an activity from
 * each cell's bracket (core/search/), trained by the sweep's own trainPack, until every cell is resolved or a
 * budget is spent; then finalizeSweep over all of them. The workflow carries counts and the cells' brackets
 * (constant size per cell), never trials; it continues as new between rounds when its history grows.
 */
import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  MAX_CARRIED_FAILURES,
  type PackFailure,
  type SearchActivities,
  type SearchPlanOutput,
  type SearchProgress,
  type SweepActivities,
  type ThresholdBrief,
} from '../activities/contracts.js';
import type { RoundRequest, SearchCell, SearchRoundLog } from '../core/types.js';
import { CONTROL_QUEUE, monitorSignal, progressQuery, type SweepInput, type SweepProgress, type SweepResult, type SweepStatus } from './definitions.js';
import { detailsMarkdown } from './details.js';
import { runPackWindow, trainPackActivity } from './packs.js';
import { monitorEveryS, SweepMonitor, type MonitorAggregate } from './monitor.js';
import { searchDetailsMarkdown } from './search-details.js';

const DEFAULT_HISTORY_BUDGET = 10_000;

export interface SearchCarry {
  plan: SearchPlanOutput;
  cells: SearchCell[];
  round: number;
  /** The round trained last (judged by the next searchRound), and its packs. */
  previous: { requests: RoundRequest[]; fromPack: number; toPack: number } | null;
  packs: number;
  donePacks: number;
  rounds: SearchRoundLog[];
  trialSteps: number;
  completed: number;
  diverged: number;
  reused: number;
  failures: PackFailure[];
  failedPacks: number;
  startedAt: number;
  /** The instability monitor's total over finished packs (constant size). */
  monitor?: MonitorAggregate;
}

export interface SearchInput extends Omit<SweepInput, 'carry' | 'schedule'> {
  carry?: SearchCarry;
}

const control = proxyActivities<SearchActivities & Pick<SweepActivities, 'finalizeSweep'>>({
  taskQueue: CONTROL_QUEUE,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['GridError'] },
});

export async function searchWorkflow(input: SearchInput): Promise<SweepResult> {
  let status: SweepStatus = input.carry ? 'running' : 'planning';
  let running = 0;
  let thresholds: Record<string, ThresholdBrief> | null = null;
  const state: SearchCarry = input.carry ?? {
    plan: undefined as never,
    cells: [],
    round: 1,
    previous: null,
    packs: 0,
    donePacks: 0,
    rounds: [],
    trialSteps: 0,
    completed: 0,
    diverged: 0,
    reused: 0,
    failures: [],
    failedPacks: 0,
    startedAt: Date.now(),
  };
  const search = (): SearchProgress => ({
    round: state.round,
    maxRounds: state.plan?.maxRounds ?? 0,
    precision: state.plan?.precision ?? 0,
    rounds: state.rounds,
    trialSteps: state.trialSteps,
    open: state.cells.filter((c) => c.outcome === null).length,
    cells: state.cells,
  });
  const monitor = new SweepMonitor(state);
  const progress = (): SweepProgress => ({
    sweepId: input.sweepId,
    name: state.plan?.name ?? '',
    status,
    totalTrials: state.rounds.reduce((n, r) => n + r.trials, 0),
    completedTrials: state.completed,
    failedPacks: state.failedPacks,
    divergedTrials: state.diverged,
    totalPacks: state.packs,
    donePacks: state.donePacks,
    runningPacks: running,
    startedAt: state.startedAt,
    resultsUri: input.resultsUri,
    monitor: monitor.view(),
    search: search(),
  });
  setHandler(progressQuery, progress);
  const show = () => setCurrentDetails(`${detailsMarkdown(progress(), thresholds, null)}\n\n${searchDetailsMarkdown(search())}`);
  setHandler(monitorSignal, (u) => {
    if (monitor.update(u)) show();
  });
  const setStatus = (s: SweepStatus) => {
    status = s;
    show();
  };
  show();

  if (!input.carry) {
    state.plan = await control.planSearch.executeWithOptions({ summary: `plan the threshold search of ${input.gridFile}` }, [
      { resultsUri: input.resultsUri, sweepId: input.sweepId, gridYaml: input.gridYaml, gridFile: input.gridFile },
    ]);
    state.cells = state.plan.cells;
  }
  const plan = state.plan;
  setStatus('running');

  const trainPack = trainPackActivity(plan);

  const inFlight = new Set<Promise<void>>();
  /** Train packs [from, to) through the bounded window; a pack whose retries are exhausted is counted as failed. */
  async function trainPacks(from: number, to: number, round: number): Promise<void> {
    let next = from;
    const one = async (index: number) => {
      running++;
      monitor.started(index);
      try {
        const r = await trainPack.executeWithOptions({ summary: `search round ${round}: pack ${index + 1 - from}/${to - from}` }, [
          { resultsUri: input.resultsUri, sweepId: input.sweepId, packIndex: index, gridHash: plan.gridHash, monitorEveryS: monitorEveryS(plan.maxConcurrentPacks) },
        ]);
        monitor.finished(index, r.monitor);
        state.completed += r.completed;
        state.diverged += r.diverged;
        state.reused += r.reused;
      } catch (err) {
        if (isCancellation(err)) throw err;
        state.failedPacks++;
        const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
        if (state.failures.length < MAX_CARRIED_FAILURES) state.failures.push({ packIndex: index, message: cause });
      } finally {
        running--;
        monitor.finished(index);
        state.donePacks++;
        show();
      }
    };
    await runPackWindow(inFlight, plan.maxConcurrentPacks, () => (next < to ? next++ : null), one);
  }

  const historyBudget = input.historyBudget ?? DEFAULT_HISTORY_BUDGET;
  let cancelled: unknown = undefined;
  try {
    for (;;) {
      const r = await control.searchRound.executeWithOptions({ summary: `search round ${state.round}: judge the last round, plan the next` }, [
        { resultsUri: input.resultsUri, sweepId: input.sweepId, gridHash: plan.gridHash, round: state.round, cells: state.cells, packOffset: state.packs, previous: state.previous },
      ]);
      state.cells = r.cells;
      state.trialSteps += r.judgedTrialSteps;
      state.previous = null;
      if (r.cellsSearched === 0) {
        // Nothing more to train: the search's round is its last trained one, not the empty one just planned.
        state.round = state.rounds.length;
        break;
      }
      const fromPack = state.packs;
      state.packs += r.packCount;
      state.rounds.push({ round: state.round, cells: r.cellsSearched, widths: r.widths, trials: r.trials });
      show();
      await trainPacks(fromPack, state.packs, state.round);
      state.previous = { requests: r.requests, fromPack, toPack: state.packs };
      state.round++;
      if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyBudget) {
        await continueAsNew<typeof searchWorkflow>({ ...input, carry: state });
      }
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = err;
    setStatus('cancelled');
    // As a sweep does: running packs observe the cancellation and stop before the search is finalized.
    await CancellationScope.nonCancellable(() => Promise.allSettled([...inFlight]));
  }

  if (!cancelled) setStatus('finalizing');
  const finish = { resultsUri: input.resultsUri, sweepId: input.sweepId, name: plan.name, gridHash: plan.gridHash, rounds: state.rounds, cells: state.cells, trialSteps: state.trialSteps, packCount: state.packs };
  const fin = await CancellationScope.nonCancellable(async () => {
    await control.finishSearch.executeWithOptions({ summary: 'manifest.json of every round, search.json' }, [finish]);
    const out = await control.finalizeSweep.executeWithOptions({ summary: 'thresholds.json and summary.json from the records' }, [
      { resultsUri: input.resultsUri, sweepId: input.sweepId, gridHash: plan.gridHash, failures: state.failures, cancelled: !!cancelled },
    ]);
    await control.annotateSearch.executeWithOptions({ summary: 'the rounds and brackets into thresholds.json' }, [finish]);
    return out;
  });
  thresholds = fin.thresholds;
  state.completed = fin.completed;
  state.diverged = fin.diverged;
  const result: SweepResult = {
    sweepId: input.sweepId,
    status: cancelled ? 'cancelled' : fin.failed > 0 ? 'failed' : 'completed',
    trials: state.rounds.reduce((n, r) => n + r.trials, 0),
    completed: fin.completed,
    failed: fin.failed,
    diverged: fin.diverged,
    resultsUri: input.resultsUri,
    thresholds: fin.thresholds,
    findings: fin.findings,
    search: search(),
  };
  setStatus(result.status);
  if (cancelled) throw cancelled;
  if (result.status === 'failed') throw ApplicationFailure.nonRetryable(`${fin.failed} trials of the search failed`, 'SweepFailed', result);
  return result;
}
