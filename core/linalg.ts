/**
 * Eigenvalue tools for sharpness: batched Lanczos (full reorthogonalisation) and batched, warm-started
 * power iteration for the largest algebraic eigenvalue of K independent symmetric operators of size P,
 * applied together (one batched Hessian-vector product per iteration for a whole pack); a symmetric
 * tridiagonal eigensolver; and a dense Jacobi eigensolver used only as a test oracle.
 * Blocks never mix: block k's numbers depend only on block k's operator and start vector.
 */
import { nativeAddon } from './native.js';
import { createRng } from './prng.js';

/**
 * Applies K independent symmetric operators: v and the result are K * P (block k at offset k * P). The result is
 * owned by the caller. `active` (K, optional): only blocks with active[k] = 1 are needed; an operator may skip the
 * others and leave anything in their part of the result. `out` (K * P, optional, not v): storage the operator may
 * return the result in instead of a new array.
 */
export type BatchedOperator = (v: Float64Array, active?: Uint8Array, out?: Float64Array) => Float64Array;

export interface BatchedEigen {
  /** Largest eigenvalue estimate per block (K). */
  lambda: Float64Array;
  /** Unit eigenvector estimate per block (K * P). */
  vectors: Float64Array;
  /** ||A v - lambda v|| per block (K), from one extra application. */
  residual: Float64Array;
  /** Lanczos order reached or power iterations used, per block. */
  iterations: Int32Array;
  /**
   * Lanczos with `ritz` = b > 1: the next b - 1 Ritz vectors (of the 2nd, 3rd, ... largest Ritz values), each
   * K * P, unit per block (zero in a block whose Krylov space has fewer dimensions).
   */
  subspace?: Float64Array[];
}

/**
 * a . b over [off, off + P) as 8 partial sums (element off + t into sum t mod 8, in order of t), reduced as
 * ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)): the summation order of the native addon's vector code
 * (native/linalg.h), which gives the same numbers.
 */
function dot(a: Float64Array, b: Float64Array, off: number, P: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  const end = off + P;
  let t = off;
  for (; t + 8 <= end; t += 8) {
    s0 += a[t] * b[t];
    s1 += a[t + 1] * b[t + 1];
    s2 += a[t + 2] * b[t + 2];
    s3 += a[t + 3] * b[t + 3];
    s4 += a[t + 4] * b[t + 4];
    s5 += a[t + 5] * b[t + 5];
    s6 += a[t + 6] * b[t + 6];
    s7 += a[t + 7] * b[t + 7];
  }
  if (t < end) s0 += a[t] * b[t];
  if (t + 1 < end) s1 += a[t + 1] * b[t + 1];
  if (t + 2 < end) s2 += a[t + 2] * b[t + 2];
  if (t + 3 < end) s3 += a[t + 3] * b[t + 3];
  if (t + 4 < end) s4 += a[t + 4] * b[t + 4];
  if (t + 5 < end) s5 += a[t + 5] * b[t + 5];
  if (t + 6 < end) s6 += a[t + 6] * b[t + 6];
  return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

function axpy(alpha: number, x: Float64Array, y: Float64Array, off: number, P: number): void {
  for (let i = off, end = off + P; i < end; i++) y[i] += alpha * x[i];
}

function scale(alpha: number, x: Float64Array, off: number, P: number): void {
  for (let i = off, end = off + P; i < end; i++) x[i] *= alpha;
}

/**
 * The vector work of a warm Lanczos solve over a pack's K blocks of P (each block at offset k * P; Q: the Lanczos
 * basis, K * P each), one call per Lanczos step rather than per block. Two implementations with the same numbers:
 * JS below, and the native addon's (native/linalg.h; used when it is built, test/unit/linalg.test.ts).
 */
export interface BlockOps {
  /**
   * For every block with open[k] = 1: w -= sum_i (w . Q_i) Q_i over i < n (one classical Gram-Schmidt pass: all
   * coefficients first, into h[k * n + i], then the updates two basis vectors at a time,
   * w - (h_i Q_i + h_i+1 Q_i+1), an odd last one as w + (-h) Q), and norm2[k] = ||w||^2 after.
   */
  reorthogonalize(w: Float64Array, Q: Float64Array[], n: number, K: number, P: number, open: Uint8Array, h: Float64Array, norm2: Float64Array): void;
  /** For every block with len[k] > 0: out += sum_i coef[k * m + i] Q_i over i < len[k] in order, then out / ||out|| if nonzero. */
  combine(out: Float64Array, Q: Float64Array[], coef: Float64Array, m: number, len: Int32Array, K: number, P: number): void;
  /** x_k *= factors[k] for every block with which[k] = 1. */
  scale(x: Float64Array, factors: Float64Array, K: number, P: number, which: Uint8Array): void;
}

export const jsBlockOps: BlockOps = {
  reorthogonalize(w, Q, n, K, P, open, h, norm2) {
    for (let k = 0; k < K; k++) {
      if (!open[k]) continue;
      const off = k * P;
      const end = off + P;
      const ho = k * n;
      for (let i = 0; i < n; i++) h[ho + i] = dot(w, Q[i], off, P);
      let i = 0;
      for (; i + 1 < n; i += 2) {
        const a = Q[i];
        const b = Q[i + 1];
        const ca = h[ho + i];
        const cb = h[ho + i + 1];
        for (let t = off; t < end; t++) w[t] -= ca * a[t] + cb * b[t];
      }
      if (i < n) axpy(-h[ho + i], Q[i], w, off, P);
      norm2[k] = dot(w, w, off, P);
    }
  },
  combine(out, Q, coef, m, len, K, P) {
    for (let k = 0; k < K; k++) {
      const off = k * P;
      for (let i = 0; i < len[k]; i++) axpy(coef[k * m + i], Q[i], out, off, P);
      if (!len[k]) continue;
      const nrm = Math.sqrt(dot(out, out, off, P));
      if (nrm > 0) scale(1 / nrm, out, off, P);
    }
  },
  scale(x, factors, K, P, which) {
    for (let k = 0; k < K; k++) if (which[k]) scale(factors[k], x, k * P, P);
  },
};

/** The native addon's BlockOps on its widest instruction set, or null where it is not built (core/native.ts). */
export function nativeBlockOps(isa?: 'avx2' | 'avx512'): BlockOps | null {
  const addon = nativeAddon().addon as { isas: string[]; [isa: string]: unknown } | null;
  const name = isa ?? addon?.isas[addon.isas.length - 1];
  if (!addon || !name || !addon.isas.includes(name)) return null;
  return (addon[name] as { linalg: BlockOps }).linalg;
}

/** What the warm solve runs unless told (its `ops`): the native addon's BlockOps where built, else the JS ones. */
export const defaultBlockOps: BlockOps = nativeBlockOps() ?? jsBlockOps;

/** Deterministic unit start vectors: the same normal vector (seeded stream) in every block, so a block's result does not depend on its position in a pack. */
export function startVectors(K: number, P: number, seed = 0, stream = 'sharpness-start'): Float64Array {
  const rng = createRng(seed, stream);
  const one = new Float64Array(P);
  for (let i = 0; i < P; i++) one[i] = rng.normal();
  scale(1 / Math.sqrt(dot(one, one, 0, P)), one, 0, P);
  const out = new Float64Array(K * P);
  for (let k = 0; k < K; k++) out.set(one, k * P);
  return out;
}

/** ||A v - lambda v|| per block, with one batched application. */
function residuals(apply: BatchedOperator, V: Float64Array, lambda: Float64Array, K: number, P: number): Float64Array {
  const AV = apply(V);
  const r = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let i = k * P, end = i + P; i < end; i++) {
      const e = AV[i] - lambda[k] * V[i];
      s += e * e;
    }
    r[k] = Math.sqrt(s);
  }
  return r;
}

/** Scale each block k of `q` (those with which[k] = 1, or all) to unit norm; a zero block is an error of `caller`. */
function normalizeBlocks(q: Float64Array, K: number, P: number, which: Uint8Array | null, caller: string): void {
  for (let k = 0; k < K; k++) {
    if (which && !which[k]) continue;
    const nrm = Math.sqrt(dot(q, q, k * P, P));
    if (!(nrm > 0)) throw new Error(`${caller}: zero start vector`);
    scale(1 / nrm, q, k * P, P);
  }
}

/**
 * Lanczos of order `order` (capped at P) with full reorthogonalisation (classical Gram-Schmidt, twice),
 * from `start` (K * P, normalised here per block). A block whose Krylov space closes early (breakdown)
 * stops there; its Ritz value is then exact up to rounding.
 */
export function lanczosBatched(
  apply: BatchedOperator,
  K: number,
  P: number,
  opts: { order: number; start?: Float64Array; ritz?: number },
): BatchedEigen {
  const m = Math.max(1, Math.min(opts.order, P));
  const subspace = Array.from({ length: Math.max(0, (opts.ritz ?? 1) - 1) }, () => new Float64Array(K * P));
  const q0 = opts.start ? Float64Array.from(opts.start) : startVectors(K, P);
  normalizeBlocks(q0, K, P, null, 'lanczosBatched');
  const Q: Float64Array[] = [q0];
  const alpha = Array.from({ length: K }, () => new Float64Array(m));
  const beta = Array.from({ length: K }, () => new Float64Array(m));
  const len = new Int32Array(K); // Krylov dimension reached per block
  const done = new Uint8Array(K);
  const normEst = new Float64Array(K);
  for (let j = 0; j < m; j++) {
    const w = apply(Q[j]);
    const next = new Float64Array(K * P);
    let anyOpen = false;
    for (let k = 0; k < K; k++) {
      if (done[k]) continue;
      const off = k * P;
      const a = dot(w, Q[j], off, P);
      alpha[k][j] = a;
      axpy(-a, Q[j], w, off, P);
      if (j > 0) axpy(-beta[k][j - 1], Q[j - 1], w, off, P);
      // Full reorthogonalisation, twice ("twice is enough"): keeps the basis orthogonal to rounding.
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i <= j; i++) axpy(-dot(w, Q[i], off, P), Q[i], w, off, P);
      }
      const b = Math.sqrt(dot(w, w, off, P));
      beta[k][j] = b;
      len[k] = j + 1;
      normEst[k] = Math.max(normEst[k], Math.abs(a) + b + (j > 0 ? beta[k][j - 1] : 0));
      if (j === m - 1 || !(b > 1e-12 * normEst[k]) || !Number.isFinite(b)) {
        done[k] = 1;
        continue;
      }
      for (let i = off, end = off + P; i < end; i++) next[i] = w[i] / b;
      anyOpen = true;
    }
    if (!anyOpen) break;
    Q.push(next);
  }
  const lambda = new Float64Array(K);
  const vectors = new Float64Array(K * P);
  for (let k = 0; k < K; k++) {
    const n = len[k];
    const { values, vectors: S } = tridiagonalEigen(alpha[k].subarray(0, n), beta[k].subarray(0, Math.max(0, n - 1)));
    const top = n - 1; // ascending order
    lambda[k] = values[top];
    const off = k * P;
    for (let i = 0; i < n; i++) axpy(S[i * n + top], Q[i], vectors, off, P);
    const nrm = Math.sqrt(dot(vectors, vectors, off, P));
    if (nrm > 0) scale(1 / nrm, vectors, off, P);
    ritzVectors(subspace, S, n, Q, off, P);
  }
  const residual = residuals(apply, vectors, lambda, K, P);
  return { lambda, vectors, residual, iterations: len, ...(subspace.length ? { subspace } : {}) };
}

/**
 * Lanczos with early stopping, for warm starts (core/sharpness.ts: the previous eigenvector of each trial).
 * Same recurrence as lanczosBatched (full reorthogonalisation, here in one pass), but after every step j each open block
 * computes the top Ritz pair (theta, s) of its tridiagonal T_j and the residual of that Ritz pair,
 *   ||A y - theta y|| = beta_j |s_j|          (exact for the Lanczos relation, no extra application),
 * and stops once it is <= tol * |theta| (and at least minOrder steps were taken), at breakdown, or at maxOrder.
 * Blocks that have stopped are left out of later applications (`active`), so an operator can skip them.
 * Blocks with need[k] = 0 are not computed at all (lambda 0, vector = start, residual 0, iterations 0).
 * `ritz` = b > 1 also returns the next b - 1 Ritz vectors (BatchedEigen.subspace; zero for blocks not computed).
 * `residual` is the Lanczos residual above. Block k's numbers depend only on block k's operator and start.
 * `ops`: the vector work's implementation (default: the native addon's where built, else JS; the same numbers).
 */
export function lanczosTolerantBatched(
  apply: BatchedOperator,
  K: number,
  P: number,
  opts: {
    maxOrder: number;
    tol: number;
    start: Float64Array;
    minOrder?: number;
    need?: Uint8Array;
    ritz?: number;
    ops?: BlockOps;
    /**
     * Vectors (K * P) the products may be written into (the operator's `out`), grown here as needed and reused by the
     * caller's next solves: the basis then costs no allocation, zeroing or fresh pages per product. The result's
     * vectors never alias them.
     */
    workspace?: Float64Array[];
  },
): BatchedEigen {
  const blockOps = opts.ops ?? defaultBlockOps;
  const workspace = opts.workspace;
  const m = Math.max(1, Math.min(opts.maxOrder, P));
  const subspace = Array.from({ length: Math.max(0, (opts.ritz ?? 1) - 1) }, () => new Float64Array(K * P));
  const minOrder = Math.max(1, Math.min(opts.minOrder ?? 1, m));
  const tol = opts.tol;
  const q0 = Float64Array.from(opts.start);
  const open = new Uint8Array(K);
  for (let k = 0; k < K; k++) open[k] = opts.need && !opts.need[k] ? 0 : 1;
  normalizeBlocks(q0, K, P, open, 'lanczosTolerantBatched');
  const Q: Float64Array[] = [q0];
  const alpha = Array.from({ length: K }, () => new Float64Array(m));
  const beta = Array.from({ length: K }, () => new Float64Array(m));
  const len = new Int32Array(K);
  const lambda = new Float64Array(K);
  const residual = new Float64Array(K);
  const coef: (Float64Array | null)[] = new Array<Float64Array | null>(K).fill(null); // Ritz coefficients s
  const ritzOf: (Float64Array | null)[] = new Array<Float64Array | null>(K).fill(null); // all eigenvectors of T_j
  const used = Uint8Array.from(open); // blocks computed at all
  const h = new Float64Array(K * m); // reorthogonalization coefficients, block k's at k * (j + 1)
  const norm2 = new Float64Array(K);
  const factor = new Float64Array(K); // 1 / beta_j of the blocks that go on
  const goOn = new Uint8Array(K);
  for (let j = 0; j < m; j++) {
    // The product becomes the next Lanczos vector in place (the operator's result is ours): no copy per step.
    if (workspace && workspace.length <= j) workspace.push(new Float64Array(K * P));
    const w = apply(Q[j], open, workspace?.[j]);
    const n = j + 1;
    // Three-term recurrence and full reorthogonalization in one classical Gram-Schmidt pass against every
    // Lanczos vector (alpha_j is the coefficient of q_j): the Krylov spaces of the warm path are tiny (up to
    // `maxOrder` vectors), where one pass keeps the basis orthogonal to rounding; the cold path (lanczosBatched)
    // keeps two.
    blockOps.reorthogonalize(w, Q, n, K, P, open, h, norm2);
    goOn.fill(0);
    for (let k = 0; k < K; k++) {
      if (!open[k]) continue;
      const a = h[k * n + j];
      alpha[k][j] = a;
      const b = Math.sqrt(norm2[k]);
      beta[k][j] = b;
      len[k] = n;
      factor[k] = 1 / b;
      // No stop is possible before minOrder short of a breakdown, so the Ritz pair is needed only from there on
      // (or where b is tiny next to |alpha|, a cheap stand-in for the breakdown test below).
      if (n < minOrder && n < m && b > 1e-10 * (Math.abs(a) + b) && Number.isFinite(b)) {
        goOn[k] = 1;
        continue;
      }
      const { values, vectors: S } = tridiagonalEigen(alpha[k].subarray(0, n), beta[k].subarray(0, n - 1));
      const top = n - 1;
      const theta = values[top];
      const s = new Float64Array(n);
      for (let i = 0; i < n; i++) s[i] = S[i * n + top];
      const res = Math.abs(b * s[n - 1]);
      lambda[k] = theta;
      residual[k] = res;
      coef[k] = s;
      if (subspace.length) ritzOf[k] = S;
      const breakdown = !(b > 1e-12 * (Math.abs(theta) + b)) || !Number.isFinite(b);
      const converged = n >= minOrder && res <= tol * Math.abs(theta);
      if (breakdown || converged || !Number.isFinite(theta) || n === m) {
        open[k] = 0;
        continue;
      }
      goOn[k] = 1;
    }
    if (!goOn.some((x) => x === 1)) break;
    blockOps.scale(w, factor, K, P, goOn);
    Q.push(w);
  }
  // Ritz vectors: the top one, and the next ones (columns n - 2, n - 3, ... of S) into the subspace.
  const vectors = new Float64Array(K * P);
  const top = new Float64Array(K * m);
  const topLen = new Int32Array(K);
  for (let k = 0; k < K; k++) {
    const s = coef[k];
    if (!used[k] || !s) vectors.set(q0.subarray(k * P, (k + 1) * P), k * P);
    else {
      top.set(s, k * m);
      topLen[k] = s.length;
    }
  }
  blockOps.combine(vectors, Q, top, m, topLen, K, P);
  subspace.forEach((out, t) => {
    const c = new Float64Array(K * m);
    const cLen = new Int32Array(K);
    for (let k = 0; k < K; k++) {
      const S = ritzOf[k];
      const n = topLen[k];
      const col = n - 2 - t;
      if (!S || !used[k] || col < 0) continue;
      for (let i = 0; i < n; i++) c[k * m + i] = S[i * n + col];
      cLen[k] = n;
    }
    blockOps.combine(out, Q, c, m, cLen, K, P);
  });
  return { lambda, vectors, residual, iterations: len, ...(subspace.length ? { subspace } : {}) };
}

/** Ritz vectors 2, 3, ... of one block (at offset off) into subspace[0], [1], ...: columns n - 2, n - 3, ... of S (n x n). */
function ritzVectors(subspace: Float64Array[], S: Float64Array, n: number, Q: Float64Array[], off: number, P: number): void {
  subspace.forEach((out, t) => {
    const col = n - 2 - t;
    if (col < 0) return;
    for (let i = 0; i < n; i++) axpy(S[i * n + col], Q[i], out, off, P);
    const nrm = Math.sqrt(dot(out, out, off, P));
    if (nrm > 0) scale(1 / nrm, out, off, P);
  });
}

/** Rayleigh quotient of block k (v is unit) and its residual ||Av - lam v||, stored in lambda[k] and residual[k]. */
function rayleigh(
  v: Float64Array,
  Av: Float64Array,
  off: number,
  P: number,
  lambda: Float64Array,
  residual: Float64Array,
  k: number,
): number {
  const lam = dot(v, Av, off, P);
  let r2 = 0;
  for (let i = off, end = off + P; i < end; i++) {
    const e = Av[i] - lam * v[i];
    r2 += e * e;
  }
  lambda[k] = lam;
  residual[k] = Math.sqrt(r2);
  return lam;
}

/**
 * Power iteration per block, warm-started from `start` (e.g. the previous eigenvector), stopping a block
 * when ||A v - lambda v|| <= tol * |lambda|. Power iteration finds the eigenvalue of largest magnitude; a
 * block that lands on a negative one is rerun on A - lambda I (spectrum shifted to >= 0) so the result is
 * the largest algebraic eigenvalue, as Lanczos gives.
 */
export function powerIterationBatched(
  apply: BatchedOperator,
  K: number,
  P: number,
  opts: { maxIterations: number; tol?: number; start?: Float64Array },
): BatchedEigen {
  const tol = opts.tol ?? 1e-6;
  const start = opts.start ? Float64Array.from(opts.start) : startVectors(K, P);
  const first = powerPass(apply, K, P, start, new Float64Array(K), new Uint8Array(K).fill(1), opts.maxIterations, tol);
  const shift = new Float64Array(K);
  const redo = new Uint8Array(K);
  let anyRedo = false;
  for (let k = 0; k < K; k++) {
    if (first.lambda[k] < 0) {
      shift[k] = first.lambda[k];
      redo[k] = 1;
      anyRedo = true;
    }
  }
  if (!anyRedo) return first;
  const second = powerPass(apply, K, P, startVectors(K, P), shift, redo, opts.maxIterations, tol);
  for (let k = 0; k < K; k++) {
    if (!redo[k]) continue;
    first.lambda[k] = second.lambda[k];
    first.residual[k] = second.residual[k];
    first.iterations[k] += second.iterations[k];
    first.vectors.set(second.vectors.subarray(k * P, (k + 1) * P), k * P);
  }
  return first;
}

/** One power-iteration run on A - shift_k I for the blocks with on[k]; lambda/residual refer to A itself. */
function powerPass(
  apply: BatchedOperator,
  K: number,
  P: number,
  v: Float64Array,
  shift: Float64Array,
  on: Uint8Array,
  maxIterations: number,
  tol: number,
): BatchedEigen {
  for (let k = 0; k < K; k++) {
    const nrm = Math.sqrt(dot(v, v, k * P, P));
    if (!(nrm > 0)) throw new Error('powerIterationBatched: zero start vector');
    scale(1 / nrm, v, k * P, P);
  }
  const lambda = new Float64Array(K);
  const residual = new Float64Array(K).fill(Infinity);
  const iterations = new Int32Array(K);
  const open = Uint8Array.from(on);
  const iters = Math.max(1, maxIterations);
  for (let it = 0; it < iters; it++) {
    const Av = apply(v);
    let anyOpen = false;
    for (let k = 0; k < K; k++) {
      if (!open[k]) continue;
      const off = k * P;
      const lam = rayleigh(v, Av, off, P, lambda, residual, k);
      iterations[k] = it + 1;
      if (residual[k] <= tol * Math.abs(lam) || !Number.isFinite(lam)) {
        open[k] = 0;
        continue;
      }
      // Next iterate: (A - shift I) v, normalised.
      const s = shift[k];
      let n2 = 0;
      for (let i = off, end = off + P; i < end; i++) {
        const u = Av[i] - s * v[i];
        Av[i] = u;
        n2 += u * u;
      }
      const nrm = Math.sqrt(n2);
      if (!(nrm > 0)) {
        open[k] = 0; // v is in the null space of A - shift I: lam is exact
        continue;
      }
      for (let i = off, end = off + P; i < end; i++) v[i] = Av[i] / nrm;
      anyOpen = true;
    }
    if (!anyOpen) break;
  }
  // Blocks still open ended on a fresh iterate whose lambda/residual were not measured: measure them.
  const stale = open.some((o) => o === 1);
  if (stale) {
    const Av = apply(v);
    for (let k = 0; k < K; k++) {
      if (!open[k]) continue;
      rayleigh(v, Av, k * P, P, lambda, residual, k);
    }
  }
  return { lambda, vectors: v, residual, iterations };
}

/**
 * sqrt(a^2 + b^2) without Math.hypot, which costs most of a small QL's time in V8 (it takes any number of
 * arguments and scales them); the plain formula is exact to rounding short of overflow, which the QL's
 * quantities reach only at magnitudes near 1e154, where the scaled Math.hypot takes over.
 */
function hypot(a: number, b: number): number {
  const s = a * a + b * b;
  return s < 1e300 ? Math.sqrt(s) : Math.hypot(a, b);
}

/**
 * Eigen-decomposition of the symmetric tridiagonal matrix with diagonal `diag` (n) and off-diagonal `off`
 * (n - 1): implicit QL (tql2, EISPACK via JAMA). Values ascending; vectors n x n row-major with
 * column i the eigenvector of values[i].
 */
export function tridiagonalEigen(diag: ArrayLike<number>, off: ArrayLike<number>): { values: Float64Array; vectors: Float64Array } {
  const n = diag.length;
  const d = Float64Array.from(diag);
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = off[i];
  const Vt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Vt[i * n + i] = 1;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new Error('tridiagonalEigen: no convergence');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          // Columns i and i + 1 of the eigenvector matrix, rows i and i + 1 of its transpose Vt (contiguous).
          for (let k = i * n, end = k + n; k < end; k++) {
            h = Vt[k + n];
            Vt[k + n] = s * Vt[k] + c * h;
            Vt[k] = c * Vt[k] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] = d[l] + f;
    e[l] = 0;
  }
  // Sort ascending, permuting columns.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a] - d[b]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = Vt[src * n + k];
  });
  return { values, vectors };
}

/**
 * Cyclic Jacobi eigen-decomposition of a dense symmetric n x n matrix (row-major). Slow and exact to
 * rounding: a test oracle only. Values ascending; column i of `vectors` belongs to values[i].
 */
export function jacobiEigen(A: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(A);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let offNorm = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        total += a[i * n + j] ** 2;
        if (i !== j) offNorm += a[i * n + j] ** 2;
      }
    }
    if (offNorm <= 1e-30 * total || offNorm === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // Rotate columns p, q of a.
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          // Rotate rows p, q of a.
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p];
          const vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[x * n + x] - a[y * n + y]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = a[src * n + src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = V[k * n + src];
  });
  return { values, vectors };
}
