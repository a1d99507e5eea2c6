/**
 * lambda_max of the training loss for a whole pack at once: the kernel's batched exact
 * Hessian-vector product is the operator of batched Lanczos or warm-started power iteration.
 */
import type { PackKernel } from './kernel.js';
import type { SharpnessSpec } from './types.js';
import { lanczosBatched, powerIterationBatched, startVectors, type BatchedEigen } from './linalg.js';

/** Relative residual at which power iteration stops a block. */
export const POWER_TOLERANCE = 1e-6;

/**
 * Largest Hessian eigenvalue per trial with the given class weights (K * C).
 * Lanczos always starts from the same deterministic vector, so its value depends only on the parameters;
 * power iteration starts from `warm` (previous eigenvectors, K * P) when given.
 */
export function packSharpness(
  kernel: PackKernel,
  gammas: Float64Array,
  spec: SharpnessSpec,
  warm?: Float64Array | null,
): BatchedEigen {
  const K = kernel.size;
  const P = kernel.paramCount;
  const apply = (v: Float64Array) => kernel.hvp(v, gammas);
  if (spec.method === 'lanczos') return lanczosBatched(apply, K, P, { order: spec.iterations, start: startVectors(K, P) });
  if (spec.method === 'power') {
    return powerIterationBatched(apply, K, P, {
      maxIterations: spec.iterations,
      tol: POWER_TOLERANCE,
      start: warm ?? startVectors(K, P),
    });
  }
  throw new Error(`packSharpness: unknown method ${String((spec as SharpnessSpec).method)}`);
}
