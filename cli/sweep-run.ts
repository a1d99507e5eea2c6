import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import type { sweepWorkflow } from '../workflows/sweep.js';
import { progressQuery, type SweepResult } from '../workflows/definitions.js';
import { SUMMARY_KEY, type SweepSummary } from '../results/summary.js';
import { openStore } from '../storage/open.js';
import { ProgressView } from './render.js';

/** Follow a running sweep with a progress bar until it ends, then return its result. */
export async function followSweep(handle: WorkflowHandle<typeof sweepWorkflow>, resultsUri: string, showProgress: boolean): Promise<SweepResult> {
  const view = new ProgressView();
  let done = false;
  let wake = () => {};
  const poll = (async () => {
    while (!done) {
      try {
        // A query waits for a worker; never let a busy or dead one stall the display.
        if (showProgress) {
          const [progress, inFlight] = await Promise.all([
            withTimeout(handle.query(progressQuery), 3000),
            trialsInFlight(handle).catch(() => 0),
          ]);
          view.update(progress, inFlight);
        }
      } catch {
        // The first workflow task may not have run yet; try again.
      }
      // Sleep, but wake at once when the sweep ends so the result is not held back by a second of polling.
      await new Promise<void>((r) => {
        const t = setTimeout(r, 1000);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  })();
  try {
    return await resultOf(handle, resultsUri);
  } finally {
    done = true;
    wake();
    await poll;
    view.stop();
  }
}

/**
 * Fractional trials done inside running packs, from the heartbeat details of pending training
 * activities (read from the server; no worker involved), so the bar moves between pack completions.
 */
export async function trialsInFlight(handle: WorkflowHandle): Promise<number> {
  const desc = await handle.describe();
  let sum = 0;
  for (const a of desc.raw.pendingActivities ?? []) {
    const payload = a.activityType?.name === 'trainPack' ? a.heartbeatDetails?.payloads?.[0] : undefined;
    if (!payload) continue;
    const d = defaultPayloadConverter.fromPayload<{ step?: number; totalSteps?: number; trials?: number }>(payload as never);
    if (d?.totalSteps && d.trials) sum += d.trials * Math.min(1, (d.step ?? 0) / d.totalSteps);
  }
  return sum;
}

/** The sweep's result: from the workflow when it completed, else from the failure's details or summary.json. */
export async function resultOf(handle: WorkflowHandle<typeof sweepWorkflow>, resultsUri: string): Promise<SweepResult> {
  try {
    return await handle.result();
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    if (cause instanceof ApplicationFailure && cause.type === 'SweepFailed' && cause.details?.[0]) {
      return cause.details[0] as SweepResult;
    }
    if (cause instanceof CancelledFailure) {
      const summary = await readSummary(resultsUri);
      if (summary) return { ...summaryToResult(summary, resultsUri), status: 'cancelled' };
    }
    throw new Error(`sweep ${handle.workflowId} failed: ${rootMessage(err)}`);
  }
}

/** The message of a failure's innermost cause ("Activity task failed" says less than what made it fail). */
export function rootMessage(err: Error): string {
  let e = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}

export async function readSummary(resultsUri: string): Promise<SweepSummary | null> {
  const text = await openStore(resultsUri).getText(SUMMARY_KEY);
  return text ? (JSON.parse(text) as SweepSummary) : null;
}

export function summaryToResult(s: SweepSummary, resultsUri: string): SweepResult {
  return {
    sweepId: s.sweepId,
    status: s.status,
    trials: s.trials,
    completed: s.completed,
    failed: s.failed,
    diverged: s.diverged,
    resultsUri,
    thresholds: s.thresholds,
    findings: s.findings,
  };
}

/** Reject when `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
