/**
 * Where a sweep's results are, for commands that read them (results, report): --results <uri> reads a results
 * folder directly (no Temporal needed); otherwise the sweep id is looked up on Temporal and its results location
 * comes from the workflow memo `resultsUri` (set by `sweep start`, readable without a worker).
 */
import type { Argv } from 'yargs';
import type { Store } from '../core/store.js';
import { openStore } from '../storage/open.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILED } from './errors.js';
import { withConnection, type ConnectionArgs } from './options.js';
import { connect, describeSweep, workflowUrl } from './temporal.js';

export interface ResultsArgs extends ConnectionArgs {
  sweepId?: string;
  results?: string;
}

/** [sweepId] positional plus --results, --address and --namespace. */
export function withResultsSource<T>(y: Argv<T>) {
  return withConnection(y)
    .positional('sweepId', { type: 'string', describe: 'Sweep id (as printed by `sweep start` and `sweep list`)' })
    .option('results', {
      type: 'string',
      describe: "Read this results folder (s3://bucket/prefix/<sweepId> or a path) instead of asking Temporal where it is",
    });
}

export interface ResultsLocation {
  store: Store;
  sweepId: string | undefined;
  /** The sweep in the Temporal web UI; null with --results. */
  uiUrl: string | null;
}

export async function locateResults(args: ResultsArgs): Promise<ResultsLocation> {
  if (args.results) {
    try {
      return { store: openStore(args.results), sweepId: args.sweepId, uiUrl: null };
    } catch (err) {
      throw new CliError(`--results ${args.results}: ${(err as Error).message}`, EXIT_BAD_INPUT);
    }
  }
  if (!args.sweepId) throw new CliError('name a sweep id, or a results folder with --results <uri>', EXIT_BAD_INPUT);
  const target = await connect(args);
  try {
    const { workflowId, desc } = await describeSweep(target, args.sweepId);
    const uri = desc.memo?.resultsUri;
    if (typeof uri !== 'string' || !uri) {
      throw new CliError(`sweep ${args.sweepId} has no resultsUri in its memo; pass --results <uri>`, EXIT_FAILED);
    }
    return { store: openStore(uri), sweepId: args.sweepId, uiUrl: workflowUrl(target, workflowId) };
  } finally {
    await target.connection.close();
  }
}
