import type { Argv } from 'yargs';
import { CliError, EXIT_FAILED, EXIT_OK, handler } from '../errors.js';
import { withConnection, withJson, type ConnectionArgs } from '../options.js';
import { renderResult } from '../render.js';
import { resultOf } from '../sweep-run.js';
import { connect, describeSweep, workflowUrl } from '../temporal.js';

export const builder = (y: Argv) =>
  withJson(withConnection(y))
    .positional('sweepId', { type: 'string', demandOption: true })
    .option('wait', { type: 'boolean', default: false, describe: 'Wait until the sweep has stopped and summary.json is written' });

interface Args extends ConnectionArgs {
  sweepId: string;
  json: boolean;
  wait: boolean;
}

/** Exit 0 once the cancellation is delivered (with --wait: once the sweep has ended cancelled); 1 when there is no running sweep. */
export const handle = handler(async (args: Args) => {
  const target = await connect(args);
  try {
    const { workflowId, handle, desc } = await describeSweep(target, args.sweepId);
    if (desc.status.name !== 'RUNNING') {
      throw new CliError(`sweep ${args.sweepId} is not running (${desc.status.name}); nothing to cancel`, EXIT_FAILED);
    }
    await handle.cancel();
    const uiUrl = workflowUrl(target, workflowId);
    const resultsUri = typeof desc.memo?.resultsUri === 'string' ? desc.memo.resultsUri : null;
    if (!args.wait || !resultsUri) {
      if (args.json) process.stdout.write(`${JSON.stringify({ sweepId: args.sweepId, workflowId, status: 'cancelling', resultsUri, uiUrl })}\n`);
      else process.stdout.write(`sweep ${args.sweepId}: cancel requested; running packs stop at their next heartbeat, finished trials are kept\n`);
      return EXIT_OK;
    }
    process.stderr.write(`sweep ${args.sweepId}: cancel requested; waiting for running packs to stop\n`);
    const result = await resultOf(handle, resultsUri);
    if (result.status !== 'cancelled') {
      // The request arrived after the last pack had finished: the sweep ended on its own, with everything kept.
      process.stderr.write(`sweep ${args.sweepId}: finished (${result.status}) before the cancellation took effect\n`);
    }
    process.stdout.write(args.json ? `${JSON.stringify({ ...result, workflowId, uiUrl })}\n` : renderResult(result, uiUrl));
    return EXIT_OK;
  } finally {
    await target.connection.close();
  }
});
