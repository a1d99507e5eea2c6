/**
 * Experiment (docs/performance.md, "What would close the gap", item 3): a joint subspace solve of dce's dynamic and
 * static eigenproblems from shared per-class products, against cold Lanczos of order 40, along the trajectories of
 * bench/sharpness-accuracy.ts. Per-class products are emulated by three kernel calls with unit class weights, so
 * this counts products (one per basis vector) and checks accuracy; it does not time anything.
 *
 *   node dist/bench/sharpness-joint.js [--lrs 1,2,4] [--steps 3000] [--every 25] [--min-dims 8,10,12]
 */
// @ts-nocheck -- a throwaway harness, kept in history only
import { createFastKernel } from '../core/engines/fast-kernel.js';
import { defaultDatasetSpec, makeSpirals } from '../core/data.js';
import { initParams } from '../core/model.js';
import { classWeights } from '../core/schedule.js';
import { lanczosBatched, startVectors, jacobiEigen } from '../core/linalg.js';
import { SharpnessTracker, mixedStart } from '../core/sharpness.js';

const arg = (n, f) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : f; };
const lrs = arg('lrs', '1,2,4').split(',').map(Number);
const steps = Number(arg('steps', '3000'));
const every = Number(arg('every', '25'));
const minDims = arg('min-dims', '12,14,16').split(',').map(Number);
const K = 16, width = 100, C = 3, tol = 1e-3, maxDim = 40;
const spec = defaultDatasetSpec({ pointsPerClass: 100 });
const train = makeSpirals(spec, 'train'), validation = makeSpirals(spec, 'validation');

function dotB(a, b, off, P) { let s = 0; for (let i = off; i < off + P; i++) s += a[i] * b[i]; return s; }

/** Joint solve for one pack: returns lambda A, lambda B per trial, products, new warm states. */
function jointSolve(kernel, gam, warmA, warmB, need, minDim) {
  const P = kernel.paramCount;
  const eC = [0, 1, 2].map((c) => { const g = new Float64Array(K * C); for (let k = 0; k < K; k++) g[k * C + c] = 1; return g; });
  const W = [], AW = [], BW = [];
  let products = 0;
  const add = (vecs) => { // vecs: K*P, per block unit or zero; orthogonalize (twice) against W
    for (let pass = 0; pass < 2; pass++) for (const w of W) for (let k = 0; k < K; k++) {
      const off = k * P; const c = dotB(vecs, w, off, P); for (let i = off; i < off + P; i++) vecs[i] -= c * w[i];
    }
    for (let k = 0; k < K; k++) { const off = k * P; const n = Math.sqrt(dotB(vecs, vecs, off, P)); const f = n > 1e-10 ? 1 / n : 0; for (let i = off; i < off + P; i++) vecs[i] *= f; }
    const hc = eC.map((g) => kernel.hvp(vecs, g));
    products++;
    const a = new Float64Array(K * P), b = new Float64Array(K * P);
    for (let k = 0; k < K; k++) for (let i = k * P; i < (k + 1) * P; i++) {
      a[i] = gam[k * C] * hc[0][i] + gam[k * C + 1] * hc[1][i] + gam[k * C + 2] * hc[2][i];
      b[i] = hc[0][i] + hc[1][i] + hc[2][i];
    }
    W.push(vecs); AW.push(a); BW.push(b);
  };
  const sA = warmA ? mixedStart(warmA, K, P) : startVectors(K, P);
  const sB = warmB ? mixedStart(warmB, K, P) : startVectors(K, P, 1);
  add(Float64Array.from(sA)); add(Float64Array.from(sB));
  const res = { lamA: new Float64Array(K), lamB: new Float64Array(K) };
  let doneA = new Uint8Array(K), doneB = new Uint8Array(K);
  let ritz = null;
  for (;;) {
    const k = W.length;
    const rr = (XW) => { // per block: top 3 Ritz pairs
      const out = [];
      for (let t = 0; t < K; t++) {
        const off = t * P; const T = new Float64Array(k * k);
        for (let i = 0; i < k; i++) for (let j = i; j < k; j++) { const v = 0.5 * (dotB(W[i], XW[j], off, P) + dotB(W[j], XW[i], off, P)); T[i * k + j] = v; T[j * k + i] = v; }
        const { values, vectors } = jacobiEigen(T, k);
        out.push({ values, vectors });
      }
      return out;
    };
    const rA = rr(AW), rB = rr(BW);
    ritz = { rA, rB, k };
    const nextA = new Float64Array(K * P), nextB = new Float64Array(K * P);
    let needA = false, needB = false;
    for (let t = 0; t < K; t++) {
      if (!need[t]) continue;
      const off = t * P;
      for (const [r, XW, lam, next, done, tag] of [[rA[t], AW, res.lamA, nextA, doneA, 'A'], [rB[t], BW, res.lamB, nextB, doneB, 'B']]) {
        const top = k - 1; const theta = r.values[top];
        lam[t] = theta;
        // residual X W y - theta W y
        let n2 = 0;
        for (let i = off; i < off + P; i++) {
          let v = 0; for (let j = 0; j < k; j++) v += r.vectors[j * k + top] * (XW[j][i] - theta * W[j][i]);
          next[i] = v; n2 += v * v;
        }
        const conv = Math.sqrt(n2) <= tol * Math.abs(theta) && k >= minDim;
        done[t] = conv || k >= maxDim ? 1 : 0;
        if (!done[t]) { if (tag === 'A') needA = true; else needB = true; }
        else for (let i = off; i < off + P; i++) next[i] = 0;
      }
    }
    if (!needA && !needB) break;
    if (needA) add(nextA);
    if (needB) add(nextB);
  }
  // warm states: top Ritz vector + next two, per operator
  const warm = (rs) => {
    const k = ritz.k; const vectors = new Float64Array(K * P); const subspace = [new Float64Array(K * P), new Float64Array(K * P)];
    for (let t = 0; t < K; t++) {
      const off = t * P;
      for (const [col, out] of [[k - 1, vectors], [k - 2, subspace[0]], [k - 3, subspace[1]]]) {
        if (col < 0) continue;
        for (let j = 0; j < k; j++) { const c = rs[t].vectors[j * k + col]; for (let i = off; i < off + P; i++) out[i] += c * W[j][i]; }
      }
    }
    return { vectors, subspace };
  };
  return { ...res, products, warmA: warm(ritz.rA), warmB: warm(ritz.rB) };
}

const tallies = {};
for (const lr of lrs) {
  const schedules = Array.from({ length: K }, (_, k) => ({ classes: C, period: 500, amplitude: [5, 25, 45, 65][k % 4], shape: 'triangle', steps, finalStaticSteps: 0 }));
  const kernel = await createFastKernel({ width, train, validation, trials: Array.from({ length: K }, (_, k) => ({ loss: 'dce', lr, theta: initParams(width, C, 'glorot-normal', 1 + k, train.d) })) });
  const P = kernel.paramCount;
  const states = minDims.map(() => ({ A: null, B: null }));
  const gam = new Float64Array(K * C), ones = new Float64Array(K * C).fill(1), active = new Uint8Array(K).fill(1);
  for (let s = 0; s < steps; s++) {
    for (let k = 0; k < K; k++) classWeights(s, schedules[k], gam.subarray(k * C, (k + 1) * C));
    if (s % every === 0) {
      const need = Uint8Array.from(active);
      const refA = lanczosBatched((v) => kernel.hvp(v, gam), K, P, { order: 40, start: startVectors(K, P) });
      const refB = lanczosBatched((v) => kernel.hvp(v, ones), K, P, { order: 40, start: startVectors(K, P) });
      minDims.forEach((md, i) => {
        const st = states[i];
        const r = jointSolve(kernel, gam, st.A, st.B, need, md);
        st.A = r.warmA; st.B = r.warmB;
        if (s === 0) return;
        const t = (tallies[md] ??= { values: 0, wrong: 0, max: 0, products: 0, samples: 0, at: [] });
        t.samples++; t.products += r.products;
        for (let k = 0; k < K; k++) {
          if (!need[k]) continue;
          for (const [got, ref, tag] of [[r.lamA[k], refA.lambda[k], 'dyn'], [r.lamB[k], refB.lambda[k], 'stat']]) {
            const rel = Math.abs(got - ref) / Math.abs(ref); t.values++; t.max = Math.max(t.max, rel);
            if (!(rel <= 1e-3)) { t.wrong++; if (t.at.length < 8) t.at.push(`lr ${lr} trial ${k} step ${s} ${tag} ${got.toPrecision(5)} vs ${ref.toPrecision(5)}`); }
          }
        }
      });
    }
    const l = kernel.step(gam, active);
    for (let k = 0; k < K; k++) if (!Number.isFinite(l[k])) active[k] = 0;
  }
  process.stderr.write(`lr ${lr} done\n`);
}
for (const [md, t] of Object.entries(tallies)) {
  console.log(`joint minDim ${md}: wrong ${t.wrong} of ${t.values}, max rel ${t.max.toExponential(2)}, joint products per sample ${(t.products / t.samples).toFixed(2)}`);
  for (const a of t.at) console.log('   ', a);
}
