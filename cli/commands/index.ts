/**
 * Every command's name and one-line description, with its module loaded on demand: a CLI call imports only the
 * command it runs (`sweep validate` never loads the Temporal worker, `sweep start` never loads the report renderer).
 */
import type { CommandModule } from 'yargs';

export interface CommandEntry {
  /** yargs command string: name and positionals. */
  command: string;
  describe: string;
  load: () => Promise<{ builder: CommandModule['builder']; handle: (args: never) => Promise<void> }>;
}

export const COMMANDS: CommandEntry[] = [
  {
    command: 'validate <grid>',
    describe: 'Check a grid file and print how many trials it expands to',
    load: () => import('./validate.js'),
  },
  {
    command: 'start <grid>',
    describe: 'Start a sweep of a grid file (and, with --wait, follow it to the end)',
    load: () => import('./start.js'),
  },
  {
    command: 'status <sweepId>',
    describe: 'Show the progress of a sweep (with --watch, follow it to the end)',
    load: () => import('./status.js'),
  },
  {
    command: 'list',
    describe: 'List the sweeps on the Temporal server, newest first',
    load: () => import('./list.js'),
  },
  {
    command: 'results [sweepId]',
    describe: "Print a sweep's trials: a table, CSV (the columns of trials.csv) or JSON",
    load: () => import('./results.js'),
  },
  {
    command: 'report [sweepId]',
    describe: 'Write a self-contained report.html (charts, thresholds, metadata) for a sweep, also into its results',
    load: () => import('./report.js'),
  },
  {
    command: 'cancel <sweepId>',
    describe: 'Cancel a running sweep: running packs stop at their next heartbeat, finished trials are kept',
    load: () => import('./cancel.js'),
  },
  {
    command: 'worker',
    describe: 'Run a worker: sweep workflows (control), training (train), or both (all)',
    load: () => import('./worker.js'),
  },
  {
    command: 'local <action>',
    describe: 'Manage the embedded local stack (Temporal dev server + worker)',
    load: () => import('./local.js'),
  },
  {
    command: 'schedule',
    describe: 'Nightly regression sweeps on Temporal Schedules (create, update, list, describe, pause, unpause, trigger, delete)',
    load: () => import('./schedule.js'),
  },
  {
    command: 'baseline',
    describe: 'Pin, show or unpin the baseline of a schedule (default: its last good run)',
    load: () => import('./baseline.js'),
  },
  {
    command: 'regressions [name]',
    describe: 'List the verdicts of scheduled runs; exit 1 when the latest run of a schedule regressed',
    load: () => import('./regressions.js'),
  },
];

/** The command word of a command string ('start <grid>' -> 'start'). */
export const commandWord = (e: CommandEntry) => e.command.split(' ')[0];
