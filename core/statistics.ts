/**
 * Order statistics shared by the thresholds, the regression judge, the report, the figures and the bench: one
 * median. Infinities are values like any other (a "not reached" threshold is +Infinity); NaN is never passed in.
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
