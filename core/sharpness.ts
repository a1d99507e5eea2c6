/**
 * lambda_max of the training loss for a whole pack at once: the kernel's batched exact
 * Hessian-vector product is the operator of batched Lanczos or warm-started power iteration.
 *
 * Two Lanczos paths (docs/performance.md, "Sharpness"):
 * - cold: full order `iterations` from the fixed start vector, one extra product for the residual. Its value
 *   depends only on the parameters (used for the first and the final measurement of a trial, and whenever
 *   `tolerance` is 0 or absent), so an artifact's final sharpness can be recomputed exactly.
 * - warm: with `tolerance` > 0 and the previous eigenvector of each trial as start, Lanczos stops a trial as soon
 *   as ||H y - theta y|| <= tolerance * |theta| (the Lanczos residual, no extra product), after at least
 *   `minOrder` and at most `iterations` steps. That bound puts theta within tolerance * |theta| of *an*
 *   eigenvalue, not necessarily the largest: from a start near the eigenvector of the second eigenvalue (the
 *   top two crossed, or a new direction rose above the tracked one) a few steps already have a tiny residual at
 *   lambda_2. Nothing short of a full solve guarantees lambda_1: Lanczos of order j from a start at angle phi to
 *   its eigenvector is within (lambda_1 - lambda_min) (tan phi / T_{j-1}(1 + 2 gamma))^2 of it (Kaniel-Paige;
 *   gamma = (lambda_1 - lambda_2) / (lambda_2 - lambda_min)), so what helps is a start with a component on it
 *   (the previous 2nd and 3rd Ritz vectors, WARM_START_TRACK, where a swapped top eigenvector lies; a fixed
 *   seeded random vector, WARM_START_MIX, so the start is never orthogonal to it) and enough steps (`minOrder`,
 *   default 10: measured, 5 and 8 still returned a lower eigenvalue about once in 3,000-5,000 at learning rates
 *   1-4, 10 never; re-measured in this form with bench/sharpness-accuracy.ts). What is left is made visible and
 *   corrected by a cold solve at every `coldEvery`-th measurement (packSharpness `check`: from the fixed start,
 *   stopped on the same residual rule after at least `minOrder` steps). Measurements in docs/performance.md,
 *   "Not the second eigenvalue" and "Sharpness within budget".
 * SharpnessTracker runs a pack's measurements along training (warm state, dynamic and static eigenproblems, one
 * where the two losses coincide).
 */
import type { PackKernel } from './kernel.js';
import type { ResidualKind, SharpnessSpec } from './types.js';
import {
  defaultBlockOps,
  lanczosBatched,
  lanczosTolerantBatched,
  powerIterationBatched,
  startVectors,
  type BatchedEigen,
  type BatchedOperator,
  type BlockOps,
} from './linalg.js';

/** Relative residual at which power iteration stops a block when the spec gives no tolerance. */
export const POWER_TOLERANCE = 1e-6;

/** The grid's default relative residual tolerance of warm-started Lanczos (core/grid/schema.ts). */
export const DEFAULT_SHARPNESS_TOLERANCE = 1e-3;

/** The grid's default minimum Lanczos order of a warm measurement (SharpnessSpec.minOrder; core/grid/schema.ts). */
export const DEFAULT_SHARPNESS_MIN_ORDER = 10;

/** The grid's default cadence of cold checks: every this many warm measurements (SharpnessSpec.coldEvery; 0: none). */
export const DEFAULT_SHARPNESS_COLD_EVERY = 10;

/**
 * Weight of the fixed random unit vector (seeded stream `sharpness-mix`, the same in every block) added to a
 * trial's previous eigenvector before it starts warm Lanczos: the start is then never orthogonal to the true
 * top eigenvector, whatever the previous solve converged to (an exact eigenvector of lambda_2 would otherwise
 * close the Krylov space after one step, whatever minOrder). 0.1: the start keeps 99.5% of the previous vector;
 * with minOrder 10 it cost < 1% more products in the measured runs (docs/performance.md).
 */
export const WARM_START_MIX = 0.1;

/**
 * Ritz vectors each warm measurement keeps per trial (its top one and the next WARM_START_TRACK - 1), and the
 * weight of each of those next ones in the next warm start: start = v_1 + 0.3 (v_2 + v_3) + mix * r. When the
 * top two eigenvalues swap, or the third rises to the top, the new top eigenvector has a large component on
 * the previous v_2 or v_3, which a start from v_1 alone (nearly orthogonal to it) lacks; Lanczos resolves such
 * a nearly invariant 3-dimensional start within a few steps. Measured in docs/performance.md.
 */
export const WARM_START_TRACK = 3;
export const WARM_START_TRACK_WEIGHT = 0.3;

/** The previous solve of each trial: its top Ritz vectors (K * P) and the next ones (BatchedEigen.subspace). */
export interface WarmStart {
  vectors: Float64Array;
  subspace?: Float64Array[];
}

/** packSharpness's result: the eigen estimates plus how each block's residual was obtained. */
export interface PackEigen extends BatchedEigen {
  /** How residual[k] was obtained, per block (K). */
  residualKind: ResidualKind[];
  /**
   * Present when the measurement was a cold check of the warm path: both values per block (K) and whether they
   * disagree (|warm - cold| > tolerance * max(|warm|, |cold|)). The result holds the cold solve, or the warm
   * one where the warm value is the larger beyond that tolerance (both are Ritz values, so never above
   * lambda_max up to rounding: the larger is the better; a warm value that drifted to a lower eigenvalue is
   * replaced by the cold one).
   */
  check?: { warm: Float64Array; cold: Float64Array; mismatch: Uint8Array };
}

let mixCache: Float64Array | null = null;

/** The fixed unit vector of stream `sharpness-mix` (P normals from the seeded PRNG are not free: kept for the last P). */
function mixVector(P: number): Float64Array {
  if (mixCache?.length !== P) mixCache = startVectors(1, P, 0, 'sharpness-mix');
  return mixCache;
}

let coldStartCache: { K: number; P: number; start: Float64Array } | null = null;

/** The cold solves' fixed start (startVectors(K, P)), kept for the last shape: the checks start there every time. */
function coldStart(K: number, P: number): Float64Array {
  if (coldStartCache?.K !== K || coldStartCache.P !== P) coldStartCache = { K, P, start: startVectors(K, P) };
  return coldStartCache.start;
}

let mixBlocksCache: Float64Array | null = null;

/** mixVector(P) in each of K blocks (kept for the last K * P). */
function mixBlocks(K: number, P: number): Float64Array {
  if (mixBlocksCache?.length !== K * P) {
    const r = mixVector(P);
    mixBlocksCache = new Float64Array(K * P);
    for (let k = 0; k < K; k++) mixBlocksCache.set(r, k * P);
  }
  return mixBlocksCache;
}

/**
 * The warm start per block: v_1 + WARM_START_TRACK_WEIGHT * (v_2 + ...) + mix * r (r: the fixed unit vector of
 * stream `sharpness-mix`), normalised; one BlockOps.combine (natively where built: this ran in JS at about a
 * twentieth of a measurement's time at 300 samples and 100 units).
 */
export function mixedStart(warm: WarmStart, K: number, P: number, mix = WARM_START_MIX, ops: BlockOps = defaultBlockOps): Float64Array {
  const terms = [warm.vectors, ...(warm.subspace ?? [])];
  const weights = [1, ...terms.slice(1).map(() => WARM_START_TRACK_WEIGHT)];
  if (mix > 0) {
    terms.push(mixBlocks(K, P));
    weights.push(mix);
  }
  const m = terms.length;
  const coef = new Float64Array(K * m);
  for (let k = 0; k < K; k++) coef.set(weights, k * m);
  const start = new Float64Array(K * P);
  ops.combine(start, terms, coef, m, new Int32Array(K).fill(m), K, P);
  return start;
}

/**
 * Largest Hessian eigenvalue per trial with the given class weights (K * C).
 * `warm` (the previous result: eigenvectors, K * P, and for Lanczos the next Ritz vectors): start of power
 * iteration (eigenvectors only), and of tolerance-stopped Lanczos when spec.tolerance > 0 (mixedStart); Lanczos
 * without warm vectors or without a tolerance is the cold, full-order path.
 * `need` (K, optional): only trials with need[k] = 1 are wanted; the others may be skipped by the kernel and
 * their entries of the result are meaningless.
 * `check`: a warm Lanczos measurement also solves cold (from the fixed start, stopped like the warm solve) and
 * keeps the better of the two (PackEigen.check); ignored where the measurement is not warm Lanczos.
 * `workspace`: the warm solves' product vectors, kept by the caller across measurements (lanczosTolerantBatched).
 */
export function packSharpness(
  kernel: PackKernel,
  gammas: Float64Array,
  spec: SharpnessSpec,
  warm?: WarmStart | null,
  need?: Uint8Array,
  check = false,
  workspace?: Float64Array[],
): PackEigen {
  const K = kernel.size;
  const P = kernel.paramCount;
  const tolerance = spec.tolerance ?? 0;
  const kinds = (kind: ResidualKind) => new Array<ResidualKind>(K).fill(kind);
  if (spec.method === 'lanczos') {
    const cold = () => ({
      ...lanczosBatched(masked(kernel, gammas, K, P, need), K, P, {
        order: spec.iterations,
        start: coldStart(K, P),
        ritz: WARM_START_TRACK,
      }),
      residualKind: kinds('explicit'),
    });
    if (!(warm && tolerance > 0)) return cold();
    const apply: BatchedOperator = (v, active, out) => kernel.hvp(v, gammas, active, out);
    const w: PackEigen = {
      ...lanczosTolerantBatched(apply, K, P, {
        maxOrder: spec.iterations,
        minOrder: spec.minOrder ?? DEFAULT_SHARPNESS_MIN_ORDER,
        tol: tolerance,
        start: mixedStart(warm, K, P),
        need,
        ritz: WARM_START_TRACK,
        workspace,
      }),
      residualKind: kinds('lanczos'),
    };
    if (!check) return w;
    // The check: cold Lanczos from the fixed start, stopped like the warm solve (residual within the tolerance,
    // after at least minOrder steps), with the Lanczos residual; a full-order cold solve ran 21 products.
    const c: PackEigen = {
      ...lanczosTolerantBatched(apply, K, P, {
        maxOrder: spec.iterations,
        minOrder: spec.minOrder ?? DEFAULT_SHARPNESS_MIN_ORDER,
        tol: tolerance,
        start: coldStart(K, P),
        need,
        ritz: WARM_START_TRACK,
        workspace,
      }),
      residualKind: kinds('lanczos'),
    };
    return checked(w, c, tolerance, K, P, need);
  }
  if (spec.method === 'power') {
    return {
      ...powerIterationBatched(masked(kernel, gammas, K, P, need), K, P, {
        maxIterations: spec.iterations,
        tol: tolerance > 0 ? tolerance : POWER_TOLERANCE,
        start: warm?.vectors ?? coldStart(K, P),
      }),
      residualKind: kinds('explicit'),
    };
  }
  throw new Error(`packSharpness: unknown method ${String((spec as SharpnessSpec).method)}`);
}

/** Whether a warm and a cold value disagree beyond `tolerance` (relative to the larger magnitude). */
export function sharpnessMismatch(warm: number, cold: number, tolerance: number): boolean {
  return !(Math.abs(warm - cold) <= tolerance * Math.max(Math.abs(warm), Math.abs(cold)));
}

/** A cold check of a warm solve: per needed block the cold result unless the warm value is larger beyond tolerance. */
function checked(w: PackEigen, c: PackEigen, tolerance: number, K: number, P: number, need?: Uint8Array): PackEigen {
  const mismatch = new Uint8Array(K);
  const out: PackEigen = {
    lambda: Float64Array.from(c.lambda),
    vectors: Float64Array.from(c.vectors),
    ...(c.subspace ? { subspace: c.subspace.map((u) => Float64Array.from(u)) } : {}),
    residual: Float64Array.from(c.residual),
    iterations: Int32Array.from(c.iterations),
    residualKind: [...c.residualKind],
    check: { warm: Float64Array.from(w.lambda), cold: Float64Array.from(c.lambda), mismatch },
  };
  for (let k = 0; k < K; k++) {
    if (need && !need[k]) continue;
    if (!sharpnessMismatch(w.lambda[k], c.lambda[k], tolerance)) continue;
    mismatch[k] = 1;
    if (w.lambda[k] > c.lambda[k]) {
      out.lambda[k] = w.lambda[k];
      out.residual[k] = w.residual[k];
      out.iterations[k] = w.iterations[k];
      out.residualKind[k] = w.residualKind[k];
      out.vectors.set(w.vectors.subarray(k * P, (k + 1) * P), k * P);
      out.subspace?.forEach((u, t) => u.set(w.subspace![t].subarray(k * P, (k + 1) * P), k * P));
    }
  }
  return out;
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

/** One sharpness measurement of a pack (SharpnessTracker.measure). */
export interface SharpnessRequest {
  /** Class weights of the trained loss at this step, K * C. */
  gammas: Float64Array;
  /** Those of its static counterpart (all ones), K * C. */
  ones: Float64Array;
  /** Trials to compute (K). */
  need: Uint8Array;
  /**
   * coincide[k] = 1: trial k's trained loss equals its static counterpart here (static loss, A = 1, the final
   * static segment); one eigenproblem serves both. Also taken as 1 where trial k's gammas equal its static ones
   * (e.g. the start of every period of the triangle and sine schedules).
   */
  coincide: Uint8Array;
  /** The final measurement: cold (a function of the parameters alone) for Lanczos. */
  cold: boolean;
  /** A warm Lanczos measurement that is also checked (spec.coldEvery). */
  check: boolean;
}

export interface PackMeasurement {
  dyn: PackEigen;
  /** The static result of trial k (the dynamic one where the two losses coincide). */
  stat: (k: number) => PackEigen;
}

/** A warm state from `base` with the blocks k of `from` where take[k] = 1 (copies: the solves' results stay as they are). */
function patchedWarm(base: WarmStart, from: WarmStart, take: Uint8Array, K: number, P: number): WarmStart {
  const vectors = Float64Array.from(base.vectors);
  const subspace = base.subspace?.map((u) => Float64Array.from(u));
  for (let k = 0; k < K; k++) {
    if (!take[k]) continue;
    vectors.set(from.vectors.subarray(k * P, (k + 1) * P), k * P);
    subspace?.forEach((u, t) => u.set(from.subspace![t].subarray(k * P, (k + 1) * P), k * P));
  }
  return { vectors, subspace };
}

/** Whether rows k of two K * C weight tables are equal (same loss, same Hessian). */
function sameRow(a: Float64Array, b: Float64Array, off: number, C: number): boolean {
  for (let c = off; c < off + C; c++) if (a[c] !== b[c]) return false;
  return true;
}

/**
 * The sharpness of one pack along its training run: dynamic and static lambda_max per measurement, each warm
 * started from its own previous result. Trials whose losses coincide take the dynamic result for both, so a
 * trial's numbers never depend on its pack-mates.
 */
export class SharpnessTracker {
  private warmDyn: WarmStart | null = null;
  private warmStat: WarmStart | null = null;
  /** The warm solves' product vectors, reused by every measurement (lanczosTolerantBatched `workspace`). */
  private readonly workspace: Float64Array[] = [];

  constructor(
    private readonly kernel: PackKernel,
    private readonly spec: SharpnessSpec,
  ) {}

  measure(req: SharpnessRequest): PackMeasurement {
    const { kernel, spec } = this;
    const K = kernel.size;
    const P = kernel.paramCount;
    const cold = req.cold && spec.method === 'lanczos';
    const dyn = packSharpness(kernel, req.gammas, spec, cold ? null : this.warmDyn, req.need, req.check, this.workspace);
    const C = req.gammas.length / K;
    const coincide = Uint8Array.from(req.coincide);
    for (let k = 0; k < K; k++) if (sameRow(req.gammas, req.ones, k * C, C)) coincide[k] = 1;
    const needStatic = new Uint8Array(K);
    for (let k = 0; k < K; k++) needStatic[k] = req.need[k] && !coincide[k] ? 1 : 0;
    const stat = needStatic.some((x) => x === 1)
      ? packSharpness(kernel, req.ones, spec, cold ? null : this.warmStat, needStatic, req.check, this.workspace)
      : dyn;
    this.warmDyn = dyn;
    // The next static start: the static solve's vectors, the dynamic ones where the losses coincided (warm states are
    // only read, so a solve's own result serves as it is where nothing needs patching).
    this.warmStat = stat === dyn || !coincide.includes(1) ? stat : patchedWarm(stat, dyn, coincide, K, P);
    return { dyn, stat: (k) => (coincide[k] ? dyn : stat) };
  }
}
