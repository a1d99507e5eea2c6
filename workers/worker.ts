import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { createJudgeActivities } from '../activities/judge.js';
import { ThreadPackRunner } from '../activities/runner.js';
import { openStore } from '../storage/open.js';
import { CONTROL_QUEUE, TRAIN_QUEUE } from '../workflows/definitions.js';

export type WorkerRole = 'control' | 'train' | 'all';

export interface WorkerConfig {
  /** Temporal frontend, host:port. */
  address: string;
  namespace: string;
  /** Which queues this process serves. Default 'all'. */
  role: WorkerRole;
  /** Training task queue. Default 'dynsweep-train'. */
  trainQueue?: string;
  /** Packs trained at once (one worker thread each). Default: the number of CPU cores. */
  concurrency?: number;
}

const workflowsPath = fileURLToPath(new URL('../workflows/index.js', import.meta.url));

/**
 * Start the workers of one process and run until `signal` aborts (or a worker fails).
 * Control: sweep workflows and their light activities. Train: one pack per core, each in a worker thread.
 */
export async function runWorkers(config: WorkerConfig, signal?: AbortSignal, onReady?: () => void): Promise<void> {
  const connection = await NativeConnection.connect({ address: config.address });
  const activities = createActivities({ openStore: (uri) => openStore(uri), runner: new ThreadPackRunner() });
  // Scheduled sweeps: the verdict against a baseline, after finalize.
  const judge = createJudgeActivities({ openStore: (uri) => openStore(uri) });
  const common: Pick<WorkerOptions, 'connection' | 'namespace'> = { connection, namespace: config.namespace };
  const workers: Worker[] = [];
  try {
    if (config.role !== 'train') {
      workers.push(
        await Worker.create({
          ...common,
          taskQueue: CONTROL_QUEUE,
          workflowsPath,
          activities: { planSweep: activities.planSweep, finalizeSweep: activities.finalizeSweep, ...judge },
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
