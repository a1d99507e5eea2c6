import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { MAX_CARRIED_FAILURES, type JudgeActivities, type JudgeOutput, type SweepActivities, type ThresholdBrief } from '../activities/contracts.js';
import {
  CONTROL_QUEUE,
  monitorSignal,
  progressQuery,
  SWEEP_STATUS_KEY,
  SWEEP_VERDICT_KEY,
  type SweepCarry,
  type SweepInput,
  type SweepProgress,
  type SweepResult,
  type SweepStatus,
} from './definitions.js';
import { detailsMarkdown } from './details.js';
import { monitorEveryS, SweepMonitor } from './monitor.js';
import { runPackWindow, trainPackActivity } from './packs.js';

/** Continue-as-new well before Temporal's 51,200-event history limit. */
const DEFAULT_HISTORY_BUDGET = 10_000;

const control = proxyActivities<SweepActivities & JudgeActivities>({
  taskQueue: CONTROL_QUEUE,
  startToCloseTimeout: '30 minutes',
  // Control activities heartbeat, so a worker killed mid-activity is noticed in seconds, not at the timeout.
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['GridError'] },
});

/**
 * One sweep: plan the grid into packs, train them through a bounded window of activities on the
 * training queue, then compute thresholds from the store. Records never pass through history.
 */
/** A scheduled run's id and results folder, from its workflow id ("sweep-<name>-<scheduled time>"). */
function scheduledIds(input: SweepInput): { sweepId: string; resultsUri: string } {
  if (!input.schedule) return { sweepId: input.sweepId, resultsUri: input.resultsUri };
  const wid = workflowInfo().workflowId;
  const sweepId = wid.startsWith('sweep-') ? wid.slice('sweep-'.length) : wid;
  return { sweepId, resultsUri: `${input.schedule.storeRoot.replace(/\/+$/, '')}/${sweepId}` };
}

/**
 * Upsert a Keyword search attribute only when the start request carried it (so it is registered: an unregistered
 * one would fail every workflow task). Sweeps started before SweepStatus existed never carry it, so their histories
 * replay without these commands.
 */
function upsertIfCarried(key: typeof SWEEP_STATUS_KEY, value: string): void {
  const info = workflowInfo();
  const current = info.typedSearchAttributes.get(key) ?? (info.searchAttributes?.[key.name] as string[] | undefined)?.[0];
  if (current === undefined || current === value) return;
  upsertSearchAttributes([{ key, value }]);
}

export async function sweepWorkflow(rawInput: SweepInput): Promise<SweepResult> {
  const input: SweepInput = { ...rawInput, ...scheduledIds(rawInput) };
  if (input.schedule && !input.carry) upsertMemo({ sweepId: input.sweepId, resultsUri: input.resultsUri });
  let status: SweepStatus = input.carry ? 'running' : 'planning';
  let running = 0;
  let thresholds: Record<string, ThresholdBrief> | null = null;
  let regression: JudgeOutput | null = null;
  const state: SweepCarry = input.carry ?? {
    plan: undefined as never,
    nextPack: 0,
    completed: 0,
    diverged: 0,
    donePacks: 0,
    failedPacks: 0,
    failures: [],
    startedAt: Date.now(),
    best: null,
  };

  // Live instability counts: running packs signal them, finished packs' totals ride in the carry.
  const monitor = new SweepMonitor(state);
  const progress = (): SweepProgress => ({
    sweepId: input.sweepId,
    name: state.plan?.name ?? '',
    status,
    totalTrials: state.plan?.totalTrials ?? 0,
    completedTrials: state.completed,
    failedPacks: state.failedPacks,
    divergedTrials: state.diverged,
    totalPacks: state.plan?.packCount ?? 0,
    donePacks: state.donePacks,
    runningPacks: running,
    startedAt: state.startedAt,
    resultsUri: input.resultsUri,
    bestValAcc: state.best ?? null,
    regression,
    monitor: monitor.view(),
  });
  setHandler(progressQuery, progress);
  // The web UI's live view: markdown details (not in history), and SweepStatus as it moves.
  const show = () => setCurrentDetails(detailsMarkdown(progress(), thresholds, input.schedule?.name ?? null));
  setHandler(monitorSignal, (u) => {
    if (monitor.update(u)) show();
  });
  const setStatus = (s: SweepStatus) => {
    status = s;
    upsertIfCarried(SWEEP_STATUS_KEY, s);
    show();
  };
  if (!input.carry) setStatus('planning');
  else show();

  if (!input.carry) {
    state.plan = await control.planSweep.executeWithOptions({ summary: `plan ${input.gridFile} into packs` }, [
      {
        resultsUri: input.resultsUri,
        sweepId: input.sweepId,
        gridYaml: input.gridYaml,
        gridFile: input.gridFile,
      },
    ]);
  }
  const plan = state.plan;
  setStatus('running');

  const trainPack = trainPackActivity(plan);

  async function runPack(index: number): Promise<void> {
    running++;
    monitor.started(index);
    try {
      // What the pack trains is in its heartbeat details (the activity reads it from the store).
      const summary = `pack ${index + 1}/${plan.packCount}`;
      const r = await trainPack.executeWithOptions({ summary }, [
        { resultsUri: input.resultsUri, sweepId: input.sweepId, packIndex: index, gridHash: plan.gridHash, monitorEveryS: monitorEveryS(plan.maxConcurrentPacks) },
      ]);
      monitor.finished(index, r.monitor);
      state.completed += r.completed;
      state.diverged += r.diverged;
      if (r.bestValAcc && (!state.best || r.bestValAcc.value > state.best.value)) state.best = r.bestValAcc;
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Retries are exhausted: the pack's trials are recorded as failed in summary.json (the first few with why).
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      state.failedPacks++;
      if (state.failures.length < MAX_CARRIED_FAILURES) state.failures.push({ packIndex: index, message: cause });
    } finally {
      running--;
      monitor.finished(index);
      state.donePacks++;
      show();
    }
  }

  const historyBudget = input.historyBudget ?? DEFAULT_HISTORY_BUDGET;
  const mustRoll = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyBudget;
  const inFlight = new Set<Promise<void>>();
  let cancelled: unknown = undefined;
  try {
    await runPackWindow(inFlight, plan.maxConcurrentPacks, () => (state.nextPack < plan.packCount && !mustRoll() ? state.nextPack++ : null), runPack);
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = err;
    setStatus('cancelled');
    // Let running packs observe the cancellation and stop; what they finished stays in the store.
    await CancellationScope.nonCancellable(() => Promise.allSettled([...inFlight]));
  }

  if (!cancelled && state.nextPack < plan.packCount) {
    await continueAsNew<typeof sweepWorkflow>({ ...input, carry: state });
  }

  if (!cancelled) setStatus('finalizing');
  const fin = await CancellationScope.nonCancellable(() =>
    control.finalizeSweep.executeWithOptions({ summary: 'thresholds.json and summary.json from the records' }, [
      { resultsUri: input.resultsUri, sweepId: input.sweepId, gridHash: plan.gridHash, failures: state.failures, cancelled: !!cancelled },
    ]),
  );
  state.completed = fin.completed;
  state.diverged = fin.diverged;
  thresholds = fin.thresholds;

  // A scheduled run is judged against its baseline; the verdict goes to regression.json and the UI.
  const schedule = input.schedule;
  if (schedule && !cancelled) {
    setStatus('judging');
    regression = await CancellationScope.nonCancellable(() =>
      control.judgeSweep.executeWithOptions({ summary: `judge ${input.sweepId} against the baseline of schedule ${schedule.name}` }, [
        { sweepId: input.sweepId, resultsUri: input.resultsUri, schedule },
      ]),
    );
    upsertIfCarried(SWEEP_VERDICT_KEY, regression.verdict);
  }
  const result: SweepResult = {
    sweepId: input.sweepId,
    status: cancelled ? 'cancelled' : fin.failed > 0 ? 'failed' : 'completed',
    trials: plan.totalTrials,
    completed: fin.completed,
    failed: fin.failed,
    diverged: fin.diverged,
    resultsUri: input.resultsUri,
    thresholds: fin.thresholds,
    findings: fin.findings,
    ...(schedule ? { regression } : {}),
  };
  setStatus(result.status);
  // Rethrow so Temporal shows the run as Canceled; summary.json in the store has the counts.
  if (cancelled) throw cancelled;
  if (result.status === 'failed') {
    throw ApplicationFailure.nonRetryable(`${fin.failed} of ${plan.totalTrials} trials failed`, 'SweepFailed', result);
  }
  return result;
}
