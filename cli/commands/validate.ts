import type { Argv } from 'yargs';
import { isDynamical } from '../../core/types.js';
import { countPacks, trialsByLoss } from '../../core/grid/index.js';
import { handler } from '../errors.js';
import { loadGrid } from '../grid-file.js';
import { withJson } from '../options.js';

export const builder = (y: Argv) =>
  withJson(y.positional('grid', { type: 'string', demandOption: true, describe: 'Path to grid.yaml' }));

export const handle = handler(async (args: { grid: string; json: boolean }) => {
  // Counted from the axes: nothing is expanded, so this answers at once for any grid.
  const g = loadGrid(args.grid);
  const packs = countPacks(g.spec);
  const byLoss = trialsByLoss(g.spec.grid);
  const trialSteps = g.trialCount * g.spec.training.steps;
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ file: g.file, valid: true, trials: g.trialCount, packs, byLoss, trialSteps })}\n`);
    return;
  }
  process.stdout.write(`${g.file}: ok, ${g.trialCount} trials in ${packs} packs\n`);
  for (const [loss, n] of Object.entries(byLoss)) {
    process.stdout.write(`  ${loss.padEnd(6)} ${String(n).padStart(6)} trials${isDynamical(loss as never) ? '' : ' (static: not crossed with T x A)'}\n`);
  }
  process.stdout.write(`  ${trialSteps.toLocaleString('en-US')} trial-steps in all\n`);
});
