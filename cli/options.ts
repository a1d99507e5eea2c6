import type { Argv } from 'yargs';
import { concurrencyFromEnv } from '../workers/concurrency.js';
import { CliError, EXIT_BAD_INPUT } from './errors.js';

/**
 * --address / --namespace / --profile: where Temporal is, over Temporal's environment configuration (a profile of
 * $TEMPORAL_CONFIG_FILE, then the TEMPORAL_* variables; docs/deploy.md). `fallback`: what runs when nothing names an address.
 */
export function withConnection<T>(y: Argv<T>, fallback = 'the embedded local stack') {
  return y
    .option('address', {
      type: 'string',
      describe: `Temporal frontend host:port (default: $TEMPORAL_ADDRESS, else the profile's address, else ${fallback})`,
    })
    .option('namespace', {
      type: 'string',
      describe: `Temporal namespace (default: $TEMPORAL_NAMESPACE, else the profile's, else "default")`,
    })
    .option('profile', {
      type: 'string',
      describe: 'Profile of the Temporal config file, $TEMPORAL_CONFIG_FILE (default: $TEMPORAL_PROFILE, else "default")',
    });
}

/** --store: where results go. */
export function withStore<T>(y: Argv<T>) {
  return y.option('store', {
    type: 'string',
    describe: 'Results store: s3://bucket/prefix or a folder (default: $SWEEP_STORE, else ./sweeps)',
  });
}

export function withJson<T>(y: Argv<T>) {
  return y.option('json', { type: 'boolean', default: false, describe: 'End stdout with one JSON object' });
}

export interface ConnectionArgs {
  address?: string;
  namespace?: string;
  profile?: string;
}

/** --concurrency, when given, is a positive integer (exit 2 otherwise). */
export function checkConcurrency(concurrency: number | undefined): void {
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw new CliError(`--concurrency must be a positive integer, got ${concurrency}`, EXIT_BAD_INPUT);
  }
}

/** $SWEEP_CONCURRENCY, or undefined when unset; a bad value is bad input (exit 2). */
export function envConcurrency(): number | undefined {
  try {
    return concurrencyFromEnv() ?? undefined;
  } catch (err) {
    throw new CliError((err as Error).message, EXIT_BAD_INPUT);
  }
}

/**
 * --metrics-port (default $SWEEP_METRICS_PORT) and --metrics-host (default $SWEEP_METRICS_HOST, else 127.0.0.1): where a
 * worker serves Prometheus metrics; undefined (off) without a port. A port that is not 1-65535 is bad input (exit 2).
 */
export function metricsConfig(port: number | undefined, host: string | undefined): { port: number; host: string } | undefined {
  const raw = port ?? (process.env.SWEEP_METRICS_PORT?.trim() || undefined);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new CliError(`${port !== undefined ? '--metrics-port' : 'SWEEP_METRICS_PORT'} must be a port (1-65535), got ${JSON.stringify(raw)}`, EXIT_BAD_INPUT);
  }
  return { port: n, host: host ?? (process.env.SWEEP_METRICS_HOST?.trim() || '127.0.0.1') };
}
