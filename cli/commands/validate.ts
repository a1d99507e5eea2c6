import type { Argv } from 'yargs';
import { isDynamical } from '../../core/types.js';
import { countPacks, trialsByLoss, type ResolvedGrid } from '../../core/grid/index.js';
import { handler } from '../errors.js';
import { loadGrid } from '../grid-file.js';
import { withJson } from '../options.js';

export const builder = (y: Argv) =>
  withJson(y.positional('grid', { type: 'string', demandOption: true, describe: 'Path to grid.yaml' }));

/** What validate says about the data: kind, sizes, classes, where a file dataset came from and its content hash. */
function datasetSummary(r: ResolvedGrid) {
  const d = r.dataset;
  const sizes = r.data ? { trainPoints: r.data.train.n, validationPoints: r.data.validation.n, features: r.data.train.d } : {};
  if (d.kind === 'spirals') return { kind: d.kind, classes: d.classes, achievableTrainAcc: r.ceilings.trainAcc };
  return { kind: d.kind, ...sizes, classes: d.classes, classNames: d.classNames, source: d.source ?? null, contentHash: d.contentHash, achievableTrainAcc: r.ceilings.trainAcc };
}

export const handle = handler(async (args: { grid: string; json: boolean }) => {
  // Counted from the axes: nothing is expanded, so this answers at once for any grid. A file dataset is read.
  const g = await loadGrid(args.grid);
  const packs = countPacks(g.spec);
  const byLoss = trialsByLoss(g.spec.grid);
  const trialSteps = g.trialCount * g.spec.training.steps;
  const dataset = datasetSummary(g.resolved!);
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ file: g.file, valid: true, trials: g.trialCount, packs, byLoss, trialSteps, dataset })}\n`);
    return;
  }
  process.stdout.write(`${g.file}: ok, ${g.trialCount} trials in ${packs} packs\n`);
  for (const [loss, n] of Object.entries(byLoss)) {
    process.stdout.write(`  ${loss.padEnd(6)} ${String(n).padStart(6)} trials${isDynamical(loss as never) ? '' : ' (static: not crossed with T x A)'}\n`);
  }
  process.stdout.write(`  ${trialSteps.toLocaleString('en-US')} trial-steps in all\n`);
  if (dataset.kind !== 'spirals' && 'trainPoints' in dataset) {
    const from = dataset.source ? ` from ${dataset.source.train}${dataset.source.validation ? ` (validation ${dataset.source.validation})` : ''}` : '';
    process.stdout.write(
      `  dataset ${dataset.kind}${from}: ${dataset.trainPoints} training and ${dataset.validationPoints} validation points, ` +
        `${dataset.features} features, ${dataset.classes} classes; SHA-256 ${dataset.contentHash.train.slice(0, 16)}…\n`,
    );
  }
});
