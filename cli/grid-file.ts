import { readFileSync } from 'node:fs';
import { checkLevelAgainstData, expandGrid, GridError, parseGrid, type GridSpec } from '../core/grid/index.js';
import type { Trial } from '../core/types.js';
import { CliError, EXIT_BAD_INPUT } from './errors.js';

export interface LoadedGrid {
  file: string;
  text: string;
  spec: GridSpec;
  trials: Trial[];
}

/**
 * Read, validate and expand a grid file; every problem becomes exit 2 with `file:line:col key: message`. Also
 * checks the threshold level against the data the grid generates (a level no classifier can reach).
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
    return { file, text, spec, trials: expandGrid(spec) };
  } catch (err) {
    if (err instanceof GridError) throw new CliError(err.message, EXIT_BAD_INPUT);
    throw err;
  }
}
