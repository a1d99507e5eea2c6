/**
 * core/engines/sample-tour.ts: the order of the fast kernel's Hessian-vector products over the training samples. A
 * permutation, a function of the inputs alone, ties to the lower index, and short: on the spirals much shorter than
 * the data order, so that the hidden units' masks change rarely along it (the reason for the tour).
 */
import { describe, expect, it } from 'vitest';
import { defaultDatasetSpec, makeSpirals } from '../../core/data.js';
import { GREEDY_TOUR_MAX_POINTS, sampleTour } from '../../core/engines/sample-tour.js';
import { createRng } from '../../core/prng.js';

function isPermutation(order: Int32Array, n: number): boolean {
  const seen = new Uint8Array(n);
  for (const i of order) {
    if (i < 0 || i >= n || seen[i]) return false;
    seen[i] = 1;
  }
  return order.length === n;
}

function length(x: Float64Array, order: ArrayLike<number>): number {
  let s = 0;
  for (let t = 1; t < order.length; t++) s += Math.hypot(x[2 * order[t]] - x[2 * order[t - 1]], x[2 * order[t] + 1] - x[2 * order[t - 1] + 1]);
  return s;
}

describe('sampleTour', () => {
  it('nearest neighbour from point 0, ties to the lower index', () => {
    // A unit square: from (0, 0) both (1, 0) (index 1) and (0, 1) (index 2) are at 1; then (1, 1), then (0, 1).
    const x = Float64Array.from([0, 0, 1, 0, 0, 1, 1, 1]);
    expect(Array.from(sampleTour(x, 4))).toEqual([0, 1, 3, 2]);
    expect(Array.from(sampleTour(Float64Array.from([5, 5]), 1))).toEqual([0]);
  });

  it('on the spirals: a permutation, the same every time, and at most half as long as the data order', () => {
    const train = makeSpirals(defaultDatasetSpec({ pointsPerClass: 300, seed: 2 }), 'train');
    const tour = sampleTour(train.x, train.n);
    expect(isPermutation(tour, train.n)).toBe(true);
    expect(Array.from(sampleTour(Float64Array.from(train.x), train.n))).toEqual(Array.from(tour));
    const identity = Array.from({ length: train.n }, (_, i) => i);
    expect(length(train.x, tour)).toBeLessThan(length(train.x, identity) / 2);
  });

  it(`above ${GREEDY_TOUR_MAX_POINTS} points: the Hilbert-curve order, a permutation far shorter than a random order`, () => {
    const n = GREEDY_TOUR_MAX_POINTS + 1000;
    const rng = createRng(4, 'test/sample-tour');
    const x = Float64Array.from({ length: 2 * n }, () => rng.normal());
    const tour = sampleTour(x, n);
    expect(isPermutation(tour, n)).toBe(true);
    const identity = Array.from({ length: n }, (_, i) => i); // the points are independent: a random order
    expect(length(x, tour)).toBeLessThan(length(x, identity) / 20);
  });
});
