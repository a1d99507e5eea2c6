// AssemblyScript source of the `fast` engine's WebAssembly SIMD kernel (compiled by `npm run asbuild`
// into dist/wasm/fast-kernel.wasm; never committed as a binary). JS glue: core/engines/fast-kernel.ts.
//
// Model: d = 2 inputs, hidden width w, C = 3 outputs (the only shape this kernel handles; the glue
// falls back to the float64 reference kernel otherwise). Arithmetic in float32, losses summed in float64.
//
// Packing: trials are processed in blocks of 4, one trial per f32x4 lane. Every parameter of a block is a
// v128 (4 trials), in the flat order of core/kernel.ts: W1 row 0 (w), W1 row 1 (w), b1 (w), W2 (w x 3), b2 (3).
// With the trials in the lanes there are no horizontal reductions anywhere, the inputs x are shared scalars
// (splat loads), and the hidden activations are never stored: each pass recomputes a = W1^T x + b1
// (two multiply-adds) instead of streaming an N x w array through the cache.
//
// Loop orders: the forward pass runs samples outer / hidden units inner (logits accumulate in registers);
// the backward pass runs hidden units outer / samples inner, so the gradient of unit j accumulates in
// registers over all samples and is written once (for `step`: the update is fused in, theta_j is read and
// written once per step).
//
// Class weights come as a table om[y][c] (9 v128 per block): ce family uses om[y][0] = Gamma_y;
// mse / dmse1 / dmse2 use om[y][c] = 1 / Gamma_y / Gamma_c, so one code path serves every loss of a family.

// ---- vector math --------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function vexp(x: v128): v128 {
  // exp for x <= 0 (callers subtract the max); Cephes expf polynomial; NaN propagates (f32x4.max keeps NaN).
  x = f32x4.max(x, f32x4.splat(-87.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  const e = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, e);
}

// @ts-ignore: decorator
@inline function vlog(s: v128): v128 {
  // natural log for s >= 1 (a sum of exps whose max is 1); Cephes logf; NaN and +Inf propagate.
  const bits = s;
  let e = i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(127));
  let m = v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000));
  const big = f32x4.gt(m, f32x4.splat(1.41421356));
  m = v128.bitselect(f32x4.mul(m, f32x4.splat(0.5)), m, big);
  e = i32x4.sub(e, big); // big lanes are -1: e + 1
  const fe = f32x4.convert_i32x4_s(e);
  const x = f32x4.sub(m, f32x4.splat(1.0));
  const z = f32x4.mul(x, x);
  let y = f32x4.splat(7.0376836292e-2);
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, x), z);
  y = f32x4.add(y, f32x4.mul(fe, f32x4.splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let r = f32x4.add(f32x4.add(x, y), f32x4.mul(fe, f32x4.splat(0.693359375)));
  // s * 0 is NaN for NaN or Inf: poison the result the way a true log would propagate.
  return f32x4.add(r, f32x4.mul(s, f32x4.splat(0.0)));
}

// ---- helpers ------------------------------------------------------------------------------------------

const V: usize = 16; // bytes per v128

export function heapBase(): usize {
  return __heap_base;
}

// @ts-ignore: decorator
@inline function addF64(acc: usize, l: v128): void {
  // acc: 4 f64 (lanes 0-1, 2-3)
  v128.store(acc, f64x2.add(v128.load(acc), f64x2.promote_low_f32x4(l)));
  v128.store(acc, f64x2.add(v128.load(acc, 16), f64x2.promote_low_f32x4(i32x4.shuffle(l, l, 2, 3, 0, 1))), 16);
}

// @ts-ignore: decorator
@inline function pick(y: i32, z0: v128, z1: v128, z2: v128): v128 {
  return y == 0 ? z0 : y == 1 ? z1 : z2;
}

// @ts-ignore: decorator
@inline function onehot(y: i32, c: i32): v128 {
  return f32x4.splat(y == c ? 1.0 : 0.0);
}

/** Logits of sample (x0, x1) for one block: returns via globals to keep the call inlined and register-held. */
let Z0: v128 = f32x4.splat(0);
let Z1: v128 = f32x4.splat(0);
let Z2: v128 = f32x4.splat(0);

// @ts-ignore: decorator
@inline function logits(th: usize, w: i32, x0: v128, x1: v128): void {
  const wb = (<usize>w) * V;
  const b2 = th + 6 * wb;
  let z0 = v128.load(b2);
  let z1 = v128.load(b2, 16);
  let z2 = v128.load(b2, 32);
  let p = th;
  let q = th + 3 * wb;
  const end = th + wb;
  while (p < end) {
    const a = f32x4.add(f32x4.add(f32x4.mul(x0, v128.load(p)), f32x4.mul(x1, v128.load(p + wb))), v128.load(p + 2 * wb));
    const h = v128.and(a, f32x4.gt(a, f32x4.splat(0)));
    z0 = f32x4.add(z0, f32x4.mul(h, v128.load(q)));
    z1 = f32x4.add(z1, f32x4.mul(h, v128.load(q, 16)));
    z2 = f32x4.add(z2, f32x4.mul(h, v128.load(q, 32)));
    p += V;
    q += 3 * V;
  }
  Z0 = z0;
  Z1 = z1;
  Z2 = z2;
}

// ---- training step / gradient -------------------------------------------------------------------------

/**
 * One block: loss at the current parameters (4 f64 into lossOut) and either the gradient into `grad`
 * (update = 0) or the fused update theta <- theta - lr * grad for lanes whose `act` mask is set (update = 1).
 * dz: scratch of n * 3 v128.
 */
export function stepBlock(
  th: usize, grad: usize, lr: usize, act: usize, om: usize,
  x: usize, y: usize, n: i32, w: i32, ce: i32, dz: usize, lossOut: usize, update: i32,
): void {
  const wb = (<usize>w) * V;
  const invN = f32x4.splat(<f32>(1.0 / <f64>n));
  v128.store(lossOut, f64x2.splat(0));
  v128.store(lossOut, f64x2.splat(0), 16);
  let gb0 = f32x4.splat(0);
  let gb1 = f32x4.splat(0);
  let gb2 = f32x4.splat(0);
  // Forward: logits, loss and dz per sample.
  for (let mu = 0; mu < n; mu++) {
    const xp = x + (<usize>mu) * 8;
    const x0 = v128.load32_splat(xp);
    const x1 = v128.load32_splat(xp, 4);
    logits(th, w, x0, x1);
    const z0 = Z0, z1 = Z1, z2 = Z2;
    const yl = load<i32>(y + (<usize>mu) * 4);
    const dp = dz + (<usize>mu) * 3 * V;
    let l: v128;
    let d0: v128, d1: v128, d2: v128;
    if (ce) {
      const gy = v128.load(om + (<usize>yl) * 3 * V);
      const m = f32x4.max(z0, f32x4.max(z1, z2));
      const e0 = vexp(f32x4.sub(z0, m));
      const e1 = vexp(f32x4.sub(z1, m));
      const e2 = vexp(f32x4.sub(z2, m));
      const s = f32x4.add(f32x4.add(e0, e1), e2);
      const inv = f32x4.div(f32x4.splat(1.0), s);
      l = f32x4.mul(gy, f32x4.sub(f32x4.add(m, vlog(s)), pick(yl, z0, z1, z2)));
      const g = f32x4.mul(gy, invN);
      d0 = f32x4.mul(g, f32x4.sub(f32x4.mul(e0, inv), onehot(yl, 0)));
      d1 = f32x4.mul(g, f32x4.sub(f32x4.mul(e1, inv), onehot(yl, 1)));
      d2 = f32x4.mul(g, f32x4.sub(f32x4.mul(e2, inv), onehot(yl, 2)));
    } else {
      const o = om + (<usize>yl) * 3 * V;
      const e0 = f32x4.sub(z0, onehot(yl, 0));
      const e1 = f32x4.sub(z1, onehot(yl, 1));
      const e2 = f32x4.sub(z2, onehot(yl, 2));
      const t0 = f32x4.mul(v128.load(o), e0);
      const t1 = f32x4.mul(v128.load(o, 16), e1);
      const t2 = f32x4.mul(v128.load(o, 32), e2);
      l = f32x4.mul(f32x4.splat(0.5), f32x4.add(f32x4.add(f32x4.mul(t0, e0), f32x4.mul(t1, e1)), f32x4.mul(t2, e2)));
      d0 = f32x4.mul(t0, invN);
      d1 = f32x4.mul(t1, invN);
      d2 = f32x4.mul(t2, invN);
    }
    v128.store(dp, d0);
    v128.store(dp, d1, 16);
    v128.store(dp, d2, 32);
    gb0 = f32x4.add(gb0, d0);
    gb1 = f32x4.add(gb1, d1);
    gb2 = f32x4.add(gb2, d2);
    addF64(lossOut, l);
  }
  const lrv = v128.load(lr);
  const am = v128.load(act);
  // Backward, unit by unit.
  for (let j = 0; j < w; j++) {
    const pj = th + (<usize>j) * V;
    const qj = th + 3 * wb + (<usize>j) * 3 * V;
    const w10 = v128.load(pj);
    const w11 = v128.load(pj + wb);
    const b1 = v128.load(pj + 2 * wb);
    const w20 = v128.load(qj);
    const w21 = v128.load(qj, 16);
    const w22 = v128.load(qj, 32);
    let g10 = f32x4.splat(0), g11 = f32x4.splat(0), gb = f32x4.splat(0);
    let g20 = f32x4.splat(0), g21 = f32x4.splat(0), g22 = f32x4.splat(0);
    let xp = x;
    let dp = dz;
    const xend = x + (<usize>n) * 8;
    while (xp < xend) {
      const x0 = v128.load32_splat(xp);
      const x1 = v128.load32_splat(xp, 4);
      const a = f32x4.add(f32x4.add(f32x4.mul(x0, w10), f32x4.mul(x1, w11)), b1);
      const m = f32x4.gt(a, f32x4.splat(0));
      const h = v128.and(a, m);
      const d0 = v128.load(dp);
      const d1 = v128.load(dp, 16);
      const d2 = v128.load(dp, 32);
      g20 = f32x4.add(g20, f32x4.mul(h, d0));
      g21 = f32x4.add(g21, f32x4.mul(h, d1));
      g22 = f32x4.add(g22, f32x4.mul(h, d2));
      const da = v128.and(f32x4.add(f32x4.add(f32x4.mul(w20, d0), f32x4.mul(w21, d1)), f32x4.mul(w22, d2)), m);
      gb = f32x4.add(gb, da);
      g10 = f32x4.add(g10, f32x4.mul(x0, da));
      g11 = f32x4.add(g11, f32x4.mul(x1, da));
      xp += 8;
      dp += 3 * V;
    }
    if (update) {
      v128.store(pj, v128.bitselect(f32x4.sub(w10, f32x4.mul(lrv, g10)), w10, am));
      v128.store(pj + wb, v128.bitselect(f32x4.sub(w11, f32x4.mul(lrv, g11)), w11, am));
      v128.store(pj + 2 * wb, v128.bitselect(f32x4.sub(b1, f32x4.mul(lrv, gb)), b1, am));
      v128.store(qj, v128.bitselect(f32x4.sub(w20, f32x4.mul(lrv, g20)), w20, am));
      v128.store(qj, v128.bitselect(f32x4.sub(w21, f32x4.mul(lrv, g21)), w21, am), 16);
      v128.store(qj, v128.bitselect(f32x4.sub(w22, f32x4.mul(lrv, g22)), w22, am), 32);
    } else {
      const gj = grad + (<usize>j) * V;
      const hj = grad + 3 * wb + (<usize>j) * 3 * V;
      v128.store(gj, g10);
      v128.store(gj + wb, g11);
      v128.store(gj + 2 * wb, gb);
      v128.store(hj, g20);
      v128.store(hj, g21, 16);
      v128.store(hj, g22, 32);
    }
  }
  const b2 = th + 6 * wb;
  if (update) {
    const c0 = v128.load(b2), c1 = v128.load(b2, 16), c2 = v128.load(b2, 32);
    v128.store(b2, v128.bitselect(f32x4.sub(c0, f32x4.mul(lrv, gb0)), c0, am));
    v128.store(b2, v128.bitselect(f32x4.sub(c1, f32x4.mul(lrv, gb1)), c1, am), 16);
    v128.store(b2, v128.bitselect(f32x4.sub(c2, f32x4.mul(lrv, gb2)), c2, am), 32);
  } else {
    const g2 = grad + 6 * wb;
    v128.store(g2, gb0);
    v128.store(g2, gb1, 16);
    v128.store(g2, gb2, 32);
  }
  const invNd = 1.0 / <f64>n;
  v128.store(lossOut, f64x2.mul(v128.load(lossOut), f64x2.splat(invNd)));
  v128.store(lossOut, f64x2.mul(v128.load(lossOut, 16), f64x2.splat(invNd)), 16);
}

// ---- evaluation ---------------------------------------------------------------------------------------

/** Loss with the table om, static loss (all-ones weights) and correct counts, 4 f64 each into out[0..12). */
export function evalBlock(th: usize, om: usize, x: usize, y: usize, n: i32, w: i32, ce: i32, out: usize): void {
  for (let i = 0; i < 6; i++) v128.store(out + (<usize>i) * V, f64x2.splat(0));
  for (let mu = 0; mu < n; mu++) {
    const xp = x + (<usize>mu) * 8;
    logits(th, w, v128.load32_splat(xp), v128.load32_splat(xp, 4));
    const z0 = Z0, z1 = Z1, z2 = Z2;
    const yl = load<i32>(y + (<usize>mu) * 4);
    let l: v128, ls: v128;
    if (ce) {
      const m = f32x4.max(z0, f32x4.max(z1, z2));
      const s = f32x4.add(f32x4.add(vexp(f32x4.sub(z0, m)), vexp(f32x4.sub(z1, m))), vexp(f32x4.sub(z2, m)));
      ls = f32x4.sub(f32x4.add(m, vlog(s)), pick(yl, z0, z1, z2));
      l = f32x4.mul(v128.load(om + (<usize>yl) * 3 * V), ls);
    } else {
      const o = om + (<usize>yl) * 3 * V;
      const e0 = f32x4.sub(z0, onehot(yl, 0));
      const e1 = f32x4.sub(z1, onehot(yl, 1));
      const e2 = f32x4.sub(z2, onehot(yl, 2));
      const q0 = f32x4.mul(e0, e0), q1 = f32x4.mul(e1, e1), q2 = f32x4.mul(e2, e2);
      ls = f32x4.mul(f32x4.splat(0.5), f32x4.add(f32x4.add(q0, q1), q2));
      l = f32x4.mul(
        f32x4.splat(0.5),
        f32x4.add(f32x4.add(f32x4.mul(v128.load(o), q0), f32x4.mul(v128.load(o, 16), q1)), f32x4.mul(v128.load(o, 32), q2)),
      );
    }
    addF64(out, l);
    addF64(out + 32, ls);
    // argmax == y, first maximum wins (as the reference): z_y > z_c for c < y, z_y >= z_c for c > y.
    let ok: v128;
    if (yl == 0) ok = v128.and(f32x4.ge(z0, z1), f32x4.ge(z0, z2));
    else if (yl == 1) ok = v128.and(f32x4.gt(z1, z0), f32x4.ge(z1, z2));
    else ok = v128.and(f32x4.gt(z2, z0), f32x4.gt(z2, z1));
    addF64(out + 64, v128.and(ok, f32x4.splat(1.0)));
  }
  const invNd = 1.0 / <f64>n;
  for (let i = 0; i < 4; i++) {
    const p = out + (<usize>i) * V;
    v128.store(p, f64x2.mul(v128.load(p), f64x2.splat(invNd)));
  }
  // counts -> fractions too
  v128.store(out + 64, f64x2.mul(v128.load(out + 64), f64x2.splat(invNd)));
  v128.store(out + 80, f64x2.mul(v128.load(out + 80), f64x2.splat(invNd)));
}

// ---- Hessian-vector products with a per-parameter-state cache -------------------------------------------
//
// Lanczos applies H about 20 times at the same parameters, so everything that does not depend on v is computed
// once (hvpPrepBlock): per sample p = softmax(z) (ce family) and dz; per hidden unit the 3 x 3 moments
// D_j(i, c) = sum_mu 1[a_j>0] xt_i dz_c with xt = (x0, x1, 1). Writing Ra_j = 1[a_j>0] (xt . V1t_j) and
// h_j = 1[a_j>0] (xt . W1t_j) (W1t_j = (W1_0j, W1_1j, b1_j), V1t likewise), the R backward pass collapses to
//   E_j(i, c)  = sum_mu 1[a_j>0] xt_i Rdz_c                    (the only per-v sum over samples)
//   H_W2[j, c] = sum_i V1t_ij D_j(i, c) + W1t_ij E_j(i, c)
//   H_W1t[i, j] = sum_c V2_jc D_j(i, c) + W2_jc E_j(i, c)
// so an hvp is one R-forward pass (Rz) and one pass accumulating E: about the work of one training step.

/** Per-state cache: pp (n * 3 v128: p, ce family only), dz (n * 3 v128), D (w * 9 v128). */
export function hvpPrepBlock(th: usize, om: usize, x: usize, y: usize, n: i32, w: i32, ce: i32, pp: usize, dz: usize, D: usize): void {
  const invN = f32x4.splat(<f32>(1.0 / <f64>n));
  for (let mu = 0; mu < n; mu++) {
    const xp = x + (<usize>mu) * 8;
    logits(th, w, v128.load32_splat(xp), v128.load32_splat(xp, 4));
    const z0 = Z0, z1 = Z1, z2 = Z2;
    const yl = load<i32>(y + (<usize>mu) * 4);
    const dp = dz + (<usize>mu) * 3 * V;
    if (ce) {
      const gy = f32x4.mul(v128.load(om + (<usize>yl) * 3 * V), invN);
      const m = f32x4.max(z0, f32x4.max(z1, z2));
      const e0 = vexp(f32x4.sub(z0, m));
      const e1 = vexp(f32x4.sub(z1, m));
      const e2 = vexp(f32x4.sub(z2, m));
      const inv = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.add(e0, e1), e2));
      const p0 = f32x4.mul(e0, inv), p1 = f32x4.mul(e1, inv), p2 = f32x4.mul(e2, inv);
      const q = pp + (<usize>mu) * 3 * V;
      v128.store(q, p0);
      v128.store(q, p1, 16);
      v128.store(q, p2, 32);
      v128.store(dp, f32x4.mul(gy, f32x4.sub(p0, onehot(yl, 0))));
      v128.store(dp, f32x4.mul(gy, f32x4.sub(p1, onehot(yl, 1))), 16);
      v128.store(dp, f32x4.mul(gy, f32x4.sub(p2, onehot(yl, 2))), 32);
    } else {
      const o = om + (<usize>yl) * 3 * V;
      v128.store(dp, f32x4.mul(f32x4.mul(v128.load(o), invN), f32x4.sub(z0, onehot(yl, 0))));
      v128.store(dp, f32x4.mul(f32x4.mul(v128.load(o, 16), invN), f32x4.sub(z1, onehot(yl, 1))), 16);
      v128.store(dp, f32x4.mul(f32x4.mul(v128.load(o, 32), invN), f32x4.sub(z2, onehot(yl, 2))), 32);
    }
  }
  momentsOf(th, x, n, w, dz, D);
}

/** M_j(i, c) = sum_mu 1[a_j>0] xt_i s_c for s = (n * 3 v128); into M (w * 9 v128, i-major). */
// @ts-ignore: decorator
@inline function momentsOf(th: usize, x: usize, n: i32, w: i32, s: usize, M: usize): void {
  const wb = (<usize>w) * V;
  const xend = x + (<usize>n) * 8;
  for (let j = 0; j < w; j++) {
    const pj = th + (<usize>j) * V;
    const w10 = v128.load(pj), w11 = v128.load(pj + wb), b1 = v128.load(pj + 2 * wb);
    let e00 = f32x4.splat(0), e01 = f32x4.splat(0), e02 = f32x4.splat(0);
    let e10 = f32x4.splat(0), e11 = f32x4.splat(0), e12 = f32x4.splat(0);
    let e20 = f32x4.splat(0), e21 = f32x4.splat(0), e22 = f32x4.splat(0);
    let xp = x;
    let sp = s;
    while (xp < xend) {
      const x0 = v128.load32_splat(xp);
      const x1 = v128.load32_splat(xp, 4);
      const m = f32x4.gt(f32x4.add(f32x4.add(f32x4.mul(x0, w10), f32x4.mul(x1, w11)), b1), f32x4.splat(0));
      const t0 = v128.and(v128.load(sp), m);
      const t1 = v128.and(v128.load(sp, 16), m);
      const t2 = v128.and(v128.load(sp, 32), m);
      e20 = f32x4.add(e20, t0);
      e21 = f32x4.add(e21, t1);
      e22 = f32x4.add(e22, t2);
      e00 = f32x4.add(e00, f32x4.mul(x0, t0));
      e01 = f32x4.add(e01, f32x4.mul(x0, t1));
      e02 = f32x4.add(e02, f32x4.mul(x0, t2));
      e10 = f32x4.add(e10, f32x4.mul(x1, t0));
      e11 = f32x4.add(e11, f32x4.mul(x1, t1));
      e12 = f32x4.add(e12, f32x4.mul(x1, t2));
      xp += 8;
      sp += 3 * V;
    }
    const mj = M + (<usize>j) * 9 * V;
    v128.store(mj, e00);
    v128.store(mj, e01, 16);
    v128.store(mj, e02, 32);
    v128.store(mj, e10, 48);
    v128.store(mj, e11, 64);
    v128.store(mj, e12, 80);
    v128.store(mj, e20, 96);
    v128.store(mj, e21, 112);
    v128.store(mj, e22, 128);
  }
}

/** out = H v for one block, given the cache of hvpPrepBlock. rdz: scratch n * 3 v128; E: scratch w * 9 v128. */
export function hvpCachedBlock(
  th: usize, v: usize, out: usize, om: usize,
  x: usize, n: i32, w: i32, ce: i32, y: usize, pp: usize, dz: usize, D: usize, rdz: usize, E: usize,
): void {
  const wb = (<usize>w) * V;
  const invN = f32x4.splat(<f32>(1.0 / <f64>n));
  let hb0 = f32x4.splat(0), hb1 = f32x4.splat(0), hb2 = f32x4.splat(0);
  const vb2 = v + 6 * wb;
  for (let mu = 0; mu < n; mu++) {
    const xp = x + (<usize>mu) * 8;
    const x0 = v128.load32_splat(xp);
    const x1 = v128.load32_splat(xp, 4);
    let r0 = v128.load(vb2), r1 = v128.load(vb2, 16), r2 = v128.load(vb2, 32);
    let p = th;
    let q = v;
    const end = th + wb;
    while (p < end) {
      const a = f32x4.add(f32x4.add(f32x4.mul(x0, v128.load(p)), f32x4.mul(x1, v128.load(p + wb))), v128.load(p + 2 * wb));
      const m = f32x4.gt(a, f32x4.splat(0));
      const h = v128.and(a, m);
      const ra = v128.and(
        f32x4.add(f32x4.add(f32x4.mul(x0, v128.load(q)), f32x4.mul(x1, v128.load(q + wb))), v128.load(q + 2 * wb)),
        m,
      );
      const pw = p + 3 * wb + (p - th) * 2;
      const qw = q + 3 * wb + (q - v) * 2;
      r0 = f32x4.add(r0, f32x4.add(f32x4.mul(ra, v128.load(pw)), f32x4.mul(h, v128.load(qw))));
      r1 = f32x4.add(r1, f32x4.add(f32x4.mul(ra, v128.load(pw, 16)), f32x4.mul(h, v128.load(qw, 16))));
      r2 = f32x4.add(r2, f32x4.add(f32x4.mul(ra, v128.load(pw, 32)), f32x4.mul(h, v128.load(qw, 32))));
      p += V;
      q += V;
    }
    const yl = load<i32>(y + (<usize>mu) * 4);
    let s0: v128, s1: v128, s2: v128;
    if (ce) {
      const gy = f32x4.mul(v128.load(om + (<usize>yl) * 3 * V), invN);
      const pq = pp + (<usize>mu) * 3 * V;
      const p0 = v128.load(pq), p1 = v128.load(pq, 16), p2 = v128.load(pq, 32);
      const pr = f32x4.add(f32x4.add(f32x4.mul(p0, r0), f32x4.mul(p1, r1)), f32x4.mul(p2, r2));
      s0 = f32x4.mul(gy, f32x4.mul(p0, f32x4.sub(r0, pr)));
      s1 = f32x4.mul(gy, f32x4.mul(p1, f32x4.sub(r1, pr)));
      s2 = f32x4.mul(gy, f32x4.mul(p2, f32x4.sub(r2, pr)));
    } else {
      const o = om + (<usize>yl) * 3 * V;
      s0 = f32x4.mul(f32x4.mul(v128.load(o), invN), r0);
      s1 = f32x4.mul(f32x4.mul(v128.load(o, 16), invN), r1);
      s2 = f32x4.mul(f32x4.mul(v128.load(o, 32), invN), r2);
    }
    const sp = rdz + (<usize>mu) * 3 * V;
    v128.store(sp, s0);
    v128.store(sp, s1, 16);
    v128.store(sp, s2, 32);
    hb0 = f32x4.add(hb0, s0);
    hb1 = f32x4.add(hb1, s1);
    hb2 = f32x4.add(hb2, s2);
  }
  const ob2 = out + 6 * wb;
  v128.store(ob2, hb0);
  v128.store(ob2, hb1, 16);
  v128.store(ob2, hb2, 32);
  momentsOf(th, x, n, w, rdz, E);
  for (let j = 0; j < w; j++) {
    const pj = th + (<usize>j) * V;
    const vj = v + (<usize>j) * V;
    const qj = th + 3 * wb + (<usize>j) * 3 * V;
    const uj = v + 3 * wb + (<usize>j) * 3 * V;
    const dj = D + (<usize>j) * 9 * V;
    const ej = E + (<usize>j) * 9 * V;
    const oj = out + (<usize>j) * V;
    const hj = out + 3 * wb + (<usize>j) * 3 * V;
    // H_W2[j, c] = sum_i V1t_ij D(i, c) + W1t_ij E(i, c)
    for (let c = 0; c < 3; c++) {
      let acc = f32x4.splat(0);
      for (let i = 0; i < 3; i++) {
        const o = (<usize>(i * 3 + c)) * V;
        acc = f32x4.add(acc, f32x4.add(
          f32x4.mul(v128.load(vj + (<usize>i) * wb), v128.load(dj + o)),
          f32x4.mul(v128.load(pj + (<usize>i) * wb), v128.load(ej + o)),
        ));
      }
      v128.store(hj + (<usize>c) * V, acc);
    }
    // H_W1t[i, j] = sum_c V2_jc D(i, c) + W2_jc E(i, c)
    for (let i = 0; i < 3; i++) {
      let acc = f32x4.splat(0);
      for (let c = 0; c < 3; c++) {
        const o = (<usize>(i * 3 + c)) * V;
        acc = f32x4.add(acc, f32x4.add(
          f32x4.mul(v128.load(uj + (<usize>c) * V), v128.load(dj + o)),
          f32x4.mul(v128.load(qj + (<usize>c) * V), v128.load(ej + o)),
        ));
      }
      v128.store(oj + (<usize>i) * wb, acc);
    }
  }
}
