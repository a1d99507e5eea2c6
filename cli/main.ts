import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import * as baseline from './commands/baseline.js';
import * as cancel from './commands/cancel.js';
import * as list from './commands/list.js';
import * as local from './commands/local.js';
import * as regressions from './commands/regressions.js';
import * as report from './commands/report.js';
import * as results from './commands/results.js';
import * as schedule from './commands/schedule.js';
import * as start from './commands/start.js';
import * as status from './commands/status.js';
import * as validate from './commands/validate.js';
import * as worker from './commands/worker.js';
import { EXIT_BAD_INPUT } from './errors.js';

interface CommandFile {
  command: string;
  describe: string;
  builder: CommandModule['builder'];
  handle: (args: never) => Promise<void>;
}

const commands: CommandFile[] = [validate, start, status, list, results, report, cancel, worker, local, schedule, baseline, regressions] as unknown as CommandFile[];

// `sweep validate grid.yaml | head`: a closed pipe is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

let cli = yargs(hideBin(process.argv))
  .scriptName('sweep')
  .strict()
  .demandCommand(1, 'name a command')
  .recommendCommands()
  .help()
  .fail((msg, err) => {
    if (err) throw err;
    process.stderr.write(`sweep: ${msg}\nRun "sweep --help" for usage.\n`);
    process.exit(EXIT_BAD_INPUT);
  });
for (const c of commands) cli = cli.command(c.command, c.describe, c.builder as never, c.handle as never);
await cli.parseAsync();
