import type { Argv } from 'yargs';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { gridHash, nameOf } from '../../results/manifest.js';
import { CONTROL_QUEUE, TRAIN_QUEUE, type SweepInput } from '../../workflows/definitions.js';
import type { sweepWorkflow as SweepWorkflowFn } from '../../workflows/sweep.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, handler } from '../errors.js';
import { loadGrid } from '../grid-file.js';
import { withConnection, withJson, withStore, type ConnectionArgs } from '../options.js';
import { renderResult } from '../render.js';
import { storeRoot } from '../results-store.js';
import { followSweep } from '../sweep-run.js';
import { connect, queuesWithoutWorkers, workflowIdOf, workflowUrl, type Target } from '../temporal.js';
import { isSearchAttributeError, staticDetails, staticSummary, sweepSearchAttributes } from '../ui-metadata.js';

export const builder = (y: Argv) =>
  withJson(withStore(withConnection(y)))
    .positional('grid', { type: 'string', demandOption: true, describe: 'Path to grid.yaml' })
    .option('wait', { type: 'boolean', default: false, describe: 'Show progress and wait for the thresholds' })
    .option('id', {
      type: 'string',
      describe: 'Sweep id (default: <name>-<grid hash>; the same grid resumes and reuses finished trials)',
    });

interface StartArgs extends ConnectionArgs {
  grid: string;
  wait: boolean;
  json: boolean;
  store?: string;
  id?: string;
}

export const handle = handler(async (args: StartArgs) => {
  const grid = await loadGrid(args.grid);
  const sweepId = args.id ?? `${nameOf(grid.spec, grid.file)}-${gridHash(grid.spec).slice(0, 8)}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(sweepId)) {
    throw new CliError(`--id ${sweepId}: use letters, digits, ".", "_" or "-"`, EXIT_BAD_INPUT);
  }
  const root = storeRoot(args.store);
  const results = root.child(sweepId);
  try {
    await results.exists('summary.json');
  } catch (err) {
    throw new CliError(`results store ${root.uri} is not usable: ${(err as Error).message}`, EXIT_FAILED);
  }

  const meta = { name: nameOf(grid.spec, grid.file), gridHash: gridHash(grid.spec), gridFile: grid.file, spec: grid.spec, trials: grid.trialCount };
  const target = await connect(args, root.uri);
  try {
    const workflowId = workflowIdOf(sweepId);
    const options = {
      taskQueue: CONTROL_QUEUE,
      workflowId,
      args: [{ sweepId, resultsUri: results.uri, gridYaml: grid.text, gridFile: grid.location }] as [SweepInput],
      // Starting the same sweep while it runs attaches to it instead of failing.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      // Readable without a worker (describe), so `sweep status` finds the results even when no worker runs.
      memo: { sweepId, resultsUri: results.uri, name: nameOf(grid.spec, grid.file) },
      // What the web UI shows before any worker runs; the workflow adds live details.
      staticSummary: staticSummary(meta),
      staticDetails: staticDetails(meta, { resultsUri: results.uri, sweepId }),
    };
    const typedSearchAttributes = sweepSearchAttributes(meta, false);
    // A grid with `search: threshold` runs as a threshold search (workflows/search.ts), with the same result.
    const workflowType = grid.spec.search ? 'searchWorkflow' : 'sweepWorkflow';
    const handle = await target.client.workflow
      .start<typeof SweepWorkflowFn>(workflowType, { ...options, typedSearchAttributes })
      .catch((err: Error) => {
        // A server without our search attributes registered still runs the sweep, unindexed.
        const why = isSearchAttributeError(err);
        if (!why) throw err;
        process.stderr.write(`warning: ${why}; starting without search attributes (see README, "Deploy at scale")\n`);
        return target.client.workflow.start<typeof SweepWorkflowFn>(workflowType, options);
      });
    const uiUrl = workflowUrl(target, workflowId);
    process.stderr.write(`sweep ${sweepId}: ${grid.spec.search ? `threshold search (a full grid: ${grid.trialCount} trials)` : `${grid.trialCount} trials`}\nweb UI: ${uiUrl}\n`);
    if (!target.local) await warnWithoutWorkers(target, grid.spec.execution.taskQueue);
    if (!args.wait) {
      if (args.json) {
        process.stdout.write(`${JSON.stringify({ sweepId, workflowId, status: 'running', trials: grid.trialCount, resultsUri: results.uri, uiUrl })}\n`);
      } else {
        process.stdout.write(`${sweepId}\n`);
      }
      return EXIT_OK;
    }
    const result = await followSweep(handle, results.uri, true);
    if (args.json) {
      const { sweepId: id, status, trials, completed, failed, resultsUri, thresholds } = result;
      process.stdout.write(`${JSON.stringify({ sweepId: id, workflowId, status, trials, completed, failed, diverged: result.diverged, resultsUri, uiUrl, thresholds, ...(result.search ? { search: result.search } : {}) })}\n`);
    } else {
      process.stdout.write(renderResult(result, uiUrl));
    }
    return result.status === 'completed' ? EXIT_OK : EXIT_FAILED;
  } finally {
    await target.connection.close();
  }
});

/** On a server of the user's own, a sweep no worker polls for waits silently: say so, and how to start one. */
async function warnWithoutWorkers(target: Target, trainQueue: string): Promise<void> {
  const idle = await queuesWithoutWorkers(target, [
    { name: CONTROL_QUEUE, kind: 'workflow', role: 'sweep workflows' },
    { name: trainQueue, kind: 'activity', role: 'training' },
  ]);
  if (idle.length === 0) return;
  const queueFlag = idle.length === 2 ? '--queue all' : idle[0].name === CONTROL_QUEUE ? '--queue control' : '--queue train';
  const trainFlag = trainQueue !== TRAIN_QUEUE && idle.some((q) => q.name === trainQueue) ? ` --train-queue ${trainQueue}` : '';
  process.stderr.write(
    `warning: no worker polls ${idle.map((q) => `${q.name} (${q.role})`).join(' or ')} on ${target.address}; ` +
      `the sweep waits until one does. Start one with: sweep worker --address ${target.address} --namespace ${target.namespace} ${queueFlag}${trainFlag}\n`,
  );
}
