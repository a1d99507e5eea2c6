import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { runWorkers, type WorkerRole } from '../../workers/worker.js';
import { CliError, EXIT_BAD_INPUT, handler } from '../errors.js';
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
    .option('store-retry', { type: 'number', describe: 'Seconds a store call is retried through an outage (default: $SWEEP_STORE_RETRY_S, else 600)' })
    .option('spool-dir', { type: 'string', describe: 'Where trained outcomes wait until stored (default: $SWEEP_SPOOL_DIR, else ~/.cache/dynsweep/spool)' })
    .option('shutdown-grace', { type: 'number', describe: 'Seconds running packs get to finish on SIGTERM before they are handed back (default: $SWEEP_SHUTDOWN_GRACE_S, else 25)' })
    .option('ready-file', { type: 'string', hidden: true, describe: 'Touch this file once polling' })
    .option('allow-stores-file', { type: 'string', hidden: true, describe: 'More store roots to write under, one a line (the local stack)' });

interface WorkerArgs extends ConnectionArgs {
  queue: WorkerRole;
  trainQueue?: string;
  concurrency?: number;
  metricsPort?: number;
  metricsHost?: string;
  storeRetry?: number;
  spoolDir?: string;
  shutdownGrace?: number;
  readyFile?: string;
  allowStoresFile?: string;
}

/** A number of seconds from the environment, or undefined when unset; exit 2 on anything else. */
function envSeconds(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new CliError(`${name}=${JSON.stringify(raw)}: expected a number of seconds >= 0`, EXIT_BAD_INPUT);
  return v;
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
    {
      temporal,
      metrics,
      allowStoresFile: args.allowStoresFile,
      role: args.queue,
      trainQueue: args.trainQueue,
      concurrency,
      storeRetryS: args.storeRetry ?? envSeconds('SWEEP_STORE_RETRY_S'),
      spoolDir: args.spoolDir ?? (process.env.SWEEP_SPOOL_DIR || undefined),
      shutdownGraceS: args.shutdownGrace ?? envSeconds('SWEEP_SHUTDOWN_GRACE_S'),
    },
    controller.signal,
    () => {
      const served = metrics ? `, metrics on http://${metrics.host}:${metrics.port}/metrics` : '';
      process.stderr.write(`worker (${args.queue}) polling ${temporal.address} namespace ${temporal.namespace} (${temporal.security})${served}\n`);
      if (args.readyFile) writeFileSync(args.readyFile, String(process.pid));
    },
  );
});
