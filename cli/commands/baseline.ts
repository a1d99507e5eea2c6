import type { Argv } from 'yargs';
import { SUMMARY_KEY, type SweepSummary } from '../../results/summary.js';
import { baselineKey, readJson, readPinned, REGRESSION_KEY, SCHEDULE_NAME, writePinned } from '../../activities/schedule-store.js';
import type { RegressionReport } from '../../core/regression.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, handler } from '../errors.js';
import { withJson, withStore } from '../options.js';
import { storeRoot } from '../results-store.js';

/**
 * `sweep baseline pin|show|unpin`: the baseline the runs of a schedule are judged against. Without a pin it is the
 * last good run of the schedule; a pin (schedules/<name>/baseline.json in the store) replaces it until unpinned.
 */

interface BaseArgs {
  json: boolean;
  store?: string;
}

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

function checkSchedule(name: string): void {
  if (!SCHEDULE_NAME.test(name)) throw new CliError(`schedule name ${JSON.stringify(name)}: use letters, digits, ".", "_" or "-"`, EXIT_BAD_INPUT);
}

const pin = handler(async (args: BaseArgs & { sweepId: string; schedule?: string }) => {
  const root = storeRoot(args.store);
  const run = root.child(args.sweepId);
  const summary = await readJson<SweepSummary>(run, SUMMARY_KEY);
  if (!summary) throw new CliError(`no finished sweep ${args.sweepId} in ${root.uri} (no ${SUMMARY_KEY})`, EXIT_FAILED);
  if (summary.status !== 'completed') throw new CliError(`sweep ${args.sweepId} is ${summary.status}; only a completed sweep can be a baseline`, EXIT_BAD_INPUT);
  const schedule = args.schedule ?? (await readJson<RegressionReport>(run, REGRESSION_KEY))?.schedule ?? null;
  if (!schedule) throw new CliError(`sweep ${args.sweepId} was not run by a schedule: name one with --schedule <name>`, EXIT_BAD_INPUT);
  checkSchedule(schedule);
  const pinned = await writePinned(root, { schedule, sweepId: args.sweepId, resultsUri: run.uri });
  if (args.json) out(JSON.stringify(pinned));
  else out(`baseline of schedule ${schedule}: ${args.sweepId} (${root.uri}/${baselineKey(schedule)})`);
  return EXIT_OK;
});

const show = handler(async (args: BaseArgs & { schedule: string }) => {
  checkSchedule(args.schedule);
  const root = storeRoot(args.store);
  const pinned = await readPinned(root, args.schedule);
  if (args.json) out(JSON.stringify({ schedule: args.schedule, pinned }));
  else out(pinned ? `baseline of schedule ${args.schedule}: ${pinned.sweepId} (pinned ${pinned.pinnedAt})` : `schedule ${args.schedule}: no pinned baseline; runs are judged against the last good run`);
  return EXIT_OK;
});

const unpin = handler(async (args: BaseArgs & { schedule: string }) => {
  checkSchedule(args.schedule);
  const root = storeRoot(args.store);
  await root.delete(baselineKey(args.schedule));
  out(args.json ? JSON.stringify({ schedule: args.schedule, pinned: null }) : `schedule ${args.schedule}: baseline unpinned (the last good run from now on)`);
  return EXIT_OK;
});

export const builder = (y: Argv) =>
  y
    .command(
      'pin <sweepId>',
      'Judge the runs of a schedule against this sweep',
      (c: Argv) =>
        withJson(withStore(c))
          .positional('sweepId', { type: 'string', demandOption: true })
          .option('schedule', { type: 'string', describe: 'Schedule name (default: the schedule that ran the sweep)' }),
      pin as never,
    )
    .command('show <schedule>', 'Show the pinned baseline of a schedule', (c: Argv) => withJson(withStore(c)).positional('schedule', { type: 'string', demandOption: true }), show as never)
    .command('unpin <schedule>', 'Go back to the last good run as the baseline', (c: Argv) => withJson(withStore(c)).positional('schedule', { type: 'string', demandOption: true }), unpin as never)
    .demandCommand(1, 'name a baseline command');

export const handle = async (): Promise<void> => {};
