import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { COMMANDS, commandWord } from './commands/index.js';
import { EXIT_BAD_INPUT } from './errors.js';

// `sweep validate grid.yaml | head`: a closed pipe is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const argv = hideBin(process.argv);
let cli = yargs(argv)
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
// Only the invoked command's module is loaded; the others are listed (for help and suggestions) but never run.
const invoked = argv.find((a) => !a.startsWith('-'));
for (const c of COMMANDS) {
  if (commandWord(c) === invoked) {
    const m = await c.load();
    cli = cli.command(c.command, c.describe, m.builder as never, m.handle as never);
  } else {
    cli = cli.command(c.command, c.describe);
  }
}
await cli.parseAsync();
