import type { Argv } from 'yargs';
import { listRuns, listScheduleNames, readJson, readPinned, REGRESSION_KEY, SCHEDULE_NAME, type ScheduleRunEntry } from '../../activities/schedule-store.js';
import type { RegressionReport } from '../../core/regression.js';
import { openStore } from '../../storage/open.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, handler } from '../errors.js';
import { withJson, withStore } from '../options.js';
import { storeRoot } from '../results-store.js';

/**
 * `sweep regressions [<name>]`: the verdicts of scheduled runs, from the store alone (no Temporal needed), and exit 1
 * when the latest judged run of a listed schedule regressed: for CI.
 */

export const builder = (y: Argv) =>
  withJson(withStore(y))
    .positional('name', { type: 'string', describe: 'Schedule name (default: every schedule in the store)' })
    .option('last', { type: 'number', default: 10, describe: 'Runs shown per schedule' });

interface RegressionsArgs {
  name?: string;
  json: boolean;
  store?: string;
  last: number;
}

interface ScheduleVerdicts {
  schedule: string;
  baseline: { sweepId: string; pinned: boolean } | null;
  latest: ScheduleRunEntry | null;
  regressed: boolean;
  /** Every regression line of the latest run (from its regression.json), when it regressed. */
  regressions: string[];
  runs: ScheduleRunEntry[];
}

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

export const handle = handler(async (args: RegressionsArgs) => {
  if (args.name !== undefined && !SCHEDULE_NAME.test(args.name)) throw new CliError(`schedule name ${JSON.stringify(args.name)} is not valid`, EXIT_BAD_INPUT);
  const root = storeRoot(args.store);
  const names = args.name ? [args.name] : await listScheduleNames(root);
  const result: ScheduleVerdicts[] = [];
  for (const schedule of names) {
    const runs = await listRuns(root, schedule);
    const latest = runs[runs.length - 1] ?? null;
    const regressed = latest?.verdict === 'regressed';
    let regressions: string[] = [];
    if (latest && regressed) {
      const report = await readJson<RegressionReport>(openStore(latest.resultsUri), REGRESSION_KEY).catch(() => null);
      regressions = report?.regressions ?? latest.regressions;
    }
    const pin = await readPinned(root, schedule);
    const lastGood = [...runs].reverse().find((r) => r.status === 'completed' && (r.verdict === 'pass' || r.verdict === 'baseline'));
    const baseline = pin ? { sweepId: pin.sweepId, pinned: true } : lastGood ? { sweepId: lastGood.sweepId, pinned: false } : null;
    result.push({ schedule, baseline, latest, regressed, regressions, runs: runs.slice(-Math.max(1, args.last)) });
  }
  const anyRegressed = result.some((r) => r.regressed);

  if (args.json) {
    out(JSON.stringify({ store: root.uri, regressed: anyRegressed, schedules: result }));
  } else if (result.length === 0) {
    out(`no judged scheduled runs in ${root.uri}`);
  } else {
    for (const r of result) {
      out(`schedule ${r.schedule} (baseline: ${r.baseline ? `${r.baseline.sweepId}${r.baseline.pinned ? ', pinned' : ''}` : 'none yet'})`);
      if (r.runs.length === 0) out('  no judged runs yet');
      for (const run of r.runs) out(`  ${run.sweepId}  ${run.verdict.toUpperCase().padEnd(9)} ${run.status === 'completed' ? '' : `[${run.status}] `}${run.headline}`);
      if (r.regressed) {
        out(`  latest run ${r.latest!.sweepId} REGRESSED:`);
        for (const line of r.regressions) out(`    - ${line}`);
      }
    }
  }
  if (args.name && result[0].runs.length === 0) process.stderr.write(`no judged runs of schedule ${args.name} in ${root.uri}\n`);
  return anyRegressed ? EXIT_FAILED : EXIT_OK;
});
