/**
 * The threshold search on one cell, as a pure state machine (docs/search.md). A cell's state is its bracket: the
 * largest width known to fail (`lo`) below the smallest width of the run that meets the level up to the largest
 * width trained (`hi`), the sustained rule of core/thresholds/cells.ts restricted to the widths trained. Each round:
 * - ladder: the first round trains the top `rungs` rungs of a geometric ladder in P (factor `factor`) from the
 *   largest width down; while every rung meets, the next round trains the next `rungs` rungs;
 * - bisection: inside (lo, hi), the width nearest the geometric mean of P_lo and P_hi;
 * - a cell stops when resolved (P_hi / P_lo <= 1 + precision, or no width lies inside), when the largest width
 *   fails (not reached), when the smallest meets (below range), or on the search's budgets.
 */
import type { SearchSpec } from '../grid/schema.js';
import type { RoundRequest, SearchCell, SearchOutcome, SearchPoint, SearchRoundLog } from '../types.js';

export type { RoundRequest };

/** The widths a search may train and their parameter counts. */
export interface SearchGeometry {
  /** 'listed': these widths only (ascending); null: every integer width in [min, max]. */
  listed: number[] | null;
  min: number;
  max: number;
  paramsOf(width: number): number;
}

export function geometryOf(gridWidths: readonly number[], mode: SearchSpec['widths'], paramsOf: (w: number) => number): SearchGeometry {
  const sorted = [...gridWidths].sort((a, b) => a - b);
  return { listed: mode === 'listed' ? sorted : null, min: sorted[0], max: sorted[sorted.length - 1], paramsOf };
}

/** The width in (below, above), exclusive, whose log P is nearest log `target`; null when none lies there. */
export function widthNear(g: SearchGeometry, target: number, below: number, above: number): number | null {
  const dist = (w: number) => Math.abs(Math.log(g.paramsOf(w)) - Math.log(target));
  if (g.listed) {
    let best: number | null = null;
    for (const w of g.listed) if (w > below && w < above && (best === null || dist(w) < dist(best))) best = w;
    return best;
  }
  const lo = below + 1;
  const hi = above - 1;
  if (lo > hi) return null;
  // P is linear in w: the real width with P(w) = target, then the nearer of its two integer neighbours.
  const [p0, p1] = [g.paramsOf(g.min), g.paramsOf(g.max)];
  const real = g.max === g.min ? g.min : g.min + ((target - p0) / (p1 - p0)) * (g.max - g.min);
  const candidates = [Math.floor(real), Math.ceil(real)].map((w) => Math.min(hi, Math.max(lo, w)));
  return dist(candidates[0]) <= dist(candidates[1]) ? candidates[0] : candidates[1];
}

/** The whole ladder, largest width first: P(max) / factor^k, each at the nearest width below the last, ending at min. */
export function ladderOf(g: SearchGeometry, factor: number): number[] {
  const rungs = [g.max];
  const pMin = g.paramsOf(g.min);
  for (let target = g.paramsOf(g.max) / factor; target > pMin; target /= factor) {
    const w = widthNear(g, target, g.min, rungs[rungs.length - 1]);
    if (w === null) break;
    rungs.push(w);
  }
  if (rungs[rungs.length - 1] !== g.min) rungs.push(g.min);
  return rungs;
}

export function newCell(id: string, loss: SearchCell['loss'], key: SearchCell['key'], trialsPerWidth: number): SearchCell {
  return { id, loss, key, trialsPerWidth, lo: null, hi: null, lowestRung: null, nonMonotone: null, outcome: null, widths: 0, trials: 0 };
}

/** What a cell trains next, or why it stops (`outcome`), from its bracket alone. */
export function nextStep(cell: SearchCell, spec: Pick<SearchSpec, 'factor' | 'rungs' | 'precision'>, g: SearchGeometry): { widths: number[]; outcome: SearchOutcome | null } {
  if (cell.outcome) return { widths: [], outcome: cell.outcome };
  const ladder = ladderOf(g, spec.factor);
  if (cell.lowestRung === null) return { widths: ladder.slice(0, spec.rungs), outcome: null };
  if (cell.hi === null) return { widths: [], outcome: 'not-reached' };
  if (cell.lo === null) {
    const below = ladder.filter((w) => w < cell.lowestRung!);
    return below.length === 0 ? { widths: [], outcome: 'below-range' } : { widths: below.slice(0, spec.rungs), outcome: null };
  }
  const [pLo, pHi] = [cell.lo.params, cell.hi.params];
  if (pHi / pLo <= 1 + spec.precision) return { widths: [], outcome: 'resolved' };
  const mid = widthNear(g, Math.sqrt(pLo * pHi), cell.lo.width, cell.hi.width);
  return mid === null ? { widths: [], outcome: 'resolved' } : { widths: [mid], outcome: null };
}

/**
 * The cell after a round's verdicts: the sustained run over its bracket and the new points (the suffix, by width,
 * whose points all meet), the last failure below it, and a non-monotone curve when a point below that failure met.
 * `rungs`: the round trained ladder rungs (the lowest becomes lowestRung).
 */
export function advance(cell: SearchCell, points: readonly SearchPoint[], rungs: boolean): SearchCell {
  if (points.length === 0) return cell;
  const byWidth = new Map<number, SearchPoint>();
  for (const p of [cell.lo, cell.hi, ...points]) if (p) byWidth.set(p.width, p);
  const all = [...byWidth.values()].sort((a, b) => a.width - b.width);
  let s = all.length;
  while (s > 0 && all[s - 1].meets) s--;
  const hi = s < all.length ? all[s] : null;
  const lo = s > 0 ? all[s - 1] : cell.lo;
  let nonMonotone = cell.nonMonotone;
  if (!nonMonotone && s > 1) {
    const metAt = all.slice(0, s - 1).find((p) => p.meets);
    if (metAt) nonMonotone = { metAt, lostAt: all.slice(all.indexOf(metAt)).find((p) => !p.meets)! };
  }
  const lowestRung = rungs ? Math.min(cell.lowestRung ?? Infinity, ...points.map((p) => p.width)) : cell.lowestRung;
  return { ...cell, lo, hi, lowestRung, nonMonotone, widths: cell.widths + points.length, trials: cell.trials + points.length * cell.trialsPerWidth };
}

/**
 * Plan round `round` (1-based): close the cells that are done, and the open ones when the round would pass
 * maxRounds or maxTrials (`trialsSoFar`: trials of the rounds before). Returns the cells and what to train.
 */
export function planRound(
  cells: readonly SearchCell[],
  spec: Pick<SearchSpec, 'factor' | 'rungs' | 'precision' | 'maxRounds' | 'maxTrials'>,
  g: SearchGeometry,
  round: number,
  trialsSoFar: number,
): { cells: SearchCell[]; requests: RoundRequest[] } {
  const out = cells.map((c) => ({ ...c }));
  const requests: RoundRequest[] = [];
  for (const cell of out) {
    const step = nextStep(cell, spec, g);
    if (step.outcome) cell.outcome = step.outcome;
    else requests.push({ cellId: cell.id, widths: step.widths, rungs: cell.lowestRung === null || cell.lo === null });
  }
  const byId = new Map(out.map((c) => [c.id, c]));
  const trials = requests.reduce((n, r) => n + r.widths.length * byId.get(r.cellId)!.trialsPerWidth, 0);
  const overBudget = spec.maxTrials !== undefined && trialsSoFar + trials > spec.maxTrials;
  if (requests.length > 0 && (round > spec.maxRounds || overBudget)) {
    for (const r of requests) byId.get(r.cellId)!.outcome = round > spec.maxRounds ? 'rounds' : 'budget';
    return { cells: out, requests: [] };
  }
  return { cells: out, requests };
}

/**
 * The cells after a round: each request's widths with their verdicts. A width without any record (its pack failed)
 * counts as failing, so the search moves on instead of asking for it again; the sweep's summary lists the failure.
 */
export function applyRound(cells: readonly SearchCell[], requests: readonly RoundRequest[], verdicts: ReadonlyMap<string, readonly SearchPoint[]>, g: SearchGeometry): SearchCell[] {
  const asked = new Map(requests.map((r) => [r.cellId, r]));
  return cells.map((cell) => {
    const r = asked.get(cell.id);
    if (!r) return cell;
    const judged = new Map((verdicts.get(cell.id) ?? []).map((p) => [p.width, p]));
    const points = r.widths.map((w) => judged.get(w) ?? { width: w, params: g.paramsOf(w), median: null, fit: 0, seeds: 0, meets: false });
    return advance(cell, points, r.rungs);
  });
}

/**
 * The whole search against a result function (tests, and replays against stored records): rounds until no cell
 * is open. `judge` gives the verdicts of a round's requests.
 */
export function runSearch(
  cells: readonly SearchCell[],
  spec: Pick<SearchSpec, 'factor' | 'rungs' | 'precision' | 'maxRounds' | 'maxTrials'>,
  g: SearchGeometry,
  judge: (requests: readonly RoundRequest[], cells: readonly SearchCell[]) => ReadonlyMap<string, readonly SearchPoint[]>,
): { cells: SearchCell[]; rounds: SearchRoundLog[] } {
  let state = [...cells];
  const rounds: SearchRoundLog[] = [];
  for (let round = 1; ; round++) {
    const trialsSoFar = state.reduce((n, c) => n + c.trials, 0);
    const planned = planRound(state, spec, g, round, trialsSoFar);
    if (planned.requests.length === 0) return { cells: planned.cells, rounds };
    state = applyRound(planned.cells, planned.requests, judge(planned.requests, planned.cells), g);
    const widths = planned.requests.reduce((n, r) => n + r.widths.length, 0);
    rounds.push({ round, cells: planned.requests.length, widths, trials: state.reduce((n, c) => n + c.trials, 0) - trialsSoFar });
  }
}
