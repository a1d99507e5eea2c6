/**
 * What sweeps and threshold searches share about training packs: the trainPack activity with the plan's queue,
 * timeouts and retries, and the bounded window of them in flight. Deterministic (workflow code).
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { PackExecution, SweepActivities } from '../activities/contracts.js';

/**
 * trainPack on the plan's training queue: a cancelled pack is waited for (it stops at its next heartbeat), and
 * retries back off from 2 s to a minute; a bad grid or pack is not retried.
 */
export function trainPackActivity(plan: PackExecution) {
  return proxyActivities<SweepActivities>({
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
  }).trainPack;
}

/**
 * Start `run(index)` for each index `next()` gives while fewer than `limit` run, until `next()` gives null and
 * none runs. `inFlight` is the caller's, so that on cancellation it can wait for the packs still running.
 */
export async function runPackWindow(inFlight: Set<Promise<void>>, limit: number, next: () => number | null, run: (index: number) => Promise<void>): Promise<void> {
  for (;;) {
    for (let index: number | null; inFlight.size < limit && (index = next()) !== null; ) {
      const p: Promise<void> = run(index).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    if (inFlight.size === 0) return;
    await Promise.race(inFlight);
  }
}
