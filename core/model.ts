/**
 * One-hidden-layer ReLU network: parameter count, seeded initialisation and conversion between the flat
 * layout of core/kernel.ts (W1 d x w, b1, W2 w x C, b2; row-major) and the nested artifact layout.
 */
import type { InitScheme } from './types.js';
import { createRng, type Rng } from './prng.js';

/** P(w) = (d + 1) w + (w + 1) C. */
export function paramCount(width: number, classes: number, d = 2): number {
  return (d + 1) * width + (width + 1) * classes;
}

/** Offsets of each block inside a flat parameter vector. */
export function paramOffsets(width: number, classes: number, d = 2) {
  const W1 = 0;
  const b1 = d * width;
  const W2 = b1 + width;
  const b2 = W2 + width * classes;
  return { W1, b1, W2, b2, end: b2 + classes };
}

/**
 * Bumped whenever a scheme's numbers change (definition, draw order, sampler). Part of every trial id
 * (core/grid/expand.ts), so a record trained from an older initialisation is never served as current.
 * glorot-normal 2: truncated-normal weights and N(0, 0.01^2) biases (1 was untruncated, biases N(0, 1e-6^2)).
 */
export const INIT_VERSIONS: Record<InitScheme, string> = {
  'glorot-normal': '2',
  standard: '1',
};

/** Standard deviation of a standard normal truncated to [-2, 2] (the constant of jax's variance_scaling). */
export const TRUNCATED_NORMAL_STD = 0.87962566103423978;

/**
 * Standard normal truncated to (-2, 2), sampled exactly by rejection from `rng`'s normal stream (about 4.6%
 * of draws are rejected, deterministically for a given stream).
 */
function truncatedNormal(rng: Rng): number {
  for (;;) {
    const z = rng.normal();
    if (Math.abs(z) < 2) return z;
  }
}

/**
 * Initial parameters for one trial, drawn in flat order from stream "init" of `seed`: the same seed gives
 * the same network whatever the loss or learning rate (so ce and dce trials start identically).
 * - glorot-normal (the authors' notebook: jax.example_libraries.stax.Dense defaults): weights
 *   jax.nn.initializers.glorot_normal() = variance_scaling(1, "fan_avg", "truncated_normal"), i.e. a standard
 *   normal truncated to (-2, 2) times sqrt(2/(fan_in + fan_out)) / TRUNCATED_NORMAL_STD, so the variance is
 *   exactly 2/(fan_in + fan_out); biases N(0, 0.01^2) (stax.Dense's b_init = normal(1e-2))
 * - standard: weights N(0, 1/fan_in), zero biases (no draws for them)
 * fan_in/fan_out: W1 (d x w) has d and w, W2 (w x C) has w and C.
 */
export function initParams(width: number, classes: number, scheme: InitScheme, seed: number, d = 2): Float64Array {
  const o = paramOffsets(width, classes, d);
  const theta = new Float64Array(o.end);
  const rng = createRng(seed, 'init');
  const glorot = scheme === 'glorot-normal';
  if (!glorot && scheme !== 'standard') throw new Error(`initParams: unknown scheme ${String(scheme)}`);
  // Weight = stddev * unit draw, as jax's variance_scaling (its stddev includes the truncation correction).
  const weight = glorot ? () => truncatedNormal(rng) : () => rng.normal();
  const s1 = glorot ? Math.sqrt(2 / (d + width)) / TRUNCATED_NORMAL_STD : Math.sqrt(1 / d);
  const s2 = glorot ? Math.sqrt(2 / (width + classes)) / TRUNCATED_NORMAL_STD : Math.sqrt(1 / width);
  const sb = glorot ? 0.01 : 0;
  for (let i = o.W1; i < o.b1; i++) theta[i] = s1 * weight();
  for (let i = o.b1; i < o.W2; i++) theta[i] = sb === 0 ? 0 : sb * rng.normal();
  for (let i = o.W2; i < o.b2; i++) theta[i] = s2 * weight();
  for (let i = o.b2; i < o.end; i++) theta[i] = sb === 0 ? 0 : sb * rng.normal();
  return theta;
}

export interface NestedParams {
  /** d rows of w. */
  W1: number[][];
  b1: number[];
  /** w rows of C. */
  W2: number[][];
  b2: number[];
}

function rows(theta: Float64Array, start: number, nRows: number, nCols: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < nRows; r++) out.push(Array.from(theta.subarray(start + r * nCols, start + (r + 1) * nCols)));
  return out;
}

export function unflattenParams(theta: Float64Array, width: number, classes: number, d = 2): NestedParams {
  const o = paramOffsets(width, classes, d);
  if (theta.length !== o.end) throw new Error(`unflattenParams: length ${theta.length}, expected ${o.end}`);
  return {
    W1: rows(theta, o.W1, d, width),
    b1: Array.from(theta.subarray(o.b1, o.W2)),
    W2: rows(theta, o.W2, width, classes),
    b2: Array.from(theta.subarray(o.b2, o.end)),
  };
}

export function flattenParams(p: NestedParams): Float64Array {
  const d = p.W1.length;
  const width = p.b1.length;
  const classes = p.b2.length;
  const o = paramOffsets(width, classes, d);
  const theta = new Float64Array(o.end);
  const put = (at: number, m: number[][], nCols: number) => {
    m.forEach((row, r) => {
      if (row.length !== nCols) throw new Error('flattenParams: ragged matrix');
      theta.set(row, at + r * nCols);
    });
  };
  if (p.W2.length !== width) throw new Error('flattenParams: W2 must have w rows');
  put(o.W1, p.W1, width);
  theta.set(p.b1, o.b1);
  put(o.W2, p.W2, classes);
  theta.set(p.b2, o.b2);
  return theta;
}
