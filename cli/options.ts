import type { Argv } from 'yargs';

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
