/**
 * The threshold search's part of the web UI details (setCurrentDetails) and of `sweep status`: rounds, and every
 * cell's bracket. Pure and deterministic.
 */
import type { SearchProgress } from '../activities/contracts.js';
import type { SearchCell, SearchPoint } from '../core/types.js';

/** Cells listed in full; the rest are counted (search.json has them all). */
export const MAX_CELLS_SHOWN = 30;

const point = (p: SearchPoint | null): string => (p ? `w=${p.width} (P ${p.params}, ${p.fit}/${p.seeds} fit)` : '–');

/** One cell in words: its state, bracket and widths. */
export function searchCellRow(c: SearchCell): string[] {
  const ratio = c.lo && c.hi ? `${(c.hi.params / c.lo.params).toFixed(2)}×` : '';
  const state = c.outcome ?? 'searching';
  const flag = c.nonMonotone ? ` · non-monotone: met at w=${c.nonMonotone.metAt.width}, lost at w=${c.nonMonotone.lostAt.width}` : '';
  return [c.id, `${state}${flag}`, point(c.lo), point(c.hi), ratio, String(c.widths), String(c.trials)];
}

export const SEARCH_CELL_COLUMNS = ['cell', 'state', 'fails (lo)', 'meets (hi)', 'P_hi/P_lo', 'widths', 'trials'];

export function searchDetailsMarkdown(s: SearchProgress): string {
  const trials = s.rounds.reduce((n, r) => n + r.trials, 0);
  const lines = [
    `**Threshold search** · round ${Math.min(s.round, s.maxRounds)} of at most ${s.maxRounds} · ${s.open} of ${s.cells.length} cells open · ` +
      `${trials} trials, ${s.trialSteps.toLocaleString('en-US')} trial-steps judged · target P_hi/P_lo ≤ ${1 + s.precision}`,
    '',
  ];
  if (s.rounds.length > 0) {
    lines.push('| round | cells | widths | trials |', '|---:|---:|---:|---:|');
    for (const r of s.rounds) lines.push(`| ${r.round} | ${r.cells} | ${r.widths} | ${r.trials} |`);
    lines.push('');
  }
  lines.push(`| ${SEARCH_CELL_COLUMNS.join(' | ')} |`, `|${SEARCH_CELL_COLUMNS.map(() => '---').join('|')}|`);
  for (const c of s.cells.slice(0, MAX_CELLS_SHOWN)) lines.push(`| ${searchCellRow(c).join(' | ')} |`);
  if (s.cells.length > MAX_CELLS_SHOWN) lines.push(`| … ${s.cells.length - MAX_CELLS_SHOWN} more cells in search.json | | | | | | |`);
  return lines.join('\n');
}
