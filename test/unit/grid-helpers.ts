import { expect } from 'vitest';
import { GridError, parseGrid } from '../../core/grid/index.js';

/** The issues parseGrid reports for `text` (failing the test when it reports none). */
export function issuesOf(text: string) {
  try {
    parseGrid(text, 'g.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(GridError);
    return (e as GridError).issues;
  }
  throw new Error('expected a GridError');
}
