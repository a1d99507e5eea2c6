import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { createJudgeActivities } from '../activities/judge.js';
import { createSearchActivities } from '../activities/search.js';
import { ThreadPackRunner } from '../activities/runner.js';
import { allowListed, StoreNotAllowedError } from '../storage/allow.js';
import { openStore } from '../storage/open.js';
import { withRetries } from '../storage/retry.js';
import { OutcomeSpool } from '../storage/spool.js';
import { WORKFLOW_BUNDLE, WORKFLOWS_PATH } from './paths.js';
import { CONTROL_QUEUE, TRAIN_QUEUE } from '../workflows/definitions.js';
import { connectionOptions, type TemporalSettings } from './connection.js';
import { meteredRunner, meteredStore, setUpMetrics, type MetricsConfig } from './metrics.js';

export type WorkerRole = 'control' | 'train' | 'all';

export interface WorkerConfig {
  /** Where Temporal is and how to connect (workers/connection.ts). */
  temporal: TemporalSettings & { address: string };
  /** Serve Prometheus metrics (workers/metrics.ts); off when unset. */
  metrics?: MetricsConfig;
  /** A file of further store roots this worker may write under, re-read on every check (storage/allow.ts). */
  allowStoresFile?: string;
  /** Which queues this process serves. Default 'all'. */
  role: WorkerRole;
  /** Training task queue. Default 'dynsweep-train'. */
  trainQueue?: string;
  /** Packs trained at once (one worker thread each). Default: the number of CPU cores. */
  concurrency?: number;
  /**
   * How long a store call is retried through an outage before it fails (seconds). Default 600: a storage outage of
   * minutes costs time, not training (storage/retry.ts).
   */
  storeRetryS?: number;
  /** Where trained outcomes wait on this machine's disk until they are in the store (storage/spool.ts). Default ~/.cache/dynsweep/spool. */
  spoolDir?: string;
  /**
   * On shutdown (SIGTERM, SIGINT), how long running packs may take to finish before they are cancelled and handed
   * back to Temporal, which retries them on another worker (seconds). Default 25 (inside Kubernetes' 30 s).
   */
  shutdownGraceS?: number;
}

/** The build's workflow bundle exists and is not older than the compiled workflow code. */
function bundleIsCurrent(): boolean {
  return existsSync(WORKFLOW_BUNDLE) && statSync(WORKFLOW_BUNDLE).mtimeMs >= statSync(WORKFLOWS_PATH).mtimeMs;
}

/** Defaults of WorkerConfig, where a value is computed. */
export const defaultSpoolDir = () => path.join(os.homedir(), '.cache', 'dynsweep', 'spool');


/**
 * Start the workers of one process and run until `signal` aborts (or a worker fails).
 * Control: sweep workflows and their light activities. Train: one pack per core, each in a worker thread.
 */
export async function runWorkers(config: WorkerConfig, signal?: AbortSignal, onReady?: () => void): Promise<void> {
  const metrics = setUpMetrics(config.metrics);
  // Only under the configured roots: a workflow's input names its results location, and a refusal is final.
  const budgetMs = (config.storeRetryS ?? 600) * 1000;
  const retried = (uri: string) =>
    withRetries(meteredStore(openStore(uri), metrics.storeErrors), {
      budgetMs,
      onRetry: (err, op, attempt, waitMs) =>
        console.warn(`store ${uri}: ${op} failed (attempt ${attempt}, retrying in ${waitMs / 1000} s): ${(err as Error).message}`),
    });
  const allowed = allowListed(retried, { allowFile: config.allowStoresFile });
  const open = (uri: string) => {
    try {
      return allowed(uri);
    } catch (err) {
      if (err instanceof StoreNotAllowedError) throw ApplicationFailure.nonRetryable(err.message, 'StoreNotAllowed');
      throw err;
    }
  };
  const connection = await NativeConnection.connect(connectionOptions(config.temporal));
  const activities = createActivities({
    openStore: open,
    runner: meteredRunner(new ThreadPackRunner(), metrics),
    spool: new OutcomeSpool(config.spoolDir ?? defaultSpoolDir()),
  });
  // Scheduled sweeps: the verdict against a baseline, after finalize.
  const judge = createJudgeActivities({ openStore: open });
  // Threshold searches: their rounds are planned and judged on the control queue.
  const search = createSearchActivities({ openStore: open });
  const common: Pick<WorkerOptions, 'connection' | 'namespace'> = { connection, namespace: config.temporal.namespace };
  const workers: Worker[] = [];
  try {
    if (config.role !== 'train') {
      workers.push(
        await Worker.create({
          ...common,
          taskQueue: CONTROL_QUEUE,
          // The bundle made at build time; without a current one (a build that skipped it), webpack bundles at start-up.
          ...(bundleIsCurrent() ? { workflowBundle: { codePath: WORKFLOW_BUNDLE } } : { workflowsPath: WORKFLOWS_PATH }),
          activities: { planSweep: activities.planSweep, finalizeSweep: activities.finalizeSweep, ...judge, ...search },
        }),
      );
    }
    if (config.role !== 'control') {
      workers.push(
        await Worker.create({
          ...common,
          taskQueue: config.trainQueue ?? TRAIN_QUEUE,
          activities: { trainPack: activities.trainPack },
          maxConcurrentActivityTaskExecutions: config.concurrency ?? os.availableParallelism(),
          shutdownGraceTime: (config.shutdownGraceS ?? 25) * 1000,
          // In-pack progress reaches the server (and `sweep status`, the ETA) every few seconds, not every 0.8 x
          // the heartbeat timeout.
          maxHeartbeatThrottleInterval: '5 seconds',
        }),
      );
    }
    const stop = () => workers.forEach((w) => w.shutdown());
    signal?.addEventListener('abort', stop);
    onReady?.();
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await connection.close();
  }
}
