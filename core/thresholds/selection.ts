/**
 * The headline of a loss, honest under selection (docs/thresholds.md, "Headline"). A loss with several candidate
 * cells (lr, T, A) must not pick its best cell and estimate that cell's threshold on the same seeds (winner's
 * curse). The procedures:
 * - single:    one candidate cell; estimated on all (paired) seeds.
 * - declared:  the grid file names the cell (`threshold.compare`); estimated on all seeds.
 * - cross-fit: the seeds are split in two folds (sorted seeds, alternating); on each fold the candidate with the
 *              smallest P* is selected, and it (and its matched static cell) is estimated on the other fold. The
 *              estimate is the geometric mean of the two held-out estimates. The bootstrap resamples seeds within
 *              each fold and repeats the selection in every replicate.
 * - none:      no honest estimate is possible (no candidate, or fewer than two seeds for cross-fitting).
 * Seed s of a dynamical cell and of its matched static cell share data and initial weights, so every resample
 * draws seeds once and uses them on both sides (paired bootstrap).
 */
import type { Rng } from '../prng.js';
import type { ThresholdCriterion } from './criterion.js';
import { columnsOf, crossingOn, scratchFor, type Cell, type Crossing } from './cells.js';
import { meanBounds, ratioBounds, thresholdBounds, type LogBounds } from './intervals.js';

export type SelectionMethod = 'single' | 'declared' | 'cross-fit' | 'none';

/** A candidate cell with its matched static cell (same lr, the same seeds), when the sweep has one. */
export interface Candidate {
  cell: Cell;
  matched: Cell | null;
}

/** What one evaluation of a plan gives: the loss's P*, the matched static P* and their ratio, all censored. */
export interface Outcome {
  threshold: LogBounds;
  matched: LogBounds | null;
  ratio: LogBounds | null;
  /** Per fold: the candidate index used. */
  chosen: number[];
  /** Per fold: the crossing of the chosen cell on its estimation seeds. */
  crossings: Crossing[];
}

export interface Plan {
  method: Exclude<SelectionMethod, 'none'>;
  candidates: Candidate[];
  /** The paired seeds (ids, ascending) every candidate and matched cell has. */
  seeds: number[];
  /** Indices into `seeds`: one fold (single, declared) or two (cross-fit). */
  folds: number[][];
}

/** Cross-fitting folds: sorted seeds dealt alternately, so both folds span the seed range. */
export function foldsOf(n: number): number[][] {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) (i % 2 === 0 ? a : b).push(i);
  return [a, b];
}

export class PlanEvaluator {
  private readonly cols: Int32Array[];
  private readonly matchedCols: (Int32Array | null)[];
  private readonly scratch: Float64Array;
  private readonly buf: Int32Array;

  constructor(
    readonly plan: Plan,
    private readonly level: number,
    private readonly criterion: ThresholdCriterion,
  ) {
    this.cols = plan.candidates.map((c) => columnsOf(c.cell, plan.seeds));
    this.matchedCols = plan.candidates.map((c) => (c.matched ? columnsOf(c.matched, plan.seeds) : null));
    this.scratch = scratchFor(plan.seeds.length);
    this.buf = new Int32Array(plan.seeds.length);
  }

  /** Columns of a cell's table for a multiset of seed indices. */
  private columns(map: Int32Array, draw: ArrayLike<number>): Int32Array {
    const out = this.buf.subarray(0, draw.length);
    for (let i = 0; i < draw.length; i++) out[i] = map[draw[i]];
    return out;
  }

  private crossing(cell: Cell, map: Int32Array, draw: ArrayLike<number>): Crossing {
    return crossingOn(cell, this.columns(map, draw), this.level, this.criterion, this.scratch);
  }

  /** The candidate with the smallest P* on `draw` (ties: the higher median at the largest width, then order). */
  private select(draw: ArrayLike<number>): number {
    let best = 0;
    let bestP = Infinity;
    let bestTop = -Infinity;
    this.plan.candidates.forEach((c, i) => {
      const x = this.crossing(c.cell, this.cols[i], draw);
      const m = x.medians[x.medians.length - 1];
      const top = this.criterion.direction === 'atLeast' ? m : -m;
      if (x.params < bestP || (x.params === bestP && top > bestTop)) {
        best = i;
        bestP = x.params;
        bestTop = top;
      }
    });
    return best;
  }

  private estimateOn(i: number, draw: ArrayLike<number>): { threshold: LogBounds; matched: LogBounds | null; crossing: Crossing } {
    const c = this.plan.candidates[i];
    const x = this.crossing(c.cell, this.cols[i], draw);
    const threshold = thresholdBounds(x.params, maxParams(c.cell));
    let matched: LogBounds | null = null;
    if (c.matched) matched = thresholdBounds(this.crossing(c.matched, this.matchedCols[i]!, draw).params, maxParams(c.matched));
    return { threshold, matched, crossing: x };
  }

  /** Evaluate the plan on per-fold seed draws (the observed folds, or resamples of them). */
  evaluate(draws: readonly ArrayLike<number>[]): Outcome {
    const parts: { threshold: LogBounds; matched: LogBounds | null; crossing: Crossing }[] = [];
    const chosen: number[] = [];
    if (this.plan.method === 'cross-fit') {
      for (let f = 0; f < 2; f++) {
        const i = this.select(draws[f]);
        chosen.push(i);
        parts.push(this.estimateOn(i, draws[1 - f]));
      }
    } else {
      chosen.push(0);
      parts.push(this.estimateOn(0, draws[0]));
    }
    const threshold = meanBounds(parts.map((p) => p.threshold));
    const hasMatched = parts.every((p) => p.matched !== null);
    const matched = hasMatched ? meanBounds(parts.map((p) => p.matched!)) : null;
    const ratio = hasMatched ? meanBounds(parts.map((p) => ratioBounds(p.threshold, p.matched!))) : null;
    return { threshold, matched, ratio, chosen, crossings: parts.map((p) => p.crossing) };
  }

  /** The observed outcome and B bootstrap replicates (seeds resampled within each fold, paired across cells). */
  bootstrap(B: number, rng: Rng): { observed: Outcome; replicates: Outcome[] } {
    const observed = this.evaluate(this.plan.folds);
    const replicates: Outcome[] = [];
    const draws = this.plan.folds.map((f) => new Int32Array(f.length));
    for (let r = 0; r < B; r++) {
      this.plan.folds.forEach((fold, f) => {
        for (let i = 0; i < fold.length; i++) draws[f][i] = fold[Math.floor(rng.next() * fold.length)];
      });
      replicates.push(this.evaluate(draws));
    }
    return { observed, replicates };
  }
}

export const maxParams = (cell: Cell): number => cell.params[cell.params.length - 1];

/** Seeds every cell has (ascending), and whether some cell has seeds the others lack. */
export function pairedSeeds(cells: readonly Cell[]): { seeds: number[]; dropped: boolean } {
  if (cells.length === 0) return { seeds: [], dropped: false };
  let common = new Set(cells[0].seeds);
  const all = new Set<number>();
  for (const c of cells) {
    const mine = new Set(c.seeds);
    common = new Set([...common].filter((s) => mine.has(s)));
    for (const s of c.seeds) all.add(s);
  }
  return { seeds: [...common].sort((a, b) => a - b), dropped: common.size < all.size };
}
