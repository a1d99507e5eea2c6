import { lossFamily, type LossName } from './types.js';

/**
 * The numeric heart of an engine: K trials of one width and one dataset, stacked.
 * The generic driver (core/train.ts) owns the schedule, cadence, sharpness (Lanczos / power
 * iteration over `hvp`), divergence and records; a kernel only does linear algebra.
 *
 * Conventions:
 * - Flat parameter vector of one trial, length P = (d + 1) w + (w + 1) C, in this order:
 *   W1 (d x w, row-major: W1[i * w + j] connects input i to hidden unit j), b1 (w),
 *   W2 (w x C, row-major: W2[j * C + k] connects hidden j to output k), b2 (C).
 * - Packed vectors are K * P (trial k at offset k * P); class weights are K * C.
 * - Losses follow SCIENCE.md exactly, with per-trial class weights `gammas` (all ones = static loss):
 *     ce family:  F = -(1/N) sum_mu Gamma_{y_mu} log softmax(z)_{y_mu}
 *     mse:        F = (1/(2N)) sum_mu sum_k (z_k - Y_k)^2                  (gammas ignored)
 *     dmse1:      F = (1/(2N)) sum_mu Gamma_{y_mu} sum_k (z_k - Y_k)^2
 *     dmse2:      F = (1/(2N)) sum_mu sum_k Gamma_k (z_k - Y_k)^2
 *   ce and dce differ only by the gammas passed in; so do mse/dmse1/dmse2 with all-ones gammas.
 */
export interface KernelTrial {
  loss: LossName;
  lr: number;
  /** Initial flat parameters (length P). */
  theta: Float64Array;
}

export interface KernelData {
  /** Inputs, N x d row-major. */
  x: Float64Array;
  /** Labels in [0, C). */
  y: Int32Array;
  n: number;
  d: number;
  classes: number;
}

export interface KernelInit {
  width: number;
  train: KernelData;
  validation: KernelData;
  trials: KernelTrial[];
}

export interface SplitMetrics {
  /** Loss with the given gammas, per trial (K). */
  loss: Float64Array;
  /** Static counterpart loss (all-ones gammas), per trial. */
  lossStatic: Float64Array;
  /** Fraction of points whose argmax logit is the label, per trial. */
  acc: Float64Array;
}

export interface PackKernel {
  /** e.g. 'float64', 'wasm', 'cpu', 'tensorflow' (native), 'tensorflow-gpu'. */
  readonly backend: string;
  /** K. */
  readonly size: number;
  /** P of one trial. */
  readonly paramCount: number;
  /**
   * One full-batch gradient-descent step for every trial with active[k] = 1:
   * theta_k <- theta_k - lr_k * grad F_k(theta_k; gammas_k). Inactive trials keep their parameters.
   * Returns the training loss of every trial at the parameters before the step (NaN/Infinity allowed).
   */
  step(gammas: Float64Array, active: Uint8Array): Float64Array;
  /** Metrics on a split at the current parameters. */
  evaluate(split: 'train' | 'validation', gammas: Float64Array): SplitMetrics;
  /** Gradient of the training loss, K * P. */
  gradient(gammas: Float64Array): Float64Array;
  /**
   * Exact Hessian-vector products of the training loss (R-operator), v and result K * P.
   * `active` (K, optional): only trials with active[k] = 1 are needed; a kernel may skip the others and
   * leave anything in their part of the result.
   * `out` (K * P, optional): storage a kernel may return the result in instead of a new array (callers use the
   * returned array): a warm solve passes the same few vectors at every measurement, so that products allocate,
   * zero and page in no memory (at 300 samples and 100 units that was about a tenth of a product).
   */
  hvp(v: Float64Array, gammas: Float64Array, active?: Uint8Array, out?: Float64Array): Float64Array;
  /** Current flat parameters of trial k (a copy). */
  getParams(k: number): Float64Array;
  /** Overwrite the parameters of trial k (tests and restarts). */
  setParams(k: number, theta: Float64Array): void;
  /** Change the learning rate of trial k from the next step on (the safety guard, core/guard.ts). */
  setLearningRate?(k: number, lr: number): void;
  /** Release native or GPU memory. */
  dispose(): void;
}

export type KernelFactory = (init: KernelInit) => PackKernel | Promise<PackKernel>;

/**
 * What every kernel checks before it builds anything: a pack has trials, its train and validation sets have the
 * same shape, and its trials share one loss family (they share the forward and backward code). Returns the family.
 */
export function packLossFamily(init: KernelInit, kernel: string): 'ce' | 'mse' {
  const { train, validation, trials } = init;
  if (trials.length === 0) throw new Error(`${kernel}: empty pack`);
  if (train.d !== validation.d || train.classes !== validation.classes) {
    throw new Error(`${kernel}: train and validation shapes differ`);
  }
  const fam = lossFamily(trials[0].loss);
  if (trials.some((t) => lossFamily(t.loss) !== fam)) throw new Error(`${kernel}: mixed loss families in a pack`);
  return fam;
}
