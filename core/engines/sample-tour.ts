/**
 * A short tour through a 2-d dataset: the order in which the fast kernel's Hessian-vector products visit the
 * training samples (native/spirals.h "Products along a sample tour"). Consecutive samples of a short tour lie on
 * the same side of most lines in the plane, so the hidden units' ReLU masks change at few steps of it, and a
 * product's cost follows those changes instead of samples x units. Measured on the spirals (16 trials, lr 0.5 and
 * 2): masks change at 1/14 of the (sample, unit) pairs in data order, 1/25 along the nearest-neighbour tour at 300
 * points, 1/90 at 3,000 (a Hilbert curve: 1/20 and 1/78).
 *
 * Deterministic: a function of the inputs alone (ties go to the lower index), so every kernel and machine visits
 * the samples in the same order.
 */

/** Nearest-neighbour tours cost n^2 / 2 distances; above this many points the Hilbert-curve order is used. */
export const GREEDY_TOUR_MAX_POINTS = 8192;

/** The visiting order of the n points (x: n x 2, row-major): a permutation of 0..n-1. */
export function sampleTour(x: Float64Array, n: number): Int32Array {
  return n <= GREEDY_TOUR_MAX_POINTS ? nearestNeighbourTour(x, n) : hilbertOrder(x, n);
}

/** From point 0, always on to the nearest point not yet visited. */
function nearestNeighbourTour(x: Float64Array, n: number): Int32Array {
  const tour = new Int32Array(n);
  const left = Int32Array.from({ length: n }, (_, i) => i); // unvisited points, in index order
  let size = n;
  let at = 0;
  for (let t = 0; t < n; t++) {
    let best = 0;
    let bestD = Infinity;
    const ax = x[2 * left[at]];
    const ay = x[2 * left[at] + 1];
    const here = left[at];
    tour[t] = here;
    left.copyWithin(at, at + 1, size); // keeps index order, so the first nearest is the lowest index
    size--;
    for (let i = 0; i < size; i++) {
      const p = left[i];
      const dx = x[2 * p] - ax;
      const dy = x[2 * p + 1] - ay;
      const d = dx * dx + dy * dy;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    at = best;
  }
  return tour;
}

/** Points sorted by their cell's index on a Hilbert curve of 2^16 x 2^16 cells over the bounding box. */
function hilbertOrder(x: Float64Array, n: number): Int32Array {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, x[2 * i]);
    x1 = Math.max(x1, x[2 * i]);
    y0 = Math.min(y0, x[2 * i + 1]);
    y1 = Math.max(y1, x[2 * i + 1]);
  }
  const side = 1 << 16;
  const span = Math.max(x1 - x0, y1 - y0) || 1;
  const cell = (v: number) => Math.min(side - 1, Math.max(0, Math.floor((v / span) * side)));
  const key = new Float64Array(n);
  for (let i = 0; i < n; i++) key[i] = hilbertIndex(cell(x[2 * i] - x0), cell(x[2 * i + 1] - y0), side);
  return Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => key[a] - key[b] || a - b);
}

/** The distance along the Hilbert curve of cell (cx, cy) on a side x side grid (side a power of 2). */
function hilbertIndex(cx: number, cy: number, side: number): number {
  let d = 0;
  for (let s = side / 2; s >= 1; s /= 2) {
    const rx = (cx & s) > 0 ? 1 : 0;
    const ry = (cy & s) > 0 ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    if (ry === 0) {
      if (rx === 1) {
        cx = s - 1 - cx;
        cy = s - 1 - cy;
      }
      [cx, cy] = [cy, cx];
    }
  }
  return d;
}
