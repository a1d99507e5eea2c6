import type { Argv } from 'yargs';
import { isDynamical } from '../../core/types.js';
import { planPacks } from '../../core/grid/index.js';
import { handler } from '../errors.js';
import { loadGrid } from '../grid-file.js';
import { withJson } from '../options.js';

export const builder = (y: Argv) =>
  withJson(y.positional('grid', { type: 'string', demandOption: true, describe: 'Path to grid.yaml' }));

export const handle = handler(async (args: { grid: string; json: boolean }) => {
  const g = loadGrid(args.grid);
  const packs = planPacks(g.trials, g.spec.execution.packSize);
  const byLoss: Record<string, number> = {};
  for (const t of g.trials) byLoss[t.config.loss] = (byLoss[t.config.loss] ?? 0) + 1;
  const trialSteps = g.trials.reduce((n, t) => n + t.config.steps, 0);
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ file: g.file, valid: true, trials: g.trials.length, packs: packs.length, byLoss, trialSteps })}\n`);
    return;
  }
  process.stdout.write(`${g.file}: ok, ${g.trials.length} trials in ${packs.length} packs\n`);
  for (const [loss, n] of Object.entries(byLoss)) {
    process.stdout.write(`  ${loss.padEnd(6)} ${String(n).padStart(6)} trials${isDynamical(loss as never) ? '' : ' (static: not crossed with T x A)'}\n`);
  }
  process.stdout.write(`  ${trialSteps.toLocaleString('en-US')} trial-steps in all\n`);
});
