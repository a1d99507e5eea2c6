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
// once (hvpStateBlock, hvpWeightsBlock): per sample p = softmax(z) (ce family) and dz; per hidden unit the 3 x 3 moments
// D_j(i, c) = sum_mu 1[a_j>0] xt_i dz_c with xt = (x0, x1, 1). Writing Ra_j = 1[a_j>0] (xt . V1t_j) and
// h_j = 1[a_j>0] (xt . W1t_j) (W1t_j = (W1_0j, W1_1j, b1_j), V1t likewise), the R backward pass collapses to
//   E_j(i, c)  = sum_mu 1[a_j>0] xt_i Rdz_c                    (the only per-v sum over samples)
//   H_W2[j, c] = sum_i V1t_ij D_j(i, c) + W1t_ij E_j(i, c)
//   H_W1t[i, j] = sum_c V2_jc D_j(i, c) + W2_jc E_j(i, c)
// so an hvp is one R-forward pass (Rz, a masked sum of per-unit terms: hvpCachedBlock) and one pass accumulating
// E: about the work of one training step.

/** The cache's part that depends on the parameters alone (once for the dynamic and the static eigenproblem of a
 * measurement): pp (n * 3 v128: softmax p for the ce family, the logits z for the mse family), the flip lists fl / fo /
 * ok of flipsOf (prev: scratch of w i32) and, for the lanes with lists, p lane-major in ppl (3 n f32 per lane). */
export function hvpStateBlock(
  th: usize, x: usize, n: i32, w: i32, ce: i32, pp: usize, fl: usize, fo: usize, ok: usize, cap: i32, prev: usize,
  ppl: usize,
): void {
  for (let mu = 0; mu < n; mu++) {
    const xp = x + (<usize>mu) * 8;
    logits(th, w, v128.load32_splat(xp), v128.load32_splat(xp, 4));
    let z0 = Z0, z1 = Z1, z2 = Z2;
    if (ce) {
      const m = f32x4.max(z0, f32x4.max(z1, z2));
      const e0 = vexp(f32x4.sub(z0, m));
      const e1 = vexp(f32x4.sub(z1, m));
      const e2 = vexp(f32x4.sub(z2, m));
      const inv = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.add(e0, e1), e2));
      z0 = f32x4.mul(e0, inv);
      z1 = f32x4.mul(e1, inv);
      z2 = f32x4.mul(e2, inv);
    }
    const q = pp + (<usize>mu) * 3 * V;
    v128.store(q, z0);
    v128.store(q, z1, 16);
    v128.store(q, z2, 32);
  }
  flipsOf(th, x, n, w, fl, fo, ok, cap, prev);
  if (cap && ce) laneMajor(pp, 3 * n, ok, ppl, 3 * n, true); // the lanes along the tour read their p one lane at a time
}

/** The cache's part that depends on the class weights om too: dz (n * 3 v128) and the moments D (w * 9 v128) of
 * 1[a_j>0] xt_i dz_c, from hvpStateBlock's pp and flip lists. Scratch: perLaneN (3 n f32), and hvpCachedBlock's
 * perLaneW and Ed. */
export function hvpWeightsBlock(
  th: usize, om: usize, x: usize, y: usize, n: i32, w: i32, ce: i32, pp: usize, dz: usize, D: usize,
  fl: usize, fo: usize, ok: usize, cap: i32, perLaneN: usize, perLaneW: usize, Ed: usize,
): void {
  const invN = f32x4.splat(<f32>(1.0 / <f64>n));
  for (let mu = 0; mu < n; mu++) {
    const yl = load<i32>(y + (<usize>mu) * 4);
    const q = pp + (<usize>mu) * 3 * V;
    const q0 = v128.load(q), q1 = v128.load(q, 16), q2 = v128.load(q, 32);
    const dp = dz + (<usize>mu) * 3 * V;
    if (ce) {
      const gy = f32x4.mul(v128.load(om + (<usize>yl) * 3 * V), invN);
      v128.store(dp, f32x4.mul(gy, f32x4.sub(q0, onehot(yl, 0))));
      v128.store(dp, f32x4.mul(gy, f32x4.sub(q1, onehot(yl, 1))), 16);
      v128.store(dp, f32x4.mul(gy, f32x4.sub(q2, onehot(yl, 2))), 32);
    } else {
      const o = om + (<usize>yl) * 3 * V;
      v128.store(dp, f32x4.mul(f32x4.mul(v128.load(o), invN), f32x4.sub(q0, onehot(yl, 0))));
      v128.store(dp, f32x4.mul(f32x4.mul(v128.load(o, 16), invN), f32x4.sub(q1, onehot(yl, 1))), 16);
      v128.store(dp, f32x4.mul(f32x4.mul(v128.load(o, 32), invN), f32x4.sub(q2, onehot(yl, 2))), 32);
    }
  }
  const ok0 = load<i32>(ok), ok1 = load<i32>(ok, 4), ok2 = load<i32>(ok, 8), ok3 = load<i32>(ok, 12);
  const along = ok0 || ok1 || ok2 || ok3;
  // D: by the masked sums where a lane needs them, along the tour for the others (as the products' E).
  if (!(ok0 && ok1 && ok2 && ok3)) momentsOf(th, x, n, w, dz, D);
  for (let l = 0; along && l < 4; l++) {
    if (!load<i32>(ok + (<usize>l) * 4)) continue;
    for (let r = 0; r < 3 * n; r++) store<f32>(perLaneN + (<usize>r) * 4, load<f32>(dz + (<usize>r) * V + (<usize>l) * 4));
    momentsAlong(fl + (<usize>(l * cap)) * 4, fo + (<usize>(l * (n + 2))) * 4, x, perLaneN, n, w, Ed, perLaneW + (<usize>(9 * w * l)) * 4);
  }
  if (along) laneMajor(D, 9 * w, ok, perLaneW, 9 * w, false);
}

// ---- Products along a sample tour (the flip path; native/spirals.h has the same code for 8 and 16 lanes) -----------
// The two passes below are masked sums over samples and units: M(mu) = sum_j 1[a_j(mu) > 0] A_j (forward) and
// E_j = sum_mu 1[a_j(mu) > 0] q(mu) (backward), 9 numbers each. The glue orders the training samples along a short
// tour of the input plane (core/engines/sample-tour.ts), so a lane's masks change at a few percent of its (sample,
// unit) pairs. Along the tour M is a running sum that changes only where a mask flips, and E_j is a sum of prefix
// sums of q taken where unit j's mask flips: per lane O(flips + samples) instead of O(samples x units). Both run in
// float64, lane by lane, in the order of the flip lists, so a lane's numbers depend on its own trial only; a lane
// whose flips do not fit its list (cap entries, 0 for small problems and narrow layers) runs the masked sums.

// A 3 x 3 term in float64 is three groups, one per input i = (x0, x1, 1), of its classes c = 0, 1, 2 and a zero (two
// f64x2 each): Rz = (M_0 x0 + M_1 x1) + M_2 group by group.
const ROW: usize = 96; // bytes of a term
const LANE_OM = memory.data(36); // one lane's weight table om[y * 3 + c] (f32)
const LANE_HB = memory.data(12); // one lane's b2 part of the result (f32)
/** The flip lists of a block: for lane l, fl[l * cap + ...] (i32) holds 2 j + (1 if unit j was on) for every unit j
 * whose mask differs between samples mu - 1 and mu (all off before sample 0 and after sample n - 1), positions
 * mu = 0..n in order, units in order within a position; fo[l * (n + 2) + mu] is the start of position mu, fo[.. + n +
 * 1] the end; ok[l] = 1 where the list fits in cap (ok counts entries meanwhile). */
function flipsOf(th: usize, x: usize, n: i32, w: i32, fl: usize, fo: usize, ok: usize, cap: i32, prev: usize): void {
  if (cap == 0) { // no lists (core/engines/fast-kernel.ts flipCapacity)
    memory.fill(ok, 0, 16);
    return;
  }
  const wb = (<usize>w) * V;
  for (let l = 0; l < 4; l++) store<i32>(ok + (<usize>l) * 4, 0);
  memory.fill(prev, 0, (<usize>w) * 4);
  for (let mu = 0; mu <= n; mu++) {
    for (let l = 0; l < 4; l++) store<i32>(fo + (<usize>(l * (n + 2) + mu)) * 4, load<i32>(ok + (<usize>l) * 4));
    const xp = x + (<usize>min(mu, n - 1)) * 8;
    const x0 = v128.load32_splat(xp);
    const x1 = v128.load32_splat(xp, 4);
    for (let j = 0; j < w; j++) {
      const was = load<i32>(prev + (<usize>j) * 4);
      let now = 0;
      if (mu < n) {
        const p = th + (<usize>j) * V;
        const a = f32x4.add(f32x4.add(f32x4.mul(x0, v128.load(p)), f32x4.mul(x1, v128.load(p + wb))), v128.load(p + 2 * wb));
        now = i32x4.bitmask(f32x4.gt(a, f32x4.splat(0)));
      }
      store<i32>(prev + (<usize>j) * 4, now);
      for (let f = was ^ now; f != 0; f &= f - 1) {
        const l = ctz(f);
        const at = load<i32>(ok + (<usize>l) * 4);
        store<i32>(ok + (<usize>l) * 4, at + 1);
        if (at < cap) store<i32>(fl + (<usize>(l * cap + at)) * 4, 2 * j + ((was >> l) & 1));
      }
    }
  }
  for (let l = 0; l < 4; l++) {
    const count = load<i32>(ok + (<usize>l) * 4);
    store<i32>(fo + (<usize>(l * (n + 2) + n + 1)) * 4, count);
    store<i32>(ok + (<usize>l) * 4, count <= cap ? 1 : 0);
  }
}

/** The terms +A_j (row 2 j) and -A_j (row 2 j + 1) of every lane l into tab + l * 2 w ROW: float64 of the float
 * A_j(c, i) of E (w * 9 v128 at c * 3 + i, the masked sums' layout) at i * 4 + c. */
function termsOf(E: usize, w: i32, tab: usize): void {
  const lane = (<usize>(2 * w)) * ROW;
  for (let j = 0; j < w; j++) {
    for (let l = 0; l < 4; l++) {
      const plus = tab + (<usize>l) * lane + (<usize>(2 * j)) * ROW;
      for (let i = 0; i < 3; i++) {
        for (let c = 0; c < 3; c++) {
          const a = <f64>load<f32>(E + (<usize>(j * 9 + c * 3 + i)) * V + (<usize>l) * 4);
          store<f64>(plus + (<usize>(i * 4 + c)) * 8, a);
          store<f64>(plus + ROW + (<usize>(i * 4 + c)) * 8, -a);
        }
        store<f64>(plus + (<usize>(i * 4 + 3)) * 8, 0.0);
        store<f64>(plus + ROW + (<usize>(i * 4 + 3)) * 8, 0.0);
      }
    }
  }
}

// One lane's moments E_j(i, c) = sum_mu 1[a_j>0] xt_i s_c along the tour in float64 rows of Ed: Q, the sum of xt_i s
// over the samples before mu (as (c0, c1) and (c2, 0) per i), is added to E_j where unit j turns off and subtracted
// where it turns on (negated: the same numbers as subtracting, a - b being a + (-b)). Shared by productAlong and
// momentsAlong.

/** Q into or out of unit f >> 1's row at its flip f. */
// @ts-ignore: decorator
@inline function flipMoments(Ed: usize, f: i32, qa0: v128, qb0: v128, qa1: v128, qb1: v128, qa2: v128, qb2: v128): void {
  const ej = Ed + (<usize>(f >> 1)) * ROW;
  if (!(f & 1)) {
    qa0 = f64x2.neg(qa0);
    qb0 = f64x2.neg(qb0);
    qa1 = f64x2.neg(qa1);
    qb1 = f64x2.neg(qb1);
    qa2 = f64x2.neg(qa2);
    qb2 = f64x2.neg(qb2);
  }
  v128.store(ej, f64x2.add(v128.load(ej), qa0));
  v128.store(ej, f64x2.add(v128.load(ej, 16), qb0), 16);
  v128.store(ej, f64x2.add(v128.load(ej, 32), qa1), 32);
  v128.store(ej, f64x2.add(v128.load(ej, 48), qb1), 48);
  v128.store(ej, f64x2.add(v128.load(ej, 64), qa2), 64);
  v128.store(ej, f64x2.add(v128.load(ej, 80), qb2), 80);
}

/** The rows of Ed as E_j(i, c) into e[j * 9 + i * 3 + c] (f32; i-major, as momentsOf). */
// @ts-ignore: decorator
@inline function storeMoments(Ed: usize, w: i32, e: usize): void {
  for (let j = 0; j < w; j++) {
    for (let i = 0; i < 3; i++) {
      for (let c = 0; c < 3; c++) {
        store<f32>(e + (<usize>(j * 9 + i * 3 + c)) * 4, <f32>load<f64>(Ed + (<usize>j) * ROW + (<usize>(i * 4 + c)) * 8));
      }
    }
  }
}

/** One lane's product along the tour, in one pass over its positions: the R-forward pass Rz_c(mu) = sum_i xt_i M(c, i)
 * + Vb2_c, the per-sample loss Hessian on it (the masked sums' tail, the same f32 operations lane by lane), s(mu),
 * summed into hb (3 f32), and the moments E_j(i, c) = sum_mu 1[a_j>0] xt_i s_c (as momentsAlong) into e[j * 9 + i * 3
 * + c] (f32). vb01, vb2z: the lane's Vb2 and a zero; pp: the lane's softmax p (lane-major, ce family); om: the lane's
 * weight table (om[y * 3 + c], f32); Ed: scratch of w rows. */
function productAlong(
  tab: usize, fl: usize, fo: usize, x: usize, y: usize, vb01: v128, vb2z: v128, n: i32, w: i32, ce: i32, pp: usize,
  om: usize, Ed: usize, e: usize, hb: usize,
): void {
  const invN = <f32>(1.0 / <f64>n);
  memory.fill(Ed, 0, (<usize>w) * ROW);
  // M at mu, and Q: the sum of xt_i s over the samples before mu, as (c0, c1) and (c2, 0) per i.
  let a0 = f64x2.splat(0), b0 = f64x2.splat(0), a1 = f64x2.splat(0), b1 = f64x2.splat(0), a2 = f64x2.splat(0), b2 = f64x2.splat(0);
  let qa0 = f64x2.splat(0), qb0 = f64x2.splat(0), qa1 = f64x2.splat(0), qb1 = f64x2.splat(0), qa2 = f64x2.splat(0), qb2 = f64x2.splat(0);
  let h0: f32 = 0, h1: f32 = 0, h2: f32 = 0;
  for (let mu = 0; mu <= n; mu++) {
    const end = load<i32>(fo + (<usize>(mu + 1)) * 4);
    for (let k = load<i32>(fo + (<usize>mu) * 4); k < end; k++) {
      const f = load<i32>(fl + (<usize>k) * 4);
      const t = tab + (<usize>f) * ROW;
      a0 = f64x2.add(a0, v128.load(t));
      b0 = f64x2.add(b0, v128.load(t, 16));
      a1 = f64x2.add(a1, v128.load(t, 32));
      b1 = f64x2.add(b1, v128.load(t, 48));
      a2 = f64x2.add(a2, v128.load(t, 64));
      b2 = f64x2.add(b2, v128.load(t, 80));
      flipMoments(Ed, f, qa0, qb0, qa1, qb1, qa2, qb2);
    }
    if (mu == n) break;
    const x0 = f64x2.splat(<f64>load<f32>(x + (<usize>mu) * 8));
    const x1 = f64x2.splat(<f64>load<f32>(x + (<usize>mu) * 8, 4));
    const r01 = f64x2.add(f64x2.add(f64x2.add(f64x2.mul(a0, x0), f64x2.mul(a1, x1)), a2), vb01);
    const r2z = f64x2.add(f64x2.add(f64x2.add(f64x2.mul(b0, x0), f64x2.mul(b1, x1)), b2), vb2z);
    const r0 = <f32>f64x2.extract_lane(r01, 0), r1 = <f32>f64x2.extract_lane(r01, 1), r2 = <f32>f64x2.extract_lane(r2z, 0);
    const o = om + (<usize>load<i32>(y + (<usize>mu) * 4)) * 12;
    let s0: f32, s1: f32, s2: f32;
    if (ce) {
      const gy = load<f32>(o) * invN;
      const p = pp + (<usize>mu) * 12;
      const p0 = load<f32>(p), p1 = load<f32>(p, 4), p2 = load<f32>(p, 8);
      const pr = (p0 * r0 + p1 * r1) + p2 * r2;
      s0 = gy * (p0 * (r0 - pr));
      s1 = gy * (p1 * (r1 - pr));
      s2 = gy * (p2 * (r2 - pr));
    } else {
      s0 = (load<f32>(o) * invN) * r0;
      s1 = (load<f32>(o, 4) * invN) * r1;
      s2 = (load<f32>(o, 8) * invN) * r2;
    }
    h0 += s0;
    h1 += s1;
    h2 += s2;
    const s01 = f64x2.replace_lane(f64x2.splat(<f64>s0), 1, <f64>s1);
    const s2z = f64x2.replace_lane(f64x2.splat(<f64>s2), 1, 0.0);
    qa0 = f64x2.add(qa0, f64x2.mul(x0, s01));
    qb0 = f64x2.add(qb0, f64x2.mul(x0, s2z));
    qa1 = f64x2.add(qa1, f64x2.mul(x1, s01));
    qb1 = f64x2.add(qb1, f64x2.mul(x1, s2z));
    qa2 = f64x2.add(qa2, s01);
    qb2 = f64x2.add(qb2, s2z);
  }
  store<f32>(hb, h0);
  store<f32>(hb, h1, 4);
  store<f32>(hb, h2, 8);
  storeMoments(Ed, w, e);
}

/** One lane's moments E_j(i, c) = sum_mu 1[a_j>0] xt_i s_c along the tour (s[mu * 3 + c], f32) into e[j * 9 + i * 3
 * + c] (i-major, as momentsOf); Ed: scratch of w rows. */
function momentsAlong(fl: usize, fo: usize, x: usize, s: usize, n: i32, w: i32, Ed: usize, e: usize): void {
  memory.fill(Ed, 0, (<usize>w) * ROW);
  // Q: the sum of xt_i s over the samples before mu, as (c0, c1) and (c2, 0) per i.
  let a0 = f64x2.splat(0), b0 = f64x2.splat(0), a1 = f64x2.splat(0), b1 = f64x2.splat(0), a2 = f64x2.splat(0), b2 = f64x2.splat(0);
  for (let mu = 0; mu <= n; mu++) {
    const end = load<i32>(fo + (<usize>(mu + 1)) * 4);
    for (let k = load<i32>(fo + (<usize>mu) * 4); k < end; k++) {
      const f = load<i32>(fl + (<usize>k) * 4);
      flipMoments(Ed, f, a0, b0, a1, b1, a2, b2);
    }
    if (mu == n) break;
    const x0 = f64x2.splat(<f64>load<f32>(x + (<usize>mu) * 8));
    const x1 = f64x2.splat(<f64>load<f32>(x + (<usize>mu) * 8, 4));
    const sp = s + (<usize>mu) * 12;
    const s01 = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(sp)), 1, <f64>load<f32>(sp, 4));
    const s2z = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(sp, 8)), 1, 0.0);
    a0 = f64x2.add(a0, f64x2.mul(x0, s01));
    b0 = f64x2.add(b0, f64x2.mul(x0, s2z));
    a1 = f64x2.add(a1, f64x2.mul(x1, s01));
    b1 = f64x2.add(b1, f64x2.mul(x1, s2z));
    a2 = f64x2.add(a2, s01);
    b2 = f64x2.add(b2, s2z);
  }
  storeMoments(Ed, w, e);
}

/** rows v128 of the lane layout into (toLanes = false: out of) lane-major rows m[l * stride + row], lanes with ok[l]. */
function laneMajor(v: usize, rows: i32, ok: usize, m: usize, stride: i32, toLanes: bool): void {
  for (let l = 0; l < 4; l++) {
    if (!load<i32>(ok + (<usize>l) * 4)) continue;
    const ml = m + (<usize>(l * stride)) * 4;
    for (let r = 0; r < rows; r++) {
      const at = v + (<usize>r) * V + (<usize>l) * 4;
      if (toLanes) store<f32>(ml + (<usize>r) * 4, load<f32>(at));
      else store<f32>(at, load<f32>(ml + (<usize>r) * 4));
    }
  }
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

/** out = H v for one block, given the cache of hvpStateBlock and hvpWeightsBlock: lanes with ok[l] along the tour, the others (if any) by
 * the masked sums. rdz: scratch n * 3 v128; E: scratch w * 9 v128; tab: 2 w rows per lane, Ed: w rows (float64);
 * perLaneW: 9 w f32 per lane; ppl: hvpStateBlock's lane-major p. */
export function hvpCachedBlock(
  th: usize, v: usize, out: usize, om: usize,
  x: usize, n: i32, w: i32, ce: i32, y: usize, pp: usize, D: usize, rdz: usize, E: usize,
  fl: usize, fo: usize, ok: usize, cap: i32, tab: usize, ppl: usize, perLaneW: usize, Ed: usize,
): void {
  const wb = (<usize>w) * V;
  const invN = f32x4.splat(<f32>(1.0 / <f64>n));
  const vb2 = v + 6 * wb;
  const ok0 = load<i32>(ok), ok1 = load<i32>(ok, 4), ok2 = load<i32>(ok, 8), ok3 = load<i32>(ok, 12);
  const masked = !(ok0 && ok1 && ok2 && ok3); // some lane runs the masked sums
  const along = ok0 || ok1 || ok2 || ok3; // some lane runs the tour
  // The R-forward pass Rz_c = sum_j Ra_j W2_jc + h_j V2_jc + Vb2_c as a masked sum of per-unit 3 x 3 terms:
  // Rz_c = sum_i xt_i M(c, i) + Vb2_c, M(c, i) = sum_j 1[a_j>0] A_j(c, i), A_j(c, i) = V1t_ij W2_jc + W1t_ij V2_jc
  // (per product, into E, free until the moments below): 9 adds per sample and unit instead of 2 dot products
  // and 6 multiply-adds (the native kernels add with a mask register).
  for (let j = 0; j < w; j++) {
    const aj = E + (<usize>j) * 9 * V;
    for (let c = 0; c < 3; c++) {
      const u = v128.load(th + 3 * wb + (<usize>(j * 3 + c)) * V);
      const g = v128.load(v + 3 * wb + (<usize>(j * 3 + c)) * V);
      for (let i = 0; i < 3; i++) {
        const t = f32x4.add(
          f32x4.mul(v128.load(v + (<usize>i) * wb + (<usize>j) * V), u),
          f32x4.mul(v128.load(th + (<usize>i) * wb + (<usize>j) * V), g),
        );
        v128.store(aj + (<usize>(c * 3 + i)) * V, t);
      }
    }
  }
  if (along) termsOf(E, w, tab);
  if (masked) {
    // Rz by the masked sums into rdz.
    for (let mu = 0; mu < n; mu++) {
      const xp = x + (<usize>mu) * 8;
      const x0 = v128.load32_splat(xp);
      const x1 = v128.load32_splat(xp, 4);
      let m00 = f32x4.splat(0), m01 = f32x4.splat(0), m02 = f32x4.splat(0);
      let m10 = f32x4.splat(0), m11 = f32x4.splat(0), m12 = f32x4.splat(0);
      let m20 = f32x4.splat(0), m21 = f32x4.splat(0), m22 = f32x4.splat(0);
      let p = th;
      let aj = E;
      const end = th + wb;
      while (p < end) {
        const a = f32x4.add(f32x4.add(f32x4.mul(x0, v128.load(p)), f32x4.mul(x1, v128.load(p + wb))), v128.load(p + 2 * wb));
        const m = f32x4.gt(a, f32x4.splat(0));
        m00 = f32x4.add(m00, v128.and(v128.load(aj), m));
        m01 = f32x4.add(m01, v128.and(v128.load(aj, 16), m));
        m02 = f32x4.add(m02, v128.and(v128.load(aj, 32), m));
        m10 = f32x4.add(m10, v128.and(v128.load(aj, 48), m));
        m11 = f32x4.add(m11, v128.and(v128.load(aj, 64), m));
        m12 = f32x4.add(m12, v128.and(v128.load(aj, 80), m));
        m20 = f32x4.add(m20, v128.and(v128.load(aj, 96), m));
        m21 = f32x4.add(m21, v128.and(v128.load(aj, 112), m));
        m22 = f32x4.add(m22, v128.and(v128.load(aj, 128), m));
        p += V;
        aj += 9 * V;
      }
      const rp = rdz + (<usize>mu) * 3 * V;
      v128.store(rp, f32x4.add(f32x4.add(f32x4.add(f32x4.mul(m00, x0), f32x4.mul(m01, x1)), m02), v128.load(vb2)));
      v128.store(rp, f32x4.add(f32x4.add(f32x4.add(f32x4.mul(m10, x0), f32x4.mul(m11, x1)), m12), v128.load(vb2, 16)), 16);
      v128.store(rp, f32x4.add(f32x4.add(f32x4.add(f32x4.mul(m20, x0), f32x4.mul(m21, x1)), m22), v128.load(vb2, 32)), 32);
    }
  }
  // s = (per-sample loss Hessian) Rz in place of Rz, summed into hb (the b2 part of the result).
  let hb0 = f32x4.splat(0), hb1 = f32x4.splat(0), hb2 = f32x4.splat(0);
  for (let mu = 0; masked && mu < n; mu++) {
    const sp = rdz + (<usize>mu) * 3 * V;
    const r0 = v128.load(sp), r1 = v128.load(sp, 16), r2 = v128.load(sp, 32);
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
  if (masked) momentsOf(th, x, n, w, rdz, E);
  // Lanes along the tour, one at a time.
  for (let l = 0; along && l < 4; l++) {
    if (!load<i32>(ok + (<usize>l) * 4)) continue;
    const lo = (<usize>l) * 4;
    for (let t = 0; t < 9; t++) store<f32>(LANE_OM + (<usize>t) * 4, load<f32>(om + (<usize>t) * V + lo));
    productAlong(
      tab + (<usize>(2 * w * l)) * ROW, fl + (<usize>(l * cap)) * 4, fo + (<usize>(l * (n + 2))) * 4, x, y,
      f64x2.replace_lane(f64x2.splat(<f64>load<f32>(vb2 + lo)), 1, <f64>load<f32>(vb2 + V + lo)),
      f64x2.replace_lane(f64x2.splat(<f64>load<f32>(vb2 + 2 * V + lo)), 1, 0.0), n, w, ce,
      ppl + (<usize>(3 * n * l)) * 4, LANE_OM, Ed, perLaneW + (<usize>(9 * w * l)) * 4, LANE_HB,
    );
    for (let c = 0; c < 3; c++) store<f32>(ob2 + (<usize>c) * V + lo, load<f32>(LANE_HB + (<usize>c) * 4));
  }
  if (along) laneMajor(E, 9 * w, ok, perLaneW, 9 * w, false);
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

// ==== Any shape: d inputs, width w, C classes ==========================================================
//
// The kernels above are the spirals' (d = 2, C = 3): activations recomputed, logits in registers. Every other
// shape runs the kernels below, which store the activations of a chunk of samples (a first layer with d >> 2
// is a real GEMM, too costly to recompute in every pass) and work chunk by chunk, so the scratch stays in L1/L2
// whatever the data size. Shapes are padded by the glue: dp = d rounded up to 2 (inputs), wp = w rounded up to 4
// (hidden units), samples to an even count; padded inputs are 0, padded units have zero weights (their
// pre-activation is 0, so ReLU'(0) = 0 gives them zero gradients forever), padded samples have label -1 (no
// loss, zero dz). A block's parameters: W1 (dp x wp, row i at i * wp), b1 (wp), W2 (wp x C), b2 (C), all v128.
// Register tiles: 2 samples x 4 units in the first layer (8 accumulators), 4 units in the second.

/** out[s, j] = bias[j] + sum_i X[s, i] W[i, j] (s < m, even; j < wp, multiple of 4), then ReLU (mask = 0) or
 * zeroed where mask[s, j] <= 0 (the R-forward pass: Ra masked by the forward pass's ReLU). */
export function l1Forward(W: usize, bias: usize, X: usize, m: i32, dp: i32, wp: i32, out: usize, mask: usize): void {
  const xs = (<usize>dp) * 4;
  const row = (<usize>wp) * V;
  const zero = f32x4.splat(0);
  for (let j = 0; j < wp; j += 4) {
    const bj = bias + (<usize>j) * V;
    const c0 = v128.load(bj), c1 = v128.load(bj, 16), c2 = v128.load(bj, 32), c3 = v128.load(bj, 48);
    for (let s = 0; s < m; s += 2) {
      const xa = X + (<usize>s) * xs;
      const xb = xa + xs;
      let a0 = c0, a1 = c1, a2 = c2, a3 = c3;
      let b0 = c0, b1 = c1, b2 = c2, b3 = c3;
      let wq = W + (<usize>j) * V;
      for (let i = 0; i < dp; i++) {
        const w0 = v128.load(wq), w1 = v128.load(wq, 16), w2 = v128.load(wq, 32), w3 = v128.load(wq, 48);
        const sa = v128.load32_splat(xa + (<usize>i) * 4);
        a0 = f32x4.add(a0, f32x4.mul(sa, w0));
        a1 = f32x4.add(a1, f32x4.mul(sa, w1));
        a2 = f32x4.add(a2, f32x4.mul(sa, w2));
        a3 = f32x4.add(a3, f32x4.mul(sa, w3));
        const sb = v128.load32_splat(xb + (<usize>i) * 4);
        b0 = f32x4.add(b0, f32x4.mul(sb, w0));
        b1 = f32x4.add(b1, f32x4.mul(sb, w1));
        b2 = f32x4.add(b2, f32x4.mul(sb, w2));
        b3 = f32x4.add(b3, f32x4.mul(sb, w3));
        wq += row;
      }
      const oa = out + (<usize>s) * row + (<usize>j) * V;
      const ob = oa + row;
      if (mask == 0) {
        v128.store(oa, f32x4.max(a0, zero));
        v128.store(oa, f32x4.max(a1, zero), 16);
        v128.store(oa, f32x4.max(a2, zero), 32);
        v128.store(oa, f32x4.max(a3, zero), 48);
        v128.store(ob, f32x4.max(b0, zero));
        v128.store(ob, f32x4.max(b1, zero), 16);
        v128.store(ob, f32x4.max(b2, zero), 32);
        v128.store(ob, f32x4.max(b3, zero), 48);
      } else {
        const ma = mask + (oa - out);
        const mb = ma + row;
        v128.store(oa, v128.and(a0, f32x4.gt(v128.load(ma), zero)));
        v128.store(oa, v128.and(a1, f32x4.gt(v128.load(ma, 16), zero)), 16);
        v128.store(oa, v128.and(a2, f32x4.gt(v128.load(ma, 32), zero)), 32);
        v128.store(oa, v128.and(a3, f32x4.gt(v128.load(ma, 48), zero)), 48);
        v128.store(ob, v128.and(b0, f32x4.gt(v128.load(mb), zero)));
        v128.store(ob, v128.and(b1, f32x4.gt(v128.load(mb, 16), zero)), 16);
        v128.store(ob, v128.and(b2, f32x4.gt(v128.load(mb, 32), zero)), 32);
        v128.store(ob, v128.and(b3, f32x4.gt(v128.load(mb, 48), zero)), 48);
      }
    }
  }
}

/** G[i, j] += sum_s X[s, i] D[s, j] (the first layer's weight gradient; tiles of 2 inputs x 4 units). */
function l1GradW(X: usize, D: usize, m: i32, dp: i32, wp: i32, G: usize): void {
  const xs = (<usize>dp) * 4;
  const row = (<usize>wp) * V;
  for (let j = 0; j < wp; j += 4) {
    for (let i = 0; i < dp; i += 2) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
      let dq = D + (<usize>j) * V;
      let xq = X + (<usize>i) * 4;
      for (let s = 0; s < m; s++) {
        const d0 = v128.load(dq), d1 = v128.load(dq, 16), d2 = v128.load(dq, 32), d3 = v128.load(dq, 48);
        const sa = v128.load32_splat(xq);
        const sb = v128.load32_splat(xq, 4);
        a0 = f32x4.add(a0, f32x4.mul(sa, d0));
        a1 = f32x4.add(a1, f32x4.mul(sa, d1));
        a2 = f32x4.add(a2, f32x4.mul(sa, d2));
        a3 = f32x4.add(a3, f32x4.mul(sa, d3));
        b0 = f32x4.add(b0, f32x4.mul(sb, d0));
        b1 = f32x4.add(b1, f32x4.mul(sb, d1));
        b2 = f32x4.add(b2, f32x4.mul(sb, d2));
        b3 = f32x4.add(b3, f32x4.mul(sb, d3));
        dq += row;
        xq += xs;
      }
      const ga = G + (<usize>i) * row + (<usize>j) * V;
      const gb = ga + row;
      v128.store(ga, f32x4.add(v128.load(ga), a0));
      v128.store(ga, f32x4.add(v128.load(ga, 16), a1), 16);
      v128.store(ga, f32x4.add(v128.load(ga, 32), a2), 32);
      v128.store(ga, f32x4.add(v128.load(ga, 48), a3), 48);
      v128.store(gb, f32x4.add(v128.load(gb), b0));
      v128.store(gb, f32x4.add(v128.load(gb, 16), b1), 16);
      v128.store(gb, f32x4.add(v128.load(gb, 32), b2), 32);
      v128.store(gb, f32x4.add(v128.load(gb, 48), b3), 48);
    }
  }
}

/** Z[s, c] += sum_j H[s, j] W2[j, c] (4 classes at a time, then one by one). */
function l2Acc(H: usize, W2: usize, m: i32, wp: i32, C: i32, Z: usize): void {
  const row = (<usize>wp) * V;
  const cs = (<usize>C) * V;
  for (let s = 0; s < m; s++) {
    const hs = H + (<usize>s) * row;
    const zs = Z + (<usize>s) * cs;
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      let z0 = f32x4.splat(0), z1 = f32x4.splat(0), z2 = f32x4.splat(0), z3 = f32x4.splat(0);
      let wq = W2 + (<usize>c) * V;
      for (let j = 0; j < wp; j++) {
        const h = v128.load(hs + (<usize>j) * V);
        z0 = f32x4.add(z0, f32x4.mul(h, v128.load(wq)));
        z1 = f32x4.add(z1, f32x4.mul(h, v128.load(wq, 16)));
        z2 = f32x4.add(z2, f32x4.mul(h, v128.load(wq, 32)));
        z3 = f32x4.add(z3, f32x4.mul(h, v128.load(wq, 48)));
        wq += cs;
      }
      const zc = zs + (<usize>c) * V;
      v128.store(zc, f32x4.add(v128.load(zc), z0));
      v128.store(zc, f32x4.add(v128.load(zc, 16), z1), 16);
      v128.store(zc, f32x4.add(v128.load(zc, 32), z2), 32);
      v128.store(zc, f32x4.add(v128.load(zc, 48), z3), 48);
    }
    for (; c < C; c++) {
      let z0 = f32x4.splat(0);
      let wq = W2 + (<usize>c) * V;
      for (let j = 0; j < wp; j++) {
        z0 = f32x4.add(z0, f32x4.mul(v128.load(hs + (<usize>j) * V), v128.load(wq)));
        wq += cs;
      }
      const zc = zs + (<usize>c) * V;
      v128.store(zc, f32x4.add(v128.load(zc), z0));
    }
  }
}

/** G[j, c] += sum_s H[s, j] D[s, c] (the second layer's weight gradient; 4 units at a time). */
function l2GradW(H: usize, D: usize, m: i32, wp: i32, C: i32, G: usize): void {
  const row = (<usize>wp) * V;
  const cs = (<usize>C) * V;
  for (let j = 0; j < wp; j += 4) {
    for (let c = 0; c < C; c++) {
      let g0 = f32x4.splat(0), g1 = f32x4.splat(0), g2 = f32x4.splat(0), g3 = f32x4.splat(0);
      let hq = H + (<usize>j) * V;
      let dq = D + (<usize>c) * V;
      for (let s = 0; s < m; s++) {
        const dz = v128.load(dq);
        g0 = f32x4.add(g0, f32x4.mul(v128.load(hq), dz));
        g1 = f32x4.add(g1, f32x4.mul(v128.load(hq, 16), dz));
        g2 = f32x4.add(g2, f32x4.mul(v128.load(hq, 32), dz));
        g3 = f32x4.add(g3, f32x4.mul(v128.load(hq, 48), dz));
        hq += row;
        dq += cs;
      }
      const gj = G + ((<usize>j) * cs) + (<usize>c) * V;
      v128.store(gj, f32x4.add(v128.load(gj), g0));
      v128.store(gj + cs, f32x4.add(v128.load(gj + cs), g1));
      v128.store(gj + 2 * cs, f32x4.add(v128.load(gj + 2 * cs), g2));
      v128.store(gj + 3 * cs, f32x4.add(v128.load(gj + 3 * cs), g3));
    }
  }
}

/** out[s, j] (= or, with acc, +=) sum_c W2[j, c] D[s, c]; then, when mask != 0, zeroed where mask[s, j] <= 0. */
function l2Back(D: usize, W2: usize, m: i32, wp: i32, C: i32, out: usize, acc: i32, mask: usize): void {
  const row = (<usize>wp) * V;
  const cs = (<usize>C) * V;
  const zero = f32x4.splat(0);
  for (let s = 0; s < m; s++) {
    const ds = D + (<usize>s) * cs;
    const os = out + (<usize>s) * row;
    for (let j = 0; j < wp; j += 4) {
      const oj = os + (<usize>j) * V;
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
      if (acc) {
        a0 = v128.load(oj);
        a1 = v128.load(oj, 16);
        a2 = v128.load(oj, 32);
        a3 = v128.load(oj, 48);
      }
      const wj = W2 + (<usize>j) * cs;
      for (let c = 0; c < C; c++) {
        const dz = v128.load(ds + (<usize>c) * V);
        const wc = wj + (<usize>c) * V;
        a0 = f32x4.add(a0, f32x4.mul(dz, v128.load(wc)));
        a1 = f32x4.add(a1, f32x4.mul(dz, v128.load(wc + cs)));
        a2 = f32x4.add(a2, f32x4.mul(dz, v128.load(wc + 2 * cs)));
        a3 = f32x4.add(a3, f32x4.mul(dz, v128.load(wc + 3 * cs)));
      }
      if (mask != 0) {
        const mj = mask + (oj - out);
        a0 = v128.and(a0, f32x4.gt(v128.load(mj), zero));
        a1 = v128.and(a1, f32x4.gt(v128.load(mj, 16), zero));
        a2 = v128.and(a2, f32x4.gt(v128.load(mj, 32), zero));
        a3 = v128.and(a3, f32x4.gt(v128.load(mj, 48), zero));
      }
      v128.store(oj, a0);
      v128.store(oj, a1, 16);
      v128.store(oj, a2, 32);
      v128.store(oj, a3, 48);
    }
  }
}

/** out[c] += sum_s src[s, c] for c < cols. */
function colSum(src: usize, m: i32, cols: i32, out: usize): void {
  const rs = (<usize>cols) * V;
  for (let c = 0; c < cols; c++) {
    let a = f32x4.splat(0);
    let q = src + (<usize>c) * V;
    for (let s = 0; s < m; s++) {
      a = f32x4.add(a, v128.load(q));
      q += rs;
    }
    const o = out + (<usize>c) * V;
    v128.store(o, f32x4.add(v128.load(o), a));
  }
}

/** Z[s, c] = b2[c]. */
function fillRows(Z: usize, b2: usize, m: i32, C: i32): void {
  const cs = (<usize>C) * V;
  for (let s = 0; s < m; s++) memory.copy(Z + (<usize>s) * cs, b2, cs);
}

/**
 * Per sample of a chunk: loss (weighted by the table om, C x C v128; summed into lossOut, 4 f64), dz = dl/dz / N
 * into Dz and, when P != 0 (ce family), p = softmax(z) into P. Z is overwritten (exps). Label -1: padding.
 */
function lossChunk(Z: usize, om: usize, y: usize, m: i32, C: i32, ce: i32, invN: v128, Dz: usize, P: usize, lossOut: usize): void {
  const cs = (<usize>C) * V;
  const zero = f32x4.splat(0);
  for (let s = 0; s < m; s++) {
    const yl = load<i32>(y + (<usize>s) * 4);
    const zs = Z + (<usize>s) * cs;
    const ds = Dz + (<usize>s) * cs;
    if (yl < 0) {
      memory.fill(ds, 0, cs);
      if (P != 0) memory.fill(P + (<usize>s) * cs, 0, cs);
      continue;
    }
    const o = om + (<usize>yl) * cs;
    if (ce) {
      const zy = v128.load(zs + (<usize>yl) * V);
      let mx = v128.load(zs);
      for (let c = 1; c < C; c++) mx = f32x4.max(mx, v128.load(zs + (<usize>c) * V));
      let sum = zero;
      for (let c = 0; c < C; c++) {
        const e = vexp(f32x4.sub(v128.load(zs + (<usize>c) * V), mx));
        v128.store(zs + (<usize>c) * V, e);
        sum = f32x4.add(sum, e);
      }
      const gy = v128.load(o);
      addF64(lossOut, f32x4.mul(gy, f32x4.sub(f32x4.add(mx, vlog(sum)), zy)));
      const inv = f32x4.div(f32x4.splat(1.0), sum);
      const g = f32x4.mul(gy, invN);
      for (let c = 0; c < C; c++) {
        const p = f32x4.mul(v128.load(zs + (<usize>c) * V), inv);
        if (P != 0) v128.store(P + (<usize>s) * cs + (<usize>c) * V, p);
        v128.store(ds + (<usize>c) * V, f32x4.mul(g, f32x4.sub(p, onehot(yl, c))));
      }
    } else {
      let l = zero;
      for (let c = 0; c < C; c++) {
        const e = f32x4.sub(v128.load(zs + (<usize>c) * V), onehot(yl, c));
        const t = f32x4.mul(v128.load(o + (<usize>c) * V), e);
        l = f32x4.add(l, f32x4.mul(t, e));
        v128.store(ds + (<usize>c) * V, f32x4.mul(t, invN));
      }
      addF64(lossOut, f32x4.mul(f32x4.splat(0.5), l));
    }
  }
}

/** Rdz of a chunk from Rz (and P, ce family): ce Gamma_y / N p (Rz - p.Rz); mse om / N Rz. Into Rdz. */
function rdzChunk(Rz: usize, P: usize, om: usize, y: usize, m: i32, C: i32, ce: i32, invN: v128, Rdz: usize): void {
  const cs = (<usize>C) * V;
  for (let s = 0; s < m; s++) {
    const yl = load<i32>(y + (<usize>s) * 4);
    const rs = Rz + (<usize>s) * cs;
    const os = Rdz + (<usize>s) * cs;
    if (yl < 0) {
      memory.fill(os, 0, cs);
      continue;
    }
    const o = om + (<usize>yl) * cs;
    if (ce) {
      const ps = P + (<usize>s) * cs;
      let pr = f32x4.splat(0);
      for (let c = 0; c < C; c++) pr = f32x4.add(pr, f32x4.mul(v128.load(ps + (<usize>c) * V), v128.load(rs + (<usize>c) * V)));
      const g = f32x4.mul(v128.load(o), invN);
      for (let c = 0; c < C; c++) {
        const cv = (<usize>c) * V;
        v128.store(os + cv, f32x4.mul(g, f32x4.mul(v128.load(ps + cv), f32x4.sub(v128.load(rs + cv), pr))));
      }
    } else {
      for (let c = 0; c < C; c++) {
        const cv = (<usize>c) * V;
        v128.store(os + cv, f32x4.mul(f32x4.mul(v128.load(o + cv), invN), v128.load(rs + cv)));
      }
    }
  }
}

/** Logits of the chunk at samples [s0, s0 + m): H (m x wp) and Z (m x C). */
// @ts-ignore: decorator
@inline function forwardChunk(th: usize, X: usize, m: i32, dp: i32, wp: i32, C: i32, H: usize, Z: usize): void {
  const wb = (<usize>wp) * V;
  const b1 = th + (<usize>dp) * wb;
  const W2 = b1 + wb;
  const b2 = W2 + (<usize>C) * wb;
  l1Forward(th, b1, X, m, dp, wp, H, 0);
  fillRows(Z, b2, m, C);
  l2Acc(H, W2, m, wp, C, Z);
}

/** Number of v128 parameters of a padded block. */
// @ts-ignore: decorator
@inline function paddedParams(dp: i32, wp: i32, C: i32): usize {
  return (<usize>dp) * wp + wp + (<usize>wp) * C + C;
}

/**
 * stepBlock for any shape: loss (4 f64 into lossOut) and the gradient into grad; with update = 1 then
 * theta <- theta - lr * grad in lanes whose act mask is set. x: np x dp f32 (np even), y: np labels (-1: pad),
 * n: the real sample count. Scratch: H, G (S x wp v128 each), Z, Dz (S x C v128 each); S even.
 */
export function stepAny(
  th: usize, grad: usize, lr: usize, act: usize, om: usize, x: usize, y: usize, np: i32, n: i32,
  dp: i32, wp: i32, C: i32, ce: i32, S: i32, H: usize, G: usize, Z: usize, Dz: usize, lossOut: usize, update: i32,
): void {
  const Pp = paddedParams(dp, wp, C);
  const wb = (<usize>wp) * V;
  memory.fill(grad, 0, Pp * V);
  v128.store(lossOut, f64x2.splat(0));
  v128.store(lossOut, f64x2.splat(0), 16);
  const invN = f32x4.splat(<f32>(1.0 / <f64>n));
  const gb1 = grad + (<usize>dp) * wb;
  const gW2 = gb1 + wb;
  const gb2 = gW2 + (<usize>C) * wb;
  const W2 = th + (<usize>dp) * wb + wb;
  for (let s0 = 0; s0 < np; s0 += S) {
    const m = min(S, np - s0);
    const X = x + (<usize>s0) * dp * 4;
    forwardChunk(th, X, m, dp, wp, C, H, Z);
    lossChunk(Z, om, y + (<usize>s0) * 4, m, C, ce, invN, Dz, 0, lossOut);
    colSum(Dz, m, C, gb2);
    l2GradW(H, Dz, m, wp, C, gW2);
    l2Back(Dz, W2, m, wp, C, G, 0, H);
    colSum(G, m, wp, gb1);
    l1GradW(X, G, m, dp, wp, grad);
  }
  if (update) {
    const lrv = v128.load(lr);
    const am = v128.load(act);
    for (let i: usize = 0; i < Pp; i++) {
      const p = th + i * V;
      const t = v128.load(p);
      v128.store(p, v128.bitselect(f32x4.sub(t, f32x4.mul(lrv, v128.load(grad + i * V))), t, am));
    }
  }
  const invNd = 1.0 / <f64>n;
  v128.store(lossOut, f64x2.mul(v128.load(lossOut), f64x2.splat(invNd)));
  v128.store(lossOut, f64x2.mul(v128.load(lossOut, 16), f64x2.splat(invNd)), 16);
}

/** evalBlock for any shape (same output layout: loss, static loss, accuracy, 4 f64 each). */
export function evalAny(
  th: usize, om: usize, x: usize, y: usize, np: i32, n: i32, dp: i32, wp: i32, C: i32, ce: i32, S: i32,
  H: usize, Z: usize, out: usize,
): void {
  for (let i = 0; i < 6; i++) v128.store(out + (<usize>i) * V, f64x2.splat(0));
  const cs = (<usize>C) * V;
  const zero = f32x4.splat(0);
  for (let s0 = 0; s0 < np; s0 += S) {
    const m = min(S, np - s0);
    forwardChunk(th, x + (<usize>s0) * dp * 4, m, dp, wp, C, H, Z);
    for (let s = 0; s < m; s++) {
      const yl = load<i32>(y + (<usize>(s0 + s)) * 4);
      if (yl < 0) continue;
      const zs = Z + (<usize>s) * cs;
      const o = om + (<usize>yl) * cs;
      const zy = v128.load(zs + (<usize>yl) * V);
      // argmax == y, first maximum wins (as the reference): z_y > z_c for c < y, z_y >= z_c for c > y.
      let ok = f32x4.eq(zy, zy);
      for (let c = 0; c < C; c++) {
        if (c == yl) continue;
        const zc = v128.load(zs + (<usize>c) * V);
        ok = v128.and(ok, c < yl ? f32x4.gt(zy, zc) : f32x4.ge(zy, zc));
      }
      addF64(out + 64, v128.and(ok, f32x4.splat(1.0)));
      if (ce) {
        let mx = v128.load(zs);
        for (let c = 1; c < C; c++) mx = f32x4.max(mx, v128.load(zs + (<usize>c) * V));
        let sum = zero;
        for (let c = 0; c < C; c++) sum = f32x4.add(sum, vexp(f32x4.sub(v128.load(zs + (<usize>c) * V), mx)));
        const ls = f32x4.sub(f32x4.add(mx, vlog(sum)), zy);
        addF64(out + 32, ls);
        addF64(out, f32x4.mul(v128.load(o), ls));
      } else {
        let ls = zero;
        let l = zero;
        for (let c = 0; c < C; c++) {
          const e = f32x4.sub(v128.load(zs + (<usize>c) * V), onehot(yl, c));
          const q = f32x4.mul(e, e);
          ls = f32x4.add(ls, q);
          l = f32x4.add(l, f32x4.mul(v128.load(o + (<usize>c) * V), q));
        }
        addF64(out + 32, f32x4.mul(f32x4.splat(0.5), ls));
        addF64(out, f32x4.mul(f32x4.splat(0.5), l));
      }
    }
  }
  const invNd = 1.0 / <f64>n;
  for (let i = 0; i < 6; i++) {
    const p = out + (<usize>i) * V;
    v128.store(p, f64x2.mul(v128.load(p), f64x2.splat(invNd)));
  }
}

/**
 * out = H v for one block, any shape, by the R-operator (as the reference kernel; no per-state cache).
 * Scratch: H, RH, RdA (S x wp v128 each), Z, Dz, P, Rz, Rdz (S x C v128 each), loss (4 f64, discarded).
 */
export function hvpAny(
  th: usize, v: usize, out: usize, om: usize, x: usize, y: usize, np: i32, n: i32, dp: i32, wp: i32, C: i32,
  ce: i32, S: i32, H: usize, RH: usize, RdA: usize, Z: usize, Dz: usize, P: usize, Rz: usize, Rdz: usize, loss: usize,
): void {
  const Pp = paddedParams(dp, wp, C);
  const wb = (<usize>wp) * V;
  memory.fill(out, 0, Pp * V);
  const invN = f32x4.splat(<f32>(1.0 / <f64>n));
  const W2 = th + (<usize>dp) * wb + wb;
  const c1 = v + (<usize>dp) * wb;
  const V2 = c1 + wb;
  const c2 = V2 + (<usize>C) * wb;
  const hb1 = out + (<usize>dp) * wb;
  const hW2 = hb1 + wb;
  const hb2 = hW2 + (<usize>C) * wb;
  for (let s0 = 0; s0 < np; s0 += S) {
    const m = min(S, np - s0);
    const X = x + (<usize>s0) * dp * 4;
    const ys = y + (<usize>s0) * 4;
    forwardChunk(th, X, m, dp, wp, C, H, Z);
    lossChunk(Z, om, ys, m, C, ce, invN, Dz, ce ? P : 0, loss);
    // R forward: RH = 1[a > 0] (V1^T x + c1), Rz = W2^T RH + V2^T h + c2.
    l1Forward(v, c1, X, m, dp, wp, RH, H);
    fillRows(Rz, c2, m, C);
    l2Acc(RH, W2, m, wp, C, Rz);
    l2Acc(H, V2, m, wp, C, Rz);
    rdzChunk(Rz, P, om, ys, m, C, ce, invN, Rdz);
    // R backward: H_W2 = RH^T dz + H^T Rdz, H_b2 = sum Rdz, RdA = 1[a > 0] (V2 dz + W2 Rdz), H_W1t = xt^T RdA.
    colSum(Rdz, m, C, hb2);
    l2GradW(RH, Dz, m, wp, C, hW2);
    l2GradW(H, Rdz, m, wp, C, hW2);
    l2Back(Dz, V2, m, wp, C, RdA, 0, 0);
    l2Back(Rdz, W2, m, wp, C, RdA, 1, H);
    colSum(RdA, m, wp, hb1);
    l1GradW(X, RdA, m, dp, wp, out);
  }
}
