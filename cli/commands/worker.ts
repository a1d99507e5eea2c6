import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { runWorkers, type WorkerRole } from '../../workers/worker.js';
import { handler } from '../errors.js';
import { checkConcurrency, envConcurrency } from '../options.js';

export const builder = (y: Argv) =>
  y
    .option('queue', {
      type: 'string',
      choices: ['all', 'control', 'train'] as const,
      default: 'all' as const,
      describe: 'Which task queues to serve',
    })
    .option('train-queue', { type: 'string', describe: 'Training task queue name (default dynsweep-train; e.g. dynsweep-train-gpu)' })
    .option('concurrency', { type: 'number', describe: 'Packs trained at once (default: $SWEEP_CONCURRENCY, else the CPU cores)' })
    .option('address', { type: 'string', describe: 'Temporal frontend host:port (default: $TEMPORAL_ADDRESS or 127.0.0.1:7233)' })
    .option('namespace', { type: 'string', describe: 'Temporal namespace (default: $TEMPORAL_NAMESPACE or "default")' })
    .option('ready-file', { type: 'string', hidden: true, describe: 'Touch this file once polling' });

interface WorkerArgs {
  queue: WorkerRole;
  trainQueue?: string;
  concurrency?: number;
  address?: string;
  namespace?: string;
  readyFile?: string;
}

export const handle = handler(async (args: WorkerArgs) => {
  checkConcurrency(args.concurrency);
  const concurrency = args.concurrency ?? envConcurrency();
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());
  const address = args.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = args.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
  await runWorkers(
    { address, namespace, role: args.queue, trainQueue: args.trainQueue, concurrency },
    controller.signal,
    () => {
      process.stderr.write(`worker (${args.queue}) polling ${address} namespace ${namespace}\n`);
      if (args.readyFile) writeFileSync(args.readyFile, String(process.pid));
    },
  );
});
