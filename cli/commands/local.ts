import type { Argv } from 'yargs';
import { localDown, localStatus, localUp } from '../../workers/local-stack.js';
import { EXIT_FAILED, EXIT_OK, handler } from '../errors.js';
import { checkConcurrency } from '../options.js';

export const builder = (y: Argv) =>
  y
    .positional('action', { choices: ['up', 'down', 'status'] as const, demandOption: true })
    .option('concurrency', {
      type: 'number',
      describe: 'up: packs the local worker trains at once (default: $SWEEP_CONCURRENCY, else as it runs, else the CPU cores)',
    });

export const handle = handler(async (args: { action: 'up' | 'down' | 'status'; concurrency?: number }) => {
  checkConcurrency(args.concurrency);
  if (args.action === 'up') {
    const s = await localUp((m) => process.stderr.write(`${m}\n`), { concurrency: args.concurrency });
    process.stdout.write(
      `local stack up: Temporal ${s.address}, web UI ${s.uiUrl}, worker concurrency ${s.concurrency ?? 'one pack per core'}, state ${s.stateDir}\n`,
    );
    return EXIT_OK;
  }
  if (args.action === 'down') {
    process.stdout.write((await localDown()) ? 'local stack stopped\n' : 'local stack was not running\n');
    return EXIT_OK;
  }
  const st = await localStatus();
  if (!st.stack) {
    process.stdout.write('local stack: not running\n');
    return EXIT_FAILED;
  }
  process.stdout.write(
    `local stack: Temporal ${st.stack.address} ${st.temporal ? 'up' : 'DOWN'}, worker pid ${st.stack.workerPid} ${st.worker ? 'up' : 'DOWN'}, web UI ${st.stack.uiUrl}\n`,
  );
  return st.temporal && st.worker ? EXIT_OK : EXIT_FAILED;
});
