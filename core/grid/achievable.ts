/**
 * The grid's threshold level against what its data allows: a numeric accuracy level above the best accuracy any
 * classifier can reach (core/data.ts accuracyCeiling) could never be met. Checked by `sweep validate`, `start`
 * and `schedule` (cli/grid-file.ts); the data is generated here, which is cheap for spirals.
 */
import { datasetCeilings, type DatasetCeilings } from '../data.js';
import { datasetOf } from './expand.js';
import { LEVEL_TOLERANCE } from '../thresholds/criterion.js';
import { GridError, issueAt } from './parse.js';
import type { GridSpec } from './schema.js';

/** A ceiling as messages show it: rounded down to 5 decimals, so a level written as shown is reachable. */
const shown = (a: number): string => String(Math.floor(a * 1e5) / 1e5);

/** Why `spec.threshold.level` can never be met on this data, or null when it can (or is 'achievable', or a loss level). */
export function levelAboveCeiling(spec: GridSpec, ceilings: DatasetCeilings = datasetCeilings(datasetOf(spec))): string | null {
  const { metric, level } = spec.threshold;
  if (typeof level !== 'number' || (metric !== 'trainAcc' && metric !== 'valAcc')) return null;
  const c = metric === 'trainAcc' ? ceilings.train : ceilings.validation;
  // The thresholds meet a level within LEVEL_TOLERANCE (accuracies are k/N).
  if (level - LEVEL_TOLERANCE <= c.accuracy) return null;
  return (
    `${level} is above the best accuracy any classifier can reach on this ${metric === 'trainAcc' ? 'training' : 'validation'} set ` +
    `(${c.correct}/${c.points} = ${shown(c.accuracy)}: ${c.conflictingPoints} points at coinciding inputs with different labels); ` +
    `use 'achievable' or a level <= ${shown(c.accuracy)}`
  );
}

/** Throws GridError located at `threshold.level` of `text` when the level can never be met (levelAboveCeiling). */
export function checkLevelAgainstData(spec: GridSpec, text: string, file: string): void {
  const why = levelAboveCeiling(spec);
  if (why) throw new GridError([issueAt(text, file, ['threshold', 'level'], why)]);
}
