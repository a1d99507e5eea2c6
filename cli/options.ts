import type { Argv } from 'yargs';
import { concurrencyFromEnv } from '../workers/concurrency.js';
import { CliError, EXIT_BAD_INPUT } from './errors.js';

/** --address / --namespace: where Temporal is. Without an address the embedded local stack is used. */
export function withConnection<T>(y: Argv<T>) {
  return y
    .option('address', {
      type: 'string',
      describe: 'Temporal frontend host:port (default: $TEMPORAL_ADDRESS, else the embedded local stack)',
    })
    .option('namespace', {
      type: 'string',
      describe: 'Temporal namespace (default: $TEMPORAL_NAMESPACE or "default")',
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
