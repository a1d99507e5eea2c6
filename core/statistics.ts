/**
 * Order statistics shared by the thresholds, the regression judge and the report: one median, one quantile.
 * Infinities are values like any other (a "not reached" threshold is +Infinity); NaN is never passed in.
 */

/** Median of an ascending array (even length: mean of the two middle values; two equal infinities stay). */
export function medianSorted(s: ArrayLike<number>, n = s.length): number {
  if (n === 0) throw new RangeError('median of an empty array');
  const h = n >> 1;
  if (n % 2 === 1) return s[h];
  const a = s[h - 1];
  const b = s[h];
  return a === b ? a : (a + b) / 2;
}

/** Median of any array (sorted copy). */
export function median(values: readonly number[]): number {
  return medianSorted(Float64Array.from(values).sort());
}

/** In-place ascending sort of the first n entries; insertion sort for the few seeds of a width. */
export function sortPrefix(a: Float64Array, n = a.length): void {
  if (n > 32) {
    a.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

/** Linear-interpolated ("type 7") quantile of an ascending array that may start at -Infinity or end at +Infinity. */
export function quantileSorted(s: ArrayLike<number>, p: number): number {
  const n = s.length;
  if (n === 0) throw new RangeError('quantile of an empty array');
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const f = h - lo;
  if (f === 0 || s[lo] === s[hi]) return s[lo];
  if (!Number.isFinite(s[hi])) return s[hi];
  if (!Number.isFinite(s[lo])) return s[lo];
  return s[lo] + f * (s[hi] - s[lo]);
}
