import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { runWorkers, type WorkerRole } from '../../workers/worker.js';
import { handler } from '../errors.js';
import { checkConcurrency, envConcurrency, metricsConfig, withConnection, type ConnectionArgs } from '../options.js';
import { connectionSettings } from '../temporal.js';

export const builder = (y: Argv) =>
  withConnection(y, '127.0.0.1:7233')
    .option('queue', {
      type: 'string',
      choices: ['all', 'control', 'train'] as const,
      default: 'all' as const,
      describe: 'Which task queues to serve',
    })
    .option('train-queue', { type: 'string', describe: 'Training task queue name (default dynsweep-train; e.g. dynsweep-train-gpu)' })
    .option('concurrency', { type: 'number', describe: 'Packs trained at once (default: $SWEEP_CONCURRENCY, else the CPU cores)' })
    .option('metrics-port', { type: 'number', describe: 'Serve Prometheus metrics on this port at /metrics (default: $SWEEP_METRICS_PORT, else off)' })
    .option('metrics-host', { type: 'string', describe: 'Interface for the metrics port (default: $SWEEP_METRICS_HOST, else 127.0.0.1)' })
    .option('ready-file', { type: 'string', hidden: true, describe: 'Touch this file once polling' })
    .option('allow-stores-file', { type: 'string', hidden: true, describe: 'More store roots to write under, one a line (the local stack)' });

interface WorkerArgs extends ConnectionArgs {
  queue: WorkerRole;
  trainQueue?: string;
  concurrency?: number;
  metricsPort?: number;
  metricsHost?: string;
  readyFile?: string;
  allowStoresFile?: string;
}

export const handle = handler(async (args: WorkerArgs) => {
  checkConcurrency(args.concurrency);
  const concurrency = args.concurrency ?? envConcurrency();
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());
  const settings = connectionSettings(args);
  const temporal = { ...settings, address: settings.address ?? '127.0.0.1:7233' };
  const metrics = metricsConfig(args.metricsPort, args.metricsHost);
  await runWorkers(
    { temporal, metrics, allowStoresFile: args.allowStoresFile, role: args.queue, trainQueue: args.trainQueue, concurrency },
    controller.signal,
    () => {
      const served = metrics ? `, metrics on http://${metrics.host}:${metrics.port}/metrics` : '';
      process.stderr.write(`worker (${args.queue}) polling ${temporal.address} namespace ${temporal.namespace} (${temporal.security})${served}\n`);
      if (args.readyFile) writeFileSync(args.readyFile, String(process.pid));
    },
  );
});
