import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { GridError, parseGrid, countTrials, resolveGrid, type GridSpec, type ResolvedGrid } from '../core/grid/index.js';
import { readLocation } from '../storage/read-location.js';
import { CliError, EXIT_BAD_INPUT } from './errors.js';

export interface LoadedGrid {
  file: string;
  /** The grid file's absolute path: what a worker planning the sweep resolves relative dataset paths against. */
  location: string;
  text: string;
  /** The validated grid, with a file dataset's data-dependent defaults (classes, hashes, ...) written in. */
  spec: GridSpec;
  /** How many trials the grid makes, counted from its axes: the CLI never expands a grid (planSweep does). */
  trialCount: number;
  /** The dataset as the trials will carry it, its ceilings, and (file and digits datasets) the data read; absent for a grid re-read from a schedule. */
  resolved?: ResolvedGrid;
}

/**
 * The largest grid file a sweep takes: its text travels in the workflow's input, and Temporal refuses payloads over
 * 2 MB. A grid is a few axes; one this large is a mistake (or hundreds of thousands of listed values).
 */
export const MAX_GRID_BYTES = 1024 * 1024;

/**
 * Read and validate a grid file and count its trials; every problem becomes exit 2 with `file:line:col key: message`.
 * Also reads a file dataset (a missing file, ragged rows, a non-numeric feature, ... name the data file, row and
 * column) and checks the threshold level against the data (a level no classifier can reach).
 */
export async function loadGrid(file: string): Promise<LoadedGrid> {
  let text: string;
  try {
    const bytes = statSync(file).size;
    if (bytes > MAX_GRID_BYTES) {
      throw new CliError(
        `${file}:1:1 (file): the grid file is ${bytes.toLocaleString('en-US')} bytes, more than the ${MAX_GRID_BYTES.toLocaleString('en-US')} a sweep takes ` +
          '(its text travels in the workflow input): list fewer values, or split the grid into several files',
        EXIT_BAD_INPUT,
      );
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new CliError(`${file}:1:1 (file): cannot read grid file: ${why}`, EXIT_BAD_INPUT);
  }
  try {
    const resolved = await resolveGrid(parseGrid(text, file), text, file, readLocation);
    return { file, location: path.resolve(file), text, spec: resolved.spec, trialCount: countTrials(resolved.spec.grid), resolved };
  } catch (err) {
    if (err instanceof GridError) throw new CliError(err.message, EXIT_BAD_INPUT);
    throw err;
  }
}
