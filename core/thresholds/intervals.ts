/**
 * Censored estimates and their percentile intervals. A threshold that is not reached within the grid is only known
 * to lie above the grid's largest P, so every estimate is carried as an interval [lo, hi] of log values
 * (lo = hi when it is known): a P* not reached is [log P_max, +inf); a ratio whose static side is not reached is
 * (-inf, log(P_dyn / P_max,static)], and so on. Bootstrap replicates keep these censored values instead of
 * dropping them: the lower end of an interval is the alpha quantile of the replicates' `lo`, the upper end the
 * 1 - alpha quantile of their `hi`, so a censored replicate can only widen the interval (a conservative bound of
 * the partially identified percentile interval).
 */

/** log-scale bounds of one estimate: lo = hi when it is known. */
export interface LogBounds {
  lo: number;
  hi: number;
}

/** Back from log scale, to 12 significant digits: exp(log(291)) is 290.99999999999983, a grid value in name only. */
const expOf = (x: number): number => Number(Math.exp(x).toPrecision(12));

/** A threshold P* (+Infinity: not reached) on a grid whose largest P is maxParams. */
export function thresholdBounds(params: number, maxParams: number): LogBounds {
  return Number.isFinite(params) ? { lo: Math.log(params), hi: Math.log(params) } : { lo: Math.log(maxParams), hi: Infinity };
}

/** The ratio P*_dyn / P*_static from the bounds of both. */
export function ratioBounds(dyn: LogBounds, stat: LogBounds): LogBounds {
  return { lo: dyn.lo - stat.hi, hi: dyn.hi - stat.lo };
}

/** The mean (in log scale: geometric mean) of several estimates, e.g. the folds of cross-fitting. */
export function meanBounds(parts: readonly LogBounds[]): LogBounds {
  if (parts.length === 1) return parts[0];
  let lo = 0;
  let hi = 0;
  for (const p of parts) {
    lo += p.lo;
    hi += p.hi;
  }
  return { lo: lo / parts.length, hi: hi / parts.length };
}

export interface Interval {
  confidence: number;
  replicates: number;
  /** null: unbounded (the replicates' percentile lies beyond the grid). */
  lower: number | null;
  upper: number | null;
  /** Replicates whose value is censored (not reached on one side or both). */
  censored: number;
}

/**
 * Percentile interval of replicate bounds, back on the natural scale. Its ends are order statistics of the
 * replicates, taken outwards (no interpolation): thresholds live on a grid, and an interpolated end would fall
 * between two values no replicate has (e.g. 0.99 between ratios of 0.75 and 1), deciding a verdict by rounding.
 */
export function percentileInterval(reps: readonly LogBounds[], confidence: number): Interval {
  const alpha = (1 - confidence) / 2;
  const lo = Float64Array.from(reps, (r) => r.lo).sort();
  const hi = Float64Array.from(reps, (r) => r.hi).sort();
  const n = reps.length;
  const l = lo[Math.max(0, Math.floor((n - 1) * alpha + 1e-9))];
  const u = hi[Math.min(n - 1, Math.ceil((n - 1) * (1 - alpha) - 1e-9))];
  return {
    confidence,
    replicates: reps.length,
    lower: Number.isFinite(l) ? expOf(l) : null,
    upper: Number.isFinite(u) ? expOf(u) : null,
    censored: reps.filter((r) => r.lo !== r.hi).length,
  };
}

/** A point estimate from its bounds: a value when known, else the bound the grid gives. */
export function pointOf(b: LogBounds): { value: number | null; bound: { relation: '<' | '>'; value: number } | null } {
  if (b.lo === b.hi) return { value: expOf(b.lo), bound: null };
  if (Number.isFinite(b.hi)) return { value: null, bound: { relation: '<', value: expOf(b.hi) } };
  if (Number.isFinite(b.lo)) return { value: null, bound: { relation: '>', value: expOf(b.lo) } };
  return { value: null, bound: null };
}
