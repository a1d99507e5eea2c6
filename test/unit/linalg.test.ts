import { describe, expect, it } from 'vitest';
import {
  jacobiEigen,
  jsBlockOps,
  lanczosBatched,
  lanczosTolerantBatched,
  nativeBlockOps,
  powerIterationBatched,
  startVectors,
  tridiagonalEigen,
  type BlockOps,
} from '../../core/linalg.js';
import { createRng } from '../../core/prng.js';
import { maxAbs } from './science-helpers.js';

function randomSymmetric(n: number, seed: number): Float64Array {
  const rng = createRng(seed, 'test-sym');
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = rng.normal();
      A[i * n + j] = v;
      A[j * n + i] = v;
    }
  }
  return A;
}

function matvec(A: Float64Array, n: number, v: Float64Array, off = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += A[i * n + j] * v[off + j];
    out[i] = s;
  }
  return out;
}

/** K dense matrices as one batched operator. */
function batched(mats: Float64Array[], n: number) {
  return (v: Float64Array) => {
    const out = new Float64Array(mats.length * n);
    mats.forEach((A, k) => out.set(matvec(A, n, v, k * n), k * n));
    return out;
  };
}

describe('jacobiEigen', () => {
  it('diagonalises: A V = V Lambda, V orthogonal, values ascending', () => {
    const n = 9;
    const A = randomSymmetric(n, 1);
    const { values, vectors } = jacobiEigen(A, n);
    for (let c = 0; c < n; c++) {
      const v = Float64Array.from({ length: n }, (_, r) => vectors[r * n + c]);
      const Av = matvec(A, n, v);
      expect(maxAbs(Av.map((x, i) => x - values[c] * v[i]))).toBeLessThan(1e-12);
      for (let c2 = 0; c2 < n; c2++) {
        let d = 0;
        for (let r = 0; r < n; r++) d += vectors[r * n + c] * vectors[r * n + c2];
        expect(d).toBeCloseTo(c === c2 ? 1 : 0, 12);
      }
      if (c > 0) expect(values[c]).toBeGreaterThanOrEqual(values[c - 1]);
    }
    // Trace is preserved.
    let tr = 0;
    for (let i = 0; i < n; i++) tr += A[i * n + i];
    expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(tr, 11);
  });
});

describe('tridiagonalEigen', () => {
  it('matches Jacobi on a random tridiagonal matrix, vectors included', () => {
    const n = 12;
    const rng = createRng(2, 'test-tri');
    const diag = Array.from({ length: n }, () => rng.normal());
    const off = Array.from({ length: n - 1 }, () => rng.normal());
    const T = new Float64Array(n * n);
    for (let i = 0; i < n; i++) T[i * n + i] = diag[i];
    for (let i = 0; i < n - 1; i++) T[i * n + i + 1] = T[(i + 1) * n + i] = off[i];
    const ref = jacobiEigen(T, n);
    const got = tridiagonalEigen(diag, off);
    for (let i = 0; i < n; i++) expect(got.values[i]).toBeCloseTo(ref.values[i], 12);
    for (let c = 0; c < n; c++) {
      const v = Float64Array.from({ length: n }, (_, r) => got.vectors[r * n + c]);
      const Tv = matvec(T, n, v);
      expect(maxAbs(Tv.map((x, i) => x - got.values[c] * v[i]))).toBeLessThan(1e-12);
    }
  });

  it('handles n = 1 and a zero off-diagonal', () => {
    expect(Array.from(tridiagonalEigen([3], []).values)).toEqual([3]);
    expect(Array.from(tridiagonalEigen([2, -1, 5], [0, 0]).values)).toEqual([-1, 2, 5]);
  });
});

describe('lanczosBatched', () => {
  it('full order recovers the largest algebraic eigenvalue of each block, with a tiny residual', () => {
    const n = 15;
    const mats = [randomSymmetric(n, 3), randomSymmetric(n, 4), randomSymmetric(n, 5)];
    const res = lanczosBatched(batched(mats, n), mats.length, n, { order: n });
    mats.forEach((A, k) => {
      const ref = jacobiEigen(A, n).values;
      expect(res.lambda[k]).toBeCloseTo(ref[n - 1], 10);
      expect(res.residual[k]).toBeLessThan(1e-9);
      // The reported residual is really ||A v - lambda v||.
      const v = res.vectors.subarray(k * n, (k + 1) * n);
      const Av = matvec(A, n, v);
      expect(Math.hypot(...Av.map((x, i) => x - res.lambda[k] * v[i]))).toBeCloseTo(res.residual[k], 12);
    });
  });

  it('finds the largest algebraic eigenvalue even when a negative one is larger in magnitude', () => {
    const n = 6;
    const D = new Float64Array(n * n);
    [-10, 1, 2, 3, 4, 5].forEach((d, i) => (D[i * n + i] = d));
    const res = lanczosBatched(batched([D], n), 1, n, { order: n });
    expect(res.lambda[0]).toBeCloseTo(5, 12);
  });

  it('blocks are independent: a block gives identical numbers alone and in a batch', () => {
    const n = 20;
    const A = randomSymmetric(n, 6);
    const B = randomSymmetric(n, 7);
    const both = lanczosBatched(batched([B, A], n), 2, n, { order: 8 });
    const alone = lanczosBatched(batched([A], n), 1, n, { order: 8 });
    expect(both.lambda[1]).toBe(alone.lambda[0]);
    expect(both.residual[1]).toBe(alone.residual[0]);
  });

  it('stops a block at breakdown (invariant Krylov space) without NaN', () => {
    const n = 10;
    const I = new Float64Array(n * n);
    for (let i = 0; i < n; i++) I[i * n + i] = 2;
    const res = lanczosBatched(batched([I], n), 1, n, { order: 8 });
    expect(res.iterations[0]).toBe(1);
    expect(res.lambda[0]).toBeCloseTo(2, 14);
    expect(res.residual[0]).toBeLessThan(1e-14);
  });
});

describe('powerIterationBatched', () => {
  it('converges to the largest eigenvalue, and warm starts converge at once', () => {
    const n = 12;
    const D = new Float64Array(n * n);
    for (let i = 0; i < n; i++) D[i * n + i] = i === n - 1 ? 10 : i * 0.5;
    // Rotate it so the eigenvectors are not axis-aligned.
    const Q = jacobiEigen(randomSymmetric(n, 8), n).vectors;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += Q[i * n + k] * D[k * n + k] * Q[j * n + k];
        A[i * n + j] = s;
      }
    const op = batched([A], n);
    const cold = powerIterationBatched(op, 1, n, { maxIterations: 500, tol: 1e-10 });
    expect(cold.lambda[0]).toBeCloseTo(10, 9);
    expect(cold.residual[0]).toBeLessThanOrEqual(1e-10 * 10);
    const warm = powerIterationBatched(op, 1, n, { maxIterations: 500, tol: 1e-10, start: cold.vectors });
    expect(warm.iterations[0]).toBeLessThanOrEqual(2);
    expect(warm.iterations[0]).toBeLessThan(cold.iterations[0]);
  });

  it('returns the largest algebraic eigenvalue when the dominant one is negative', () => {
    const n = 5;
    const D = new Float64Array(n * n);
    [-10, -1, 0.5, 1, 3].forEach((d, i) => (D[i * n + i] = d));
    const res = powerIterationBatched(batched([D], n), 1, n, { maxIterations: 2000, tol: 1e-10 });
    expect(res.lambda[0]).toBeCloseTo(3, 8);
  });

  it('reports the residual of its last iterate when it runs out of iterations', () => {
    const n = 10;
    const A = randomSymmetric(n, 9);
    const res = powerIterationBatched(batched([A], n), 1, n, { maxIterations: 3, tol: 1e-14, start: startVectors(1, n, 1) });
    const v = res.vectors;
    const Av = matvec(A, n, v);
    expect(Math.hypot(...Av.map((x, i) => x - res.lambda[0] * v[i]))).toBeCloseTo(res.residual[0], 12);
  });
});

describe('BlockOps: the native addon (native/linalg.h) gives the numbers of the JS implementation bit for bit', () => {
  const isas = (['avx2', 'avx512'] as const).filter((isa) => nativeBlockOps(isa));
  /** Object.is on every element: -0, NaN and Infinity included. */
  const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`${what} [${i}]: ${a[i]} vs ${b[i]}`);
  };
  /** Normals with a sprinkle of -0, tiny, huge, NaN and Infinity entries (spiky = true). */
  const vector = (len: number, seed: number, spiky: boolean) => {
    const rng = createRng(seed, 'test/block-ops');
    const odd = [-0, 1e-300, -3e300, NaN, Infinity, -Infinity];
    return Float64Array.from({ length: len }, (_, i) => (spiky && i % 17 === 5 ? odd[(i >> 4) % odd.length] : rng.normal()));
  };

  it('is built here (x86-64 with g++): the comparison below is not vacuous', () => {
    if (process.arch !== 'x64') return;
    expect(isas.length, 'no native BlockOps: scripts/build-native-kernel.sh').toBeGreaterThan(0);
  });

  it.each([1, 7, 8, 9, 15, 16, 17, 603])('P = %i: reorthogonalize, combine and scale, every block, partial ones too', (P) => {
    const K = 3;
    for (const isa of isas) {
      const ops = nativeBlockOps(isa)!;
      for (const spiky of [false, true]) {
        for (const n of [1, 2, 3, 6]) {
          const seed = 1000 * P + 10 * n + (spiky ? 1 : 0);
          const Q = Array.from({ length: n + 1 }, (_, i) => vector(K * P, seed + i, spiky && i === 1));
          const open = Uint8Array.from([1, 0, 1]);
          const run = (o: BlockOps) => {
            const w = vector(K * P, seed + 99, spiky);
            const h = new Float64Array(K * n).fill(7);
            const norm2 = new Float64Array(K).fill(7);
            o.reorthogonalize(w, Q, n, K, P, open, h, norm2);
            const out = vector(K * P, seed + 98, false);
            const coef = vector(K * 4 * n, seed + 97, spiky);
            o.combine(out, Q, coef, 4 * n, Int32Array.from([n, 0, Math.max(1, n - 1)]), K, P);
            const x = vector(K * P, seed + 96, spiky);
            o.scale(x, Float64Array.from([0.5, -3, 1e-310]), K, P, Uint8Array.from([1, 1, 0]));
            return { w, h, norm2, out, x };
          };
          const want = run(jsBlockOps);
          const got = run(ops);
          for (const key of Object.keys(want) as (keyof typeof want)[]) same(got[key], want[key], `${isa} P ${P} n ${n} spiky ${spiky} ${key}`);
        }
      }
    }
  });

  it('a warm solve with a workspace: the products go there, solve after solve, and the results are the same', () => {
    const P = 29;
    const mats = [randomSymmetric(P, 4), randomSymmetric(P, 5)];
    const plain = batched(mats, P);
    const given: (Float64Array | undefined)[] = [];
    // An operator that writes into `out` when given, as the fast kernel does.
    const apply = (v: Float64Array, _active?: Uint8Array, out?: Float64Array) => {
      given.push(out);
      const r = plain(v);
      if (!out) return r;
      out.set(r);
      return out;
    };
    const opts = { maxOrder: 15, minOrder: 5, tol: 1e-6, start: startVectors(2, P, 3), ritz: 3 };
    const want = lanczosTolerantBatched(plain, 2, P, opts);
    const workspace: Float64Array[] = [];
    for (const solve of ['first', 'second']) {
      given.length = 0;
      const got = lanczosTolerantBatched(apply, 2, P, { ...opts, workspace });
      expect(given.length, solve).toBe(Math.max(...want.iterations));
      given.forEach((out, j) => expect(out, `${solve}: product ${j}`).toBe(workspace[j]));
      for (const key of ['lambda', 'vectors', 'residual', 'iterations'] as const) same(got[key], want[key], `${solve} ${key}`);
      for (const u of [got.vectors, ...got.subspace!]) expect(workspace.includes(u), `${solve}: a result aliases the workspace`).toBe(false);
    }
    expect(workspace.length).toBe(Math.max(...want.iterations));
  });

  it('a whole warm Lanczos solve: the same eigenvalues, vectors, residuals and orders with either', () => {
    const P = 37;
    const mats = [randomSymmetric(P, 1), randomSymmetric(P, 2), randomSymmetric(P, 3)];
    const apply = batched(mats, P);
    const start = startVectors(3, P, 5);
    const solve = (ops: BlockOps) => lanczosTolerantBatched(apply, 3, P, { maxOrder: 20, minOrder: 4, tol: 1e-6, start, ritz: 3, ops });
    const want = solve(jsBlockOps);
    expect(Math.max(...want.iterations)).toBeGreaterThan(4);
    for (const isa of isas) {
      const got = solve(nativeBlockOps(isa)!);
      same(got.lambda, want.lambda, `${isa} lambda`);
      same(got.vectors, want.vectors, `${isa} vectors`);
      same(got.residual, want.residual, `${isa} residual`);
      same(got.iterations, want.iterations, `${isa} iterations`);
      got.subspace!.forEach((u, t) => same(u, want.subspace![t], `${isa} subspace ${t}`));
    }
  });
});
