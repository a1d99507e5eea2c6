/**
 * lambda_max of the training loss for a whole pack at once: the kernel's batched exact
 * Hessian-vector product is the operator of batched Lanczos or warm-started power iteration.
 *
 * Two Lanczos paths (docs/performance.md, "Sharpness"):
 * - cold: full order `iterations` from the fixed start vector, one extra product for the residual. Its value
 *   depends only on the parameters (used for the first and the final measurement of a trial, and whenever
 *   `tolerance` is 0 or absent), so an artifact's final sharpness can be recomputed exactly.
 * - warm: with `tolerance` > 0 and the previous eigenvector of each trial as start, Lanczos stops a trial as soon
 *   as ||H y - theta y|| <= tolerance * |theta| (the Lanczos residual, no extra product), at most `iterations`
 *   steps. That bound puts theta within tolerance * |theta| of an eigenvalue; 25 steps after the last
 *   measurement the previous eigenvector is close to the new one, so this takes a few products instead of 21.
 */
import type { PackKernel } from './kernel.js';
import type { SharpnessSpec } from './types.js';
import {
  lanczosBatched,
  lanczosTolerantBatched,
  powerIterationBatched,
  startVectors,
  type BatchedEigen,
  type BatchedOperator,
} from './linalg.js';

/** Relative residual at which power iteration stops a block when the spec gives no tolerance. */
export const POWER_TOLERANCE = 1e-6;

/** The grid's default relative residual tolerance of warm-started Lanczos (core/grid/schema.ts). */
export const DEFAULT_SHARPNESS_TOLERANCE = 1e-3;

/**
 * Largest Hessian eigenvalue per trial with the given class weights (K * C).
 * `warm` (previous eigenvectors, K * P): start of power iteration, and of tolerance-stopped Lanczos when
 * spec.tolerance > 0; Lanczos without warm vectors or without a tolerance is the cold, full-order path.
 * `need` (K, optional): only trials with need[k] = 1 are wanted; the others may be skipped by the kernel and
 * their entries of the result are meaningless.
 */
export function packSharpness(
  kernel: PackKernel,
  gammas: Float64Array,
  spec: SharpnessSpec,
  warm?: Float64Array | null,
  need?: Uint8Array,
): BatchedEigen {
  const K = kernel.size;
  const P = kernel.paramCount;
  const tolerance = spec.tolerance ?? 0;
  if (spec.method === 'lanczos') {
    if (warm && tolerance > 0) {
      const apply: BatchedOperator = (v, active) => kernel.hvp(v, gammas, active);
      return lanczosTolerantBatched(apply, K, P, { maxOrder: spec.iterations, tol: tolerance, start: warm, need });
    }
    return lanczosBatched(masked(kernel, gammas, K, P, need), K, P, { order: spec.iterations, start: startVectors(K, P) });
  }
  if (spec.method === 'power') {
    return powerIterationBatched(masked(kernel, gammas, K, P, need), K, P, {
      maxIterations: spec.iterations,
      tol: tolerance > 0 ? tolerance : POWER_TOLERANCE,
      start: warm ?? startVectors(K, P),
    });
  }
  throw new Error(`packSharpness: unknown method ${String((spec as SharpnessSpec).method)}`);
}

/** The hvp restricted to needed trials; unneeded blocks come back as zeros (their Krylov space closes at once). */
function masked(kernel: PackKernel, gammas: Float64Array, K: number, P: number, need?: Uint8Array): BatchedOperator {
  if (!need || need.every((x) => x === 1)) return (v) => kernel.hvp(v, gammas);
  return (v) => {
    const out = kernel.hvp(v, gammas, need);
    for (let k = 0; k < K; k++) if (!need[k]) out.fill(0, k * P, (k + 1) * P);
    return out;
  };
}
