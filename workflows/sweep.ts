import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { PackRef, SweepActivities } from '../activities/contracts.js';
import {
  CONTROL_QUEUE,
  progressQuery,
  type SweepCarry,
  type SweepInput,
  type SweepResult,
  type SweepStatus,
} from './definitions.js';

/** Continue-as-new well before Temporal's 51,200-event history limit. */
const DEFAULT_HISTORY_BUDGET = 10_000;

const control = proxyActivities<SweepActivities>({
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
export async function sweepWorkflow(input: SweepInput): Promise<SweepResult> {
  let status: SweepStatus = input.carry ? 'running' : 'planning';
  let running = 0;
  const state: SweepCarry = input.carry ?? {
    plan: undefined as never,
    nextPack: 0,
    completed: 0,
    diverged: 0,
    donePacks: 0,
    failures: [],
    startedAt: Date.now(),
  };

  setHandler(progressQuery, () => ({
    sweepId: input.sweepId,
    name: state.plan?.name ?? '',
    status,
    totalTrials: state.plan?.totalTrials ?? 0,
    completedTrials: state.completed,
    failedTrials: state.failures.reduce((n, f) => n + f.trials, 0),
    divergedTrials: state.diverged,
    totalPacks: state.plan?.packs.length ?? 0,
    donePacks: state.donePacks,
    runningPacks: running,
    startedAt: state.startedAt,
    resultsUri: input.resultsUri,
  }));

  if (!input.carry) {
    state.plan = await control.planSweep({
      resultsUri: input.resultsUri,
      sweepId: input.sweepId,
      gridYaml: input.gridYaml,
      gridFile: input.gridFile,
    });
  }
  const plan = state.plan;
  status = 'running';

  const train = proxyActivities<SweepActivities>({
    taskQueue: plan.taskQueue,
    startToCloseTimeout: plan.packTimeoutS * 1000,
    heartbeatTimeout: plan.heartbeatTimeoutS * 1000,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: plan.maxAttempts,
      initialInterval: '2s',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: ['GridError', 'BadPack'],
    },
  });

  async function runPack(ref: PackRef): Promise<void> {
    running++;
    try {
      const r = await train.trainPack({ resultsUri: input.resultsUri, sweepId: input.sweepId, packIndex: ref.index });
      state.completed += r.completed;
      state.diverged += r.diverged;
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Retries are exhausted: the pack's trials are recorded as failed in summary.json.
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      state.failures.push({ packIndex: ref.index, trials: ref.size, message: cause });
    } finally {
      running--;
      state.donePacks++;
    }
  }

  const historyBudget = input.historyBudget ?? DEFAULT_HISTORY_BUDGET;
  const mustRoll = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyBudget;
  const inFlight = new Set<Promise<void>>();
  let cancelled: unknown = undefined;
  try {
    for (;;) {
      while (inFlight.size < plan.maxConcurrentPacks && state.nextPack < plan.packs.length && !mustRoll()) {
        const p: Promise<void> = runPack(plan.packs[state.nextPack++]).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = err;
    status = 'cancelled';
    // Let running packs observe the cancellation and stop; what they finished stays in the store.
    await CancellationScope.nonCancellable(() => Promise.allSettled([...inFlight]));
  }

  if (!cancelled && state.nextPack < plan.packs.length) {
    await continueAsNew<typeof sweepWorkflow>({ ...input, carry: state });
  }

  if (!cancelled) status = 'finalizing';
  const fin = await CancellationScope.nonCancellable(() =>
    control.finalizeSweep({ resultsUri: input.resultsUri, sweepId: input.sweepId, failures: state.failures, cancelled: !!cancelled }),
  );
  state.completed = fin.completed;
  state.diverged = fin.diverged;
  const result: SweepResult = {
    sweepId: input.sweepId,
    status: cancelled ? 'cancelled' : fin.failed > 0 ? 'failed' : 'completed',
    trials: plan.totalTrials,
    completed: fin.completed,
    failed: fin.failed,
    diverged: fin.diverged,
    resultsUri: input.resultsUri,
    thresholds: fin.thresholds,
  };
  status = result.status;
  // Rethrow so Temporal shows the run as Canceled; summary.json in the store has the counts.
  if (cancelled) throw cancelled;
  if (result.status === 'failed') {
    throw ApplicationFailure.nonRetryable(`${fin.failed} of ${plan.totalTrials} trials failed`, 'SweepFailed', result);
  }
  return result;
}
