import { readFileSync } from 'node:fs';
import { checkLevelAgainstData, GridError, parseGrid, countTrials, type GridSpec } from '../core/grid/index.js';
import { CliError, EXIT_BAD_INPUT } from './errors.js';

export interface LoadedGrid {
  file: string;
  text: string;
  spec: GridSpec;
  /** How many trials the grid makes, counted from its axes: the CLI never expands a grid (planSweep does). */
  trialCount: number;
}

/**
 * Read and validate a grid file and count its trials; every problem becomes exit 2 with `file:line:col key: message`.
 * Also checks the threshold level against the data the grid generates (a level no classifier can reach).
 */
export function loadGrid(file: string): LoadedGrid {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new CliError(`${file}:1:1 (file): cannot read grid file: ${why}`, EXIT_BAD_INPUT);
  }
  try {
    const spec = parseGrid(text, file);
    checkLevelAgainstData(spec, text, file);
    return { file, text, spec, trialCount: countTrials(spec.grid) };
  } catch (err) {
    if (err instanceof GridError) throw new CliError(err.message, EXIT_BAD_INPUT);
    throw err;
  }
}
