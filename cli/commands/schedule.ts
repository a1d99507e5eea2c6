import type { Argv } from 'yargs';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { gridHash, nameOf } from '../../results/manifest.js';
import { listRuns, readPinned, SCHEDULE_NAME, type ScheduleRunEntry } from '../../activities/schedule-store.js';
import { countTrials, parseGrid } from '../../core/grid/index.js';
import { openStore } from '../../storage/open.js';
import { CONTROL_QUEUE, SWEEP_VERDICT_KEY, type SweepInput, type SweepResult } from '../../workflows/definitions.js';
import type { sweepWorkflow } from '../../workflows/sweep.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, handler } from '../errors.js';
import { loadGrid, type LoadedGrid } from '../grid-file.js';
import { withConnection, withJson, withStore, type ConnectionArgs } from '../options.js';
import { renderResult } from '../render.js';
import { storeRoot } from '../results-store.js';
import { followSweep } from '../sweep-run.js';
import { connect, workflowUrl, type Target } from '../temporal.js';
import { isSearchAttributeError, staticDetails, staticSummary, sweepSearchAttributes } from '../ui-metadata.js';

/**
 * `sweep schedule ...`: nightly regression sweeps on Temporal Schedules. The schedule id is the name; its action
 * starts sweepWorkflow with workflow id "sweep-<name>", to which Temporal appends "-<scheduled time>" (RFC 3339), so
 * every run is the sweep "<name>-<time>" with results in <store>/<name>-<time>/, judged against the baseline after
 * finalize (regression.json; `sweep regressions`).
 */

/** Marks our schedules among others in the namespace (schedule memo). */
const MARKER = 'dynsweep.schedule/1';

interface Common extends ConnectionArgs {
  json: boolean;
}
interface NameArgs extends Common {
  name: string;
}

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

function checkName(name: string): void {
  if (!SCHEDULE_NAME.test(name)) throw new CliError(`schedule name ${JSON.stringify(name)}: use letters, digits, ".", "_" or "-" (at most 64)`, EXIT_BAD_INPUT);
}

/** `writesTo`: the store root the schedule's runs write under (the local stack's worker may then write there). */
async function withTarget<T>(args: ConnectionArgs, fn: (t: Target) => Promise<T>, writesTo?: string): Promise<T> {
  const target = await connect(args, writesTo);
  try {
    return await fn(target);
  } finally {
    await target.connection.close();
  }
}

async function describeOrFail(target: Target, name: string): Promise<{ handle: ScheduleHandle; desc: ScheduleDescription }> {
  const handle = target.client.schedule.getHandle(name);
  try {
    return { handle, desc: await handle.describe() };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new CliError(`no schedule ${name} on ${target.address}`, EXIT_FAILED);
    throw err;
  }
}

/** The sweep input a schedule's action carries. */
function inputOf(desc: ScheduleDescription): SweepInput {
  const input = (desc.action.args?.[0] ?? null) as SweepInput | null;
  if (!input?.schedule) throw new CliError(`schedule ${desc.scheduleId} is not a dynsweep schedule`, EXIT_BAD_INPUT);
  return input;
}

function actionOf(name: string, grid: LoadedGrid, storeUri: string, cron: string, typed: SearchAttributePair[] | undefined): ScheduleOptionsStartWorkflowAction<typeof sweepWorkflow> {
  const meta = { name: nameOf(grid.spec, grid.file), gridHash: gridHash(grid.spec), gridFile: grid.file, spec: grid.spec, trials: grid.trialCount };
  const input: SweepInput = { sweepId: name, resultsUri: storeUri, gridYaml: grid.text, gridFile: grid.location, schedule: { name, storeRoot: storeUri } };
  return {
    type: 'startWorkflow',
    workflowType: 'sweepWorkflow',
    taskQueue: CONTROL_QUEUE,
    workflowId: `sweep-${name}`,
    args: [input],
    // The workflow adds sweepId and resultsUri once it knows its id.
    memo: { name: meta.name, schedule: name, storeRoot: storeUri, cron, gridHash: meta.gridHash, gridFile: grid.file },
    ...(typed ? { typedSearchAttributes: typed } : {}),
    staticSummary: staticSummary(meta, name),
    staticDetails: staticDetails(meta, { resultsUri: storeUri, schedule: { name, cron } }),
  };
}

function cronOf(desc: ScheduleDescription): string {
  return String((desc.action.memo as Record<string, unknown> | undefined)?.cron ?? '?');
}

interface ScheduleView {
  name: string;
  paused: boolean;
  note: string | null;
  cron: string;
  grid: { name: string; file: string; hash: string };
  store: string;
  nextRuns: string[];
  recentRuns: { sweepId: string; workflowId: string; scheduledAt: string }[];
  runningRuns: string[];
  baseline: { sweepId: string; pinnedAt: string } | null;
  verdicts: Pick<ScheduleRunEntry, 'sweepId' | 'status' | 'verdict' | 'headline'>[];
}

const sweepIdOf = (workflowId: string) => workflowId.replace(/^sweep-/, '');

async function viewOf(desc: ScheduleDescription, withStoreInfo: boolean): Promise<ScheduleView> {
  const input = inputOf(desc);
  const memo = (desc.action.memo ?? {}) as Record<string, string>;
  let baseline: ScheduleView['baseline'] = null;
  let verdicts: ScheduleView['verdicts'] = [];
  if (withStoreInfo) {
    try {
      const root = openStore(input.schedule!.storeRoot);
      const pin = await readPinned(root, desc.scheduleId);
      baseline = pin ? { sweepId: pin.sweepId, pinnedAt: pin.pinnedAt } : null;
      verdicts = (await listRuns(root, desc.scheduleId)).map(({ sweepId, status, verdict, headline }) => ({ sweepId, status, verdict, headline }));
    } catch {
      // The store may not be reachable from here; the schedule itself is still described.
    }
  }
  return {
    name: desc.scheduleId,
    paused: desc.state.paused,
    note: desc.state.note ?? null,
    cron: cronOf(desc),
    grid: { name: memo.name ?? '', file: input.gridFile, hash: memo.gridHash ?? '' },
    store: input.schedule!.storeRoot,
    nextRuns: desc.info.nextActionTimes.map((d) => d.toISOString()),
    recentRuns: desc.info.recentActions.map((a) => ({
      sweepId: sweepIdOf(a.action.workflow.workflowId),
      workflowId: a.action.workflow.workflowId,
      scheduledAt: a.scheduledAt.toISOString(),
    })),
    runningRuns: desc.info.runningActions.map((a) => sweepIdOf(a.workflow.workflowId)),
    baseline,
    verdicts,
  };
}

function renderView(v: ScheduleView): string {
  const lines = [
    `schedule ${v.name}: ${v.paused ? 'PAUSED' : 'active'}${v.note ? ` (${v.note})` : ''}`,
    `  cron:     ${v.cron}`,
    `  grid:     ${v.grid.name} (${v.grid.file}, hash ${v.grid.hash})`,
    `  store:    ${v.store}`,
    `  next:     ${v.nextRuns.slice(0, 3).join(', ') || '-'}`,
    `  running:  ${v.runningRuns.join(', ') || '-'}`,
    `  baseline: ${v.baseline ? `${v.baseline.sweepId} (pinned ${v.baseline.pinnedAt})` : 'the last good run'}`,
  ];
  if (v.verdicts.length > 0) {
    lines.push('  judged runs (oldest first):');
    for (const r of v.verdicts.slice(-10)) lines.push(`    ${r.sweepId}  ${r.status.padEnd(9)} ${r.headline}`);
  } else if (v.recentRuns.length > 0) {
    lines.push('  recent runs:');
    for (const r of v.recentRuns) lines.push(`    ${r.sweepId}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---- subcommands ---------------------------------------------------------------------------------------------------

interface CreateArgs extends NameArgs {
  grid: string;
  cron: string;
  store?: string;
  paused: boolean;
  note?: string;
}

const create = handler(async (args: CreateArgs) => {
  checkName(args.name);
  const grid = await loadGrid(args.grid);
  const root = storeRoot(args.store);
  return withTarget(args, async (target) => {
    const meta = { name: nameOf(grid.spec, grid.file), gridHash: gridHash(grid.spec) };
    const attempt = (typed: SearchAttributePair[] | undefined) =>
      target.client.schedule.create({
        scheduleId: args.name,
        spec: { cronExpressions: [args.cron] },
        action: actionOf(args.name, grid, root.uri, args.cron, typed),
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
        state: { paused: args.paused, note: args.note ?? (args.paused ? 'created paused' : undefined) },
        memo: { dynsweep: MARKER, storeRoot: root.uri },
      });
    // A server without our search attributes (or without SweepVerdict) still gets the schedule, less indexed.
    const full = sweepSearchAttributes(meta, true);
    const ladder = [full, full.filter((p) => p.key.name !== SWEEP_VERDICT_KEY.name), undefined];
    for (let i = 0; ; i++) {
      try {
        await attempt(ladder[i]);
        break;
      } catch (err) {
        if (err instanceof ScheduleAlreadyRunning) {
          throw new CliError(`schedule ${args.name} exists; change it with "sweep schedule update" or delete it first`, EXIT_BAD_INPUT);
        }
        const why = isSearchAttributeError(err);
        if (why && i + 1 < ladder.length) {
          if (ladder[i + 1] === undefined) process.stderr.write(`warning: ${why}; creating the schedule without search attributes\n`);
          continue;
        }
        const msg = `${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message ?? ''}`;
        if (/cron|invalid|spec/i.test(msg)) throw new CliError(`--cron ${JSON.stringify(args.cron)}: ${msg.trim()}`, EXIT_BAD_INPUT);
        throw err;
      }
    }
    const { desc } = await describeOrFail(target, args.name);
    const view = await viewOf(desc, false);
    if (args.json) out(JSON.stringify({ ...view, trials: grid.trialCount }));
    else out(`schedule ${args.name} created: ${grid.trialCount} trials per run, cron "${args.cron}", next ${view.nextRuns[0] ?? '-'}\nresults: ${root.uri}/${args.name}-<scheduled time>/`);
    return EXIT_OK;
  }, root.uri);
});

interface UpdateArgs extends NameArgs {
  grid?: string;
  cron?: string;
}

const update = handler(async (args: UpdateArgs) => {
  if (!args.grid && !args.cron) throw new CliError('nothing to update: give --grid and/or --cron', EXIT_BAD_INPUT);
  const grid = args.grid ? await loadGrid(args.grid) : null;
  return withTarget(args, async (target) => {
    const { handle, desc } = await describeOrFail(target, args.name);
    const input = inputOf(desc);
    const cron = args.cron ?? cronOf(desc);
    const g = grid ?? loadGridText(input);
    // Keep search attributes only where the schedule has them (i.e. the server has them registered).
    const had = desc.action.typedSearchAttributes;
    const has = (name: string) => (Array.isArray(had) ? had.some((p) => p.key.name === name) : had?.getAll().some((p) => p.key.name === name) ?? false);
    const typed = sweepSearchAttributes({ name: nameOf(g.spec, g.file), gridHash: gridHash(g.spec) }, true).filter((p) => has(p.key.name));
    try {
      await handle.update((prev) => ({
        ...prev,
        spec: args.cron ? { cronExpressions: [args.cron] } : prev.spec,
        action: actionOf(args.name, g, input.schedule!.storeRoot, cron, typed && typed.length > 0 ? typed : undefined),
      }));
    } catch (err) {
      const msg = `${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message ?? ''}`;
      if (args.cron && /cron|invalid|spec/i.test(msg)) throw new CliError(`--cron ${JSON.stringify(args.cron)}: ${msg.trim()}`, EXIT_BAD_INPUT);
      throw err;
    }
    const view = await viewOf((await describeOrFail(target, args.name)).desc, false);
    if (args.json) out(JSON.stringify(view));
    else out(`schedule ${args.name} updated: cron "${view.cron}", grid ${view.grid.name} (${view.grid.hash})`);
    return EXIT_OK;
  });
});

/** The grid a schedule runs (for an update that changes only the cron). */
function loadGridText(input: SweepInput): LoadedGrid {
  const spec = parseGrid(input.gridYaml, input.gridFile);
  return { file: input.gridFile, location: input.gridFile, text: input.gridYaml, spec, trialCount: countTrials(spec.grid) };
}

const list = handler(async (args: Common) =>
  withTarget(args, async (target) => {
    const views: ScheduleView[] = [];
    for await (const s of target.client.schedule.list()) {
      if ((s.memo as Record<string, unknown> | undefined)?.dynsweep !== MARKER) continue;
      try {
        views.push(await viewOf((await target.client.schedule.getHandle(s.scheduleId).describe()), true));
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err; // deleted meanwhile
      }
    }
    views.sort((a, b) => (a.name < b.name ? -1 : 1));
    if (args.json) {
      out(JSON.stringify({ schedules: views }));
    } else if (views.length === 0) {
      out('no schedules (create one with "sweep schedule create <name> <grid> --cron ...")');
    } else {
      out(`${'schedule'.padEnd(20)} ${'state'.padEnd(7)} ${'cron'.padEnd(16)} ${'next run'.padEnd(25)} last verdict`);
      for (const v of views) {
        const last = v.verdicts[v.verdicts.length - 1];
        out(`${v.name.padEnd(20)} ${(v.paused ? 'paused' : 'active').padEnd(7)} ${v.cron.padEnd(16)} ${(v.nextRuns[0] ?? '-').padEnd(25)} ${last ? `${last.sweepId}: ${last.headline}` : '-'}`);
      }
    }
    return EXIT_OK;
  }),
);

const describeCmd = handler(async (args: NameArgs) =>
  withTarget(args, async (target) => {
    const view = await viewOf((await describeOrFail(target, args.name)).desc, true);
    out(args.json ? JSON.stringify(view) : renderView(view));
    return EXIT_OK;
  }),
);

interface NoteArgs extends NameArgs {
  note?: string;
}

const pause = handler(async (args: NoteArgs) =>
  withTarget(args, async (target) => {
    const { handle } = await describeOrFail(target, args.name);
    await handle.pause(args.note ?? 'paused with sweep schedule pause');
    out(args.json ? JSON.stringify({ name: args.name, paused: true }) : `schedule ${args.name} paused`);
    return EXIT_OK;
  }),
);

const unpause = handler(async (args: NoteArgs) =>
  withTarget(args, async (target) => {
    const { handle } = await describeOrFail(target, args.name);
    await handle.unpause(args.note ?? 'unpaused with sweep schedule unpause');
    out(args.json ? JSON.stringify({ name: args.name, paused: false }) : `schedule ${args.name} active`);
    return EXIT_OK;
  }),
);

const del = handler(async (args: NameArgs) =>
  withTarget(args, async (target) => {
    const { handle } = await describeOrFail(target, args.name);
    await handle.delete();
    out(args.json ? JSON.stringify({ name: args.name, deleted: true }) : `schedule ${args.name} deleted (its runs' results stay in the store)`);
    return EXIT_OK;
  }),
);

interface TriggerArgs extends NameArgs {
  wait: boolean;
}

const trigger = handler(async (args: TriggerArgs) =>
  withTarget(args, async (target) => {
    const { handle, desc } = await describeOrFail(target, args.name);
    const input = inputOf(desc);
    const known = new Set([
      ...desc.info.recentActions.map((a) => a.action.workflow.workflowId),
      ...desc.info.runningActions.map((a) => a.workflow.workflowId),
    ]);
    // Run ids have one-second resolution: never trigger twice within the second of the last action.
    const last = desc.info.recentActions[desc.info.recentActions.length - 1];
    if (last) {
      const wait = Math.floor(last.takenAt.getTime() / 1000) * 1000 + 1100 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    let workflowId: string | undefined;
    for (let i = 0; i < 150 && !workflowId; i++) {
      const d = await handle.describe();
      workflowId = [...d.info.recentActions.map((a) => a.action.workflow.workflowId), ...d.info.runningActions.map((a) => a.workflow.workflowId)].find(
        (id) => !known.has(id),
      );
      if (!workflowId) await new Promise((r) => setTimeout(r, 200));
    }
    if (!workflowId) throw new CliError(`schedule ${args.name} did not start a run within 30 s`, EXIT_FAILED);
    const sweepId = sweepIdOf(workflowId);
    const resultsUri = `${input.schedule!.storeRoot.replace(/\/+$/, '')}/${sweepId}`;
    const uiUrl = workflowUrl(target, workflowId);
    process.stderr.write(`schedule ${args.name}: started ${sweepId}\nweb UI: ${uiUrl}\n`);
    if (!args.wait) {
      out(args.json ? JSON.stringify({ schedule: args.name, sweepId, workflowId, resultsUri, uiUrl, status: 'running' }) : sweepId);
      return EXIT_OK;
    }
    const result: SweepResult = await followSweep(target.client.workflow.getHandle<typeof sweepWorkflow>(workflowId), resultsUri, !args.json);
    const regression = result.regression ?? null;
    if (args.json) {
      out(JSON.stringify({ schedule: args.name, workflowId, uiUrl, ...result, verdict: regression?.verdict ?? null }));
    } else {
      out(renderResult(result, uiUrl));
      if (regression) {
        out(`verdict: ${regression.headline}`);
        for (const line of regression.regressions) out(`  ${line}`);
      }
    }
    return result.status !== 'completed' || regression?.verdict === 'regressed' ? EXIT_FAILED : EXIT_OK;
  }),
);

// ---- wiring --------------------------------------------------------------------------------------------------------

const named = (y: Argv) => withJson(withConnection(y)).positional('name', { type: 'string', demandOption: true, describe: 'Schedule name' });

export const builder = (y: Argv) =>
  y
    .command(
      'create <name> <grid>',
      'Create a schedule that runs the grid as a sweep and judges every run against a baseline',
      (c: Argv) =>
        withStore(named(c))
          .positional('grid', { type: 'string', demandOption: true, describe: 'Path to grid.yaml' })
          .option('cron', { type: 'string', demandOption: true, describe: 'When to run, a cron expression in UTC (e.g. "0 2 * * *")' })
          .option('paused', { type: 'boolean', default: false, describe: 'Create it paused' })
          .option('note', { type: 'string', describe: 'A note shown with the schedule' }),
      create as never,
    )
    .command(
      'update <name>',
      'Change the grid and/or the cron of a schedule (its store stays)',
      (c: Argv) => named(c).option('grid', { type: 'string', describe: 'New grid file' }).option('cron', { type: 'string', describe: 'New cron expression' }),
      update as never,
    )
    .command('list', 'List the sweep schedules', (c: Argv) => withJson(withConnection(c)), list as never)
    .command('describe <name>', 'Show a schedule: cron, next runs, baseline and the verdicts of its runs', named, describeCmd as never)
    .command('pause <name>', 'Pause a schedule', (c: Argv) => named(c).option('note', { type: 'string' }), pause as never)
    .command('unpause <name>', 'Resume a paused schedule', (c: Argv) => named(c).option('note', { type: 'string' }), unpause as never)
    .command(
      'trigger <name>',
      'Run a schedule now (with --wait: follow the run, print the verdict, exit 1 when it regressed)',
      (c: Argv) => named(c).option('wait', { type: 'boolean', default: false, describe: 'Follow the run to its verdict' }),
      trigger as never,
    )
    .command('delete <name>', "Delete a schedule (its runs' results and verdicts stay in the store)", named, del as never)
    .demandCommand(1, 'name a schedule command');

export const handle = async (): Promise<void> => {};
