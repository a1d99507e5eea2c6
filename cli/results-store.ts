import type { Store } from '../core/store.js';
import { openStore } from '../storage/open.js';
import { CliError, EXIT_BAD_INPUT } from './errors.js';

/** The store root: --store, else $SWEEP_STORE, else ./sweeps. Each sweep lives under <root>/<sweepId>/. */
export function storeRoot(flag: string | undefined): Store {
  const uri = flag ?? process.env.SWEEP_STORE ?? './sweeps';
  try {
    return openStore(uri, { createBucket: true });
  } catch (err) {
    throw new CliError(`--store ${uri}: ${(err as Error).message}`, EXIT_BAD_INPUT);
  }
}
