// The spirals kernels (d = 2 inputs, C = 3 classes) of asm/fast-kernel.ts, ported operation for operation to the
// lane types of simd.h: the same sums in the same order (the loops too, except where a comment says so), the same
// exp/log polynomials, so every lane computes the bit-identical float32 numbers of the wasm kernel (test/unit/fast-native.test.ts), with
// S::L trials per vector instead of 4. Layouts are the wasm kernel's with 4 lanes replaced by L: a block's
// parameters are (6 w + 3) vectors in the flat order of core/kernel.ts; x holds (x0, x1) float pairs, y int32
// labels; om the 9-vector weight table om[y][c]. Comments on the maths: asm/fast-kernel.ts.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>
#include "simd.h"

namespace {
namespace spirals {

using S = Simd;
using F = S::F;
using I = S::I;
using M = S::M;
constexpr int L = S::L;

inline F vexp(F x) {
  x = S::maxw(x, S::splat(-87.0f));
  const F n = S::nearest(S::mul(x, S::splat(static_cast<float>(1.44269504088896341))));
  F r = S::sub(x, S::mul(n, S::splat(static_cast<float>(0.693359375))));
  r = S::sub(r, S::mul(n, S::splat(static_cast<float>(-2.12194440e-4))));
  F p = S::splat(static_cast<float>(1.9875691500e-4));
  p = S::add(S::mul(p, r), S::splat(static_cast<float>(1.3981999507e-3)));
  p = S::add(S::mul(p, r), S::splat(static_cast<float>(8.3334519073e-3)));
  p = S::add(S::mul(p, r), S::splat(static_cast<float>(4.1665795894e-2)));
  p = S::add(S::mul(p, r), S::splat(static_cast<float>(1.6666665459e-1)));
  p = S::add(S::mul(p, r), S::splat(static_cast<float>(5.0000001201e-1)));
  p = S::add(S::add(S::mul(S::mul(p, r), r), r), S::splat(1.0f));
  const I e = S::shl23(S::iadd(S::truncSat(n), S::isplat(127)));
  return S::mul(p, S::asFloat(e));
}

inline F vlog(F s) {
  const I bits = S::asInt(s);
  I e = S::isub(S::shr23(bits), S::isplat(127));
  F m = S::asFloat(S::ior(S::iand(bits, S::isplat(0x007fffff)), S::isplat(0x3f800000)));
  const M big = S::gt(m, S::splat(static_cast<float>(1.41421356)));
  m = S::select(S::mul(m, S::splat(0.5f)), m, big);
  e = S::incWhere(e, big);
  const F fe = S::cvt(e);
  const F x = S::sub(m, S::splat(1.0f));
  const F z = S::mul(x, x);
  F y = S::splat(static_cast<float>(7.0376836292e-2));
  y = S::add(S::mul(y, x), S::splat(static_cast<float>(-1.1514610310e-1)));
  y = S::add(S::mul(y, x), S::splat(static_cast<float>(1.1676998740e-1)));
  y = S::add(S::mul(y, x), S::splat(static_cast<float>(-1.2420140846e-1)));
  y = S::add(S::mul(y, x), S::splat(static_cast<float>(1.4249322787e-1)));
  y = S::add(S::mul(y, x), S::splat(static_cast<float>(-1.6668057665e-1)));
  y = S::add(S::mul(y, x), S::splat(static_cast<float>(2.0000714765e-1)));
  y = S::add(S::mul(y, x), S::splat(static_cast<float>(-2.4999993993e-1)));
  y = S::add(S::mul(y, x), S::splat(static_cast<float>(3.3333331174e-1)));
  y = S::mul(S::mul(y, x), z);
  y = S::add(y, S::mul(fe, S::splat(static_cast<float>(-2.12194440e-4))));
  y = S::sub(y, S::mul(z, S::splat(0.5f)));
  const F r = S::add(S::add(x, y), S::mul(fe, S::splat(static_cast<float>(0.693359375))));
  return S::add(r, S::mul(s, S::splat(0.0f)));
}

/** The softmax's pieces for logits z: m = max z and e_c = exp(z_c - m) (vexp's domain), in the order every kernel
 * here uses them (the training step, the evaluation and the hvp's cache). */
struct ShiftedExp {
  F m, e0, e1, e2;
  ShiftedExp(F z0, F z1, F z2) : m(S::maxw(z0, S::maxw(z1, z2))), e0(vexp(S::sub(z0, m))), e1(vexp(S::sub(z1, m))), e2(vexp(S::sub(z2, m))) {}
  /** e0 + e1 + e2. */
  F sum() const { return S::add(S::add(e0, e1), e2); }
};

inline F onehot(int32_t y, int c) { return S::splat(y == c ? 1.0f : 0.0f); }
inline F pick(int32_t y, F z0, F z1, F z2) { return y == 0 ? z0 : y == 1 ? z1 : z2; }
inline void zeroF64(double* p, int vectors) { std::memset(p, 0, sizeof(double) * L * vectors); }
inline void scaleF64(double* p, int vectors, double s) {
  for (int i = 0; i < L * vectors; i++) p[i] *= s;
}

/** Logits of sample (x0, x1): b2 + sum_j relu(W1t_j . xt) W2_j, units in order; unit(j, a) sees each pre-activation. */
template <class Unit>
inline void logits(const float* th, int w, F x0, F x1, F& z0, F& z1, F& z2, Unit unit) {
  const float* b2 = th + 6 * w * L;
  z0 = S::load(b2);
  z1 = S::load(b2 + L);
  z2 = S::load(b2 + 2 * L);
  const float* p = th;
  const float* q = th + 3 * w * L;
  for (int j = 0; j < w; j++, p += L, q += 3 * L) {
    const F a = S::add(S::add(S::mul(x0, S::load(p)), S::mul(x1, S::load(p + w * L))), S::load(p + 2 * w * L));
    unit(j, a);
    const F h = S::relu(a);
    z0 = S::add(z0, S::mul(h, S::load(q)));
    z1 = S::add(z1, S::mul(h, S::load(q + L)));
    z2 = S::add(z2, S::mul(h, S::load(q + 2 * L)));
  }
}
inline void logits(const float* th, int w, F x0, F x1, F& z0, F& z1, F& z2) {
  logits(th, w, x0, x1, z0, z1, z2, [](int, F) {});
}

inline void stepBlock(float* th, float* grad, const float* lr, const int32_t* act, const float* om, const float* x,
                      const int32_t* y, int n, int w, int ce, float* dz, double* lossOut, int update) {
  const F invN = S::splat(static_cast<float>(1.0 / static_cast<double>(n)));
  zeroF64(lossOut, 1);
  F gb0 = S::splat(0.0f), gb1 = S::splat(0.0f), gb2 = S::splat(0.0f);
  for (int mu = 0; mu < n; mu++) {
    const F x0 = S::splat(x[2 * mu]);
    const F x1 = S::splat(x[2 * mu + 1]);
    F z0, z1, z2;
    logits(th, w, x0, x1, z0, z1, z2);
    const int32_t yl = y[mu];
    float* dp = dz + mu * 3 * L;
    F l, d0, d1, d2;
    if (ce) {
      const F gy = S::load(om + yl * 3 * L);
      const ShiftedExp sm(z0, z1, z2);
      const F s = sm.sum();
      const F inv = S::div(S::splat(1.0f), s);
      l = S::mul(gy, S::sub(S::add(sm.m, vlog(s)), pick(yl, z0, z1, z2)));
      const F g = S::mul(gy, invN);
      d0 = S::mul(g, S::sub(S::mul(sm.e0, inv), onehot(yl, 0)));
      d1 = S::mul(g, S::sub(S::mul(sm.e1, inv), onehot(yl, 1)));
      d2 = S::mul(g, S::sub(S::mul(sm.e2, inv), onehot(yl, 2)));
    } else {
      const float* o = om + yl * 3 * L;
      const F e0 = S::sub(z0, onehot(yl, 0));
      const F e1 = S::sub(z1, onehot(yl, 1));
      const F e2 = S::sub(z2, onehot(yl, 2));
      const F t0 = S::mul(S::load(o), e0);
      const F t1 = S::mul(S::load(o + L), e1);
      const F t2 = S::mul(S::load(o + 2 * L), e2);
      l = S::mul(S::splat(0.5f), S::add(S::add(S::mul(t0, e0), S::mul(t1, e1)), S::mul(t2, e2)));
      d0 = S::mul(t0, invN);
      d1 = S::mul(t1, invN);
      d2 = S::mul(t2, invN);
    }
    S::store(dp, d0);
    S::store(dp + L, d1);
    S::store(dp + 2 * L, d2);
    gb0 = S::add(gb0, d0);
    gb1 = S::add(gb1, d1);
    gb2 = S::add(gb2, d2);
    S::addF64(lossOut, l);
  }
  const F lrv = S::load(lr);
  const M am = S::loadMask(act);
  const F zero = S::splat(0.0f);
  for (int j = 0; j < w; j++) {
    float* pj = th + j * L;
    float* qj = th + 3 * w * L + j * 3 * L;
    const F w10 = S::load(pj), w11 = S::load(pj + w * L), b1 = S::load(pj + 2 * w * L);
    const F w20 = S::load(qj), w21 = S::load(qj + L), w22 = S::load(qj + 2 * L);
    F g10 = zero, g11 = zero, gb = zero, g20 = zero, g21 = zero, g22 = zero;
    const float* dq = dz;
    for (int mu = 0; mu < n; mu++, dq += 3 * L) {
      const F x0 = S::splat(x[2 * mu]);
      const F x1 = S::splat(x[2 * mu + 1]);
      const F a = S::add(S::add(S::mul(x0, w10), S::mul(x1, w11)), b1);
      const M m = S::gt(a, zero);
      const F h = S::keep(a, m);
      const F d0 = S::load(dq), d1 = S::load(dq + L), d2 = S::load(dq + 2 * L);
      g20 = S::add(g20, S::mul(h, d0));
      g21 = S::add(g21, S::mul(h, d1));
      g22 = S::add(g22, S::mul(h, d2));
      const F da = S::keep(S::add(S::add(S::mul(w20, d0), S::mul(w21, d1)), S::mul(w22, d2)), m);
      gb = S::add(gb, da);
      g10 = S::add(g10, S::mul(x0, da));
      g11 = S::add(g11, S::mul(x1, da));
    }
    if (update) {
      S::store(pj, S::select(S::sub(w10, S::mul(lrv, g10)), w10, am));
      S::store(pj + w * L, S::select(S::sub(w11, S::mul(lrv, g11)), w11, am));
      S::store(pj + 2 * w * L, S::select(S::sub(b1, S::mul(lrv, gb)), b1, am));
      S::store(qj, S::select(S::sub(w20, S::mul(lrv, g20)), w20, am));
      S::store(qj + L, S::select(S::sub(w21, S::mul(lrv, g21)), w21, am));
      S::store(qj + 2 * L, S::select(S::sub(w22, S::mul(lrv, g22)), w22, am));
    } else {
      float* gj = grad + j * L;
      float* hj = grad + 3 * w * L + j * 3 * L;
      S::store(gj, g10);
      S::store(gj + w * L, g11);
      S::store(gj + 2 * w * L, gb);
      S::store(hj, g20);
      S::store(hj + L, g21);
      S::store(hj + 2 * L, g22);
    }
  }
  float* b2 = th + 6 * w * L;
  if (update) {
    const F c0 = S::load(b2), c1 = S::load(b2 + L), c2 = S::load(b2 + 2 * L);
    S::store(b2, S::select(S::sub(c0, S::mul(lrv, gb0)), c0, am));
    S::store(b2 + L, S::select(S::sub(c1, S::mul(lrv, gb1)), c1, am));
    S::store(b2 + 2 * L, S::select(S::sub(c2, S::mul(lrv, gb2)), c2, am));
  } else {
    float* g2 = grad + 6 * w * L;
    S::store(g2, gb0);
    S::store(g2 + L, gb1);
    S::store(g2 + 2 * L, gb2);
  }
  scaleF64(lossOut, 1, 1.0 / static_cast<double>(n));
}

/** Loss with the table om, static loss and accuracy, L f64 each into out[0..3L). */
inline void evalBlock(const float* th, const float* om, const float* x, const int32_t* y, int n, int w, int ce, double* out) {
  zeroF64(out, 3);
  for (int mu = 0; mu < n; mu++) {
    F z0, z1, z2;
    logits(th, w, S::splat(x[2 * mu]), S::splat(x[2 * mu + 1]), z0, z1, z2);
    const int32_t yl = y[mu];
    F l, ls;
    if (ce) {
      const ShiftedExp sm(z0, z1, z2);
      ls = S::sub(S::add(sm.m, vlog(sm.sum())), pick(yl, z0, z1, z2));
      l = S::mul(S::load(om + yl * 3 * L), ls);
    } else {
      const float* o = om + yl * 3 * L;
      const F e0 = S::sub(z0, onehot(yl, 0));
      const F e1 = S::sub(z1, onehot(yl, 1));
      const F e2 = S::sub(z2, onehot(yl, 2));
      const F q0 = S::mul(e0, e0), q1 = S::mul(e1, e1), q2 = S::mul(e2, e2);
      ls = S::mul(S::splat(0.5f), S::add(S::add(q0, q1), q2));
      l = S::mul(S::splat(0.5f), S::add(S::add(S::mul(S::load(o), q0), S::mul(S::load(o + L), q1)), S::mul(S::load(o + 2 * L), q2)));
    }
    S::addF64(out, l);
    S::addF64(out + L, ls);
    M ok;
    if (yl == 0) ok = S::both(S::ge(z0, z1), S::ge(z0, z2));
    else if (yl == 1) ok = S::both(S::gt(z1, z0), S::ge(z1, z2));
    else ok = S::both(S::gt(z2, z0), S::gt(z2, z1));
    S::addF64(out + 2 * L, S::one(ok));
  }
  scaleF64(out, 3, 1.0 / static_cast<double>(n));
}

// ---- Products along a sample tour (the flip path; asm/fast-kernel.ts: the same arithmetic for 4 lanes) -------------
// The hvp's two passes are masked sums over samples and units: M(mu) = sum_j 1[a_j(mu) > 0] A_j (forward) and
// E_j = sum_mu 1[a_j(mu) > 0] q(mu) (backward), 9 numbers each. The glue orders the training samples along a short
// tour of the input plane (core/engines/sample-tour.ts), so consecutive samples lie on the same side of most of the
// hidden units' lines: a lane's masks change at a few percent of its (sample, unit) pairs. Along the tour M is a
// running sum that changes only where a mask flips, and E_j is a sum of prefix sums of q taken where unit j's mask
// flips; a product then costs per lane O(flips + samples) instead of O(samples x units). Both sums run in float64
// (a running sum of +-A_j over thousands of flips, differences of prefix sums), lane by lane, in the order of the
// flip lists, so every lane's numbers depend on its own trial only (never on the lane count or its block mates).
// A lane whose flips do not fit its list (cap entries, 0 for small problems and narrow layers) runs the masked sums
// below instead.
// A 3 x 3 term in float64 is three 4-vectors, one per input i = (x0, x1, 1), holding its classes c = 0, 1, 2 and a
// zero: the running sum's Rz = (M_0 x0 + M_1 x1) + M_2 is then two products and two adds of 4-vectors. GCC vector
// types: elementwise IEEE operations, so the same numbers as the wasm kernel's f64x2 pairs.
constexpr int kRow = 12;
typedef double D4 __attribute__((vector_size(32)));
typedef double D4u __attribute__((vector_size(32), aligned(8)));
typedef float F4 __attribute__((vector_size(16)));
typedef long long I4 __attribute__((vector_size(32)));
inline D4 load4(const double* p) { return *reinterpret_cast<const D4u*>(p); }
inline void store4(double* p, D4 v) { *reinterpret_cast<D4u*>(p) = v; }

/** The flip lists of a block: for lane l, fl[l * cap + ...] holds 2 j + (1 if unit j was on) for every unit j whose
 * mask differs between samples mu - 1 and mu (all off before sample 0 and after sample n - 1), positions mu = 0..n
 * in order, units in order within a position; fo[l * (n + 2) + mu] is the start of position mu in it, fo[.. + n + 1]
 * its end; ok[l] = 1 where the lane's list fits in cap. Built while the fill's forward pass makes the masks: at(mu)
 * before sample mu's units, unit(j, bits) for each of them in order, finish() after the last sample (prev: the masks at
 * the previous sample, w int32). The wasm kernel builds the same lists from the same masks. */
struct FlipLists {
  int32_t* fl;
  int32_t* fo;
  int32_t* ok;
  int cap, n, w;
  int32_t* prev;
  int32_t count[L] = {};

  void at(int mu) {
    if (mu == 0)
      for (int j = 0; j < w; j++) prev[j] = 0;
    for (int l = 0; l < L; l++) fo[l * (n + 2) + mu] = count[l];
  }
  void unit(int j, uint32_t now) {
    const uint32_t was = static_cast<uint32_t>(prev[j]);
    prev[j] = static_cast<int32_t>(now);
    for (uint32_t f = was ^ now; f != 0; f &= f - 1) {
      const int l = __builtin_ctz(f);
      const int32_t e = count[l]++;
      if (e < cap) fl[l * cap + e] = 2 * j + static_cast<int32_t>((was >> l) & 1u);
    }
  }
  void finish() {
    at(n);
    for (int j = 0; j < w; j++) unit(j, 0u);
    for (int l = 0; l < L; l++) {
      fo[l * (n + 2) + n + 1] = count[l];
      ok[l] = count[l] <= cap ? 1 : 0;
    }
  }
};

/** Lane l's terms A_j (row j): float64 of the float A_j(c, i) of E (w * 9 vectors at c * 3 + i, the masked sums'
 * layout) at i * 4 + c. (The wasm kernel keeps -A_j in rows of their own; flipping the sign bit is the same number.) */
inline void termsOf(const float* E, int w, int l, double* tab) {
  for (int j = 0; j < w; j++) {
    double* t = tab + j * kRow;
    for (int i = 0; i < 3; i++) {
      for (int c = 0; c < 3; c++) t[i * 4 + c] = E[(j * 9 + c * 3 + i) * L + l];
      t[i * 4 + 3] = 0.0;
    }
  }
}

/** The sign bit of a 4-vector of float64 ([0]) or nothing ([1]): x ^ kSign[b] is -x or x, the same numbers as a
 * negation. */
const I4 kSign[2] = {{INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN}, {0, 0, 0, 0}};

/** One lane's moments E_j(i, c) = sum_mu 1[a_j>0] xt_i s_c along the tour, kept as float64 rows of Ed (w rows, cleared
 * here): Q, the sum of xt_i s over the samples before mu, is added to E_j where unit j turns off (flip) and subtracted
 * where it turns on (its sign bit flipped: the same numbers as subtracting, a - b being a + (-b)); `add` moves Q past
 * a sample. Shared by the products (productAlong) and the fill's D (momentsAlong). */
struct MomentSums {
  double* Ed;
  int w;
  D4 q0 = {}, q1 = {}, q2 = {};

  MomentSums(double* rows, int units) : Ed(rows), w(units) {
    for (int k = 0; k < w * kRow; k++) Ed[k] = 0.0;
  }
  void flip(int32_t f) {
    double* __restrict ej = Ed + (f >> 1) * kRow;
    const I4 sign = kSign[f & 1];
    const D4 a0 = reinterpret_cast<D4>(reinterpret_cast<I4>(q0) ^ sign);
    const D4 a1 = reinterpret_cast<D4>(reinterpret_cast<I4>(q1) ^ sign);
    const D4 a2 = reinterpret_cast<D4>(reinterpret_cast<I4>(q2) ^ sign);
    store4(ej, load4(ej) + a0);
    store4(ej + 4, load4(ej + 4) + a1);
    store4(ej + 8, load4(ej + 8) + a2);
  }
  void add(double x0, double x1, float s0, float s1, float s2) {
    const D4 sv = {s0, s1, s2, 0.0};
    q0 += x0 * sv;
    q1 += x1 * sv;
    q2 += sv;
  }
  /** E_j(i, c) into e[j * 9 + i * 3 + c] (i-major, as momentsOf). */
  void store(float* e) const {
    for (int j = 0; j < w; j++)
      for (int i = 0; i < 3; i++)
        for (int c = 0; c < 3; c++) e[j * 9 + i * 3 + c] = static_cast<float>(Ed[j * kRow + i * 4 + c]);
  }
};

/** One lane's product along the tour, in one pass over its positions: the R-forward pass Rz_c(mu) = sum_i xt_i
 * M(c, i) + Vb2_c, the per-sample loss Hessian on it (the masked sums' tail, the same float operations lane by lane),
 * s(mu), summed into hb, and the moments E_j(i, c) = sum_mu 1[a_j>0] xt_i s_c (as momentsAlong: a flip at mu adds
 * -+ the sum of xt_i s over the samples before mu) into e[j * 9 + i * 3 + c]. vb: the lane's Vb2 and a zero; pp: the
 * lane's softmax p (lane-major, ce family); om: the lane's weight table om[y * 3 + c]; Ed: scratch of w rows. */
inline void productAlong(const double* tab, const int32_t* fl, const int32_t* fo, const float* x, const int32_t* y, D4 vb,
                         int n, int w, int ce, const float* pp, const float* om, double* Ed, float* e, float* hb) {
  const float invN = static_cast<float>(1.0 / static_cast<double>(n));
  MomentSums E(Ed, w);
  D4 m0 = {}, m1 = {}, m2 = {};  // M at mu
  float h0 = 0.0f, h1 = 0.0f, h2 = 0.0f;
  for (int mu = 0; mu <= n; mu++) {
    for (int f = fo[mu]; f < fo[mu + 1]; f++) {
      // A unit on at mu adds A_j to M, one off at mu -A_j (its sign bit flipped); to E the other way round.
      const double* t = tab + (fl[f] >> 1) * kRow;
      const I4 flip = kSign[1 - (fl[f] & 1)];
      m0 += reinterpret_cast<D4>(reinterpret_cast<I4>(load4(t)) ^ flip);
      m1 += reinterpret_cast<D4>(reinterpret_cast<I4>(load4(t + 4)) ^ flip);
      m2 += reinterpret_cast<D4>(reinterpret_cast<I4>(load4(t + 8)) ^ flip);
      E.flip(fl[f]);
    }
    if (mu == n) break;
    const double x0 = x[2 * mu], x1 = x[2 * mu + 1];
    const F4 r = __builtin_convertvector(((m0 * x0 + m1 * x1) + m2) + vb, F4);
    const float* o = om + y[mu] * 3;
    float s0, s1, s2;
    if (ce) {
      const float gy = o[0] * invN;
      const float* p = pp + mu * 3;
      const float pr = (p[0] * r[0] + p[1] * r[1]) + p[2] * r[2];
      s0 = gy * (p[0] * (r[0] - pr));
      s1 = gy * (p[1] * (r[1] - pr));
      s2 = gy * (p[2] * (r[2] - pr));
    } else {
      s0 = (o[0] * invN) * r[0];
      s1 = (o[1] * invN) * r[1];
      s2 = (o[2] * invN) * r[2];
    }
    h0 += s0;
    h1 += s1;
    h2 += s2;
    E.add(x0, x1, s0, s1, s2);
  }
  hb[0] = h0;
  hb[1] = h1;
  hb[2] = h2;
  E.store(e);
}

/** One lane's moments E_j(i, c) = sum_mu 1[a_j>0] xt_i s_c along the tour (s[mu * 3 + c]) into e[j * 9 + i * 3 + c]
 * (i-major, as momentsOf); Ed: scratch of w rows. */
inline void momentsAlong(const int32_t* fl, const int32_t* fo, const float* x, const float* s, int n, int w, double* Ed,
                         float* e) {
  MomentSums E(Ed, w);
  for (int mu = 0; mu <= n; mu++) {
    for (int f = fo[mu]; f < fo[mu + 1]; f++) E.flip(fl[f]);
    if (mu < n) E.add(x[2 * mu], x[2 * mu + 1], s[mu * 3], s[mu * 3 + 1], s[mu * 3 + 2]);
  }
  E.store(e);
}

/** rows vectors of the lane layout (v[row * L + l]) into and out of lane-major rows (m[l * stride + row]), lanes with
 * ok[l] only; in tiles of 64 rows, so that a tile's vectors stay in L1 while every lane visits them. */
template <bool kToLanes>
inline void laneMajor(std::conditional_t<kToLanes, const float*, float*> v, int rows, const int32_t* ok,
                      std::conditional_t<kToLanes, float*, const float*> m, int stride) {
  for (int r0 = 0; r0 < rows; r0 += 64) {
    const int r1 = rows - r0 < 64 ? rows : r0 + 64;
    for (int l = 0; l < L; l++) {
      if (!ok[l]) continue;
      const auto ml = m + static_cast<int64_t>(l) * stride;
      for (int r = r0; r < r1; r++) {
        if constexpr (kToLanes) ml[r] = v[r * L + l];
        else v[r * L + l] = ml[r];
      }
    }
  }
}

// The hvp's mask cache mk (hvpStateBlock writes it, n * w S::Bits per block, unit-major: mk[j * n + mu]) holds
// 1[a_j > 0] of every sample and unit at the cached parameters, so the per-product passes below are masked sums
// of precomputed terms instead of recomputing a_j; the wasm kernel recomputes the same masks from the same a_j.
// Sums start at +0 and add terms in the wasm kernel's order: S::addIf gives the same floats as its and + add.

/** M_j(i, c) = sum_mu 1[a_j>0] xt_i s_c for s (n * 3 vectors), the masks from mk; into Mo (w * 9 vectors, i-major).
 * Two units per sweep over the samples share the sample's products xt_i s_c (xt_i s_c is the wasm kernel's
 * x_i keep(s_c)). */
inline void momentsOf(const float* x, int n, int w, const float* s, const S::Bits* mk, float* Mo) {
  const F zero = S::splat(0.0f);
  auto store = [&](int j, const F* e) {
    float* mj = Mo + j * 9 * L;
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) S::store(mj + t * L, e[t]);
  };
  // NU units per sweep over the samples share each sample's 9 products.
  auto sweep = [&](int first, auto count) {
    constexpr int C = decltype(count)::value;
    F e[C][9];
    for (int u = 0; u < C; u++)
#pragma GCC unroll 9
      for (int t = 0; t < 9; t++) e[u][t] = zero;
    const float* sp = s;
    for (int mu = 0; mu < n; mu++, sp += 3 * L) {
      const F x0 = S::splat(x[2 * mu]);
      const F x1 = S::splat(x[2 * mu + 1]);
      const F s0 = S::load(sp), s1 = S::load(sp + L), s2 = S::load(sp + 2 * L);
      const F t[9] = {S::mul(x0, s0), S::mul(x0, s1), S::mul(x0, s2), S::mul(x1, s0), S::mul(x1, s1), S::mul(x1, s2), s0, s1, s2};
      M m[C];
#pragma GCC unroll 4
      for (int u = 0; u < C; u++) m[u] = S::ofBits(mk[(first + u) * n + mu]);
#pragma GCC unroll 9
      for (int q = 0; q < 9; q++)
#pragma GCC unroll 4
        for (int u = 0; u < C; u++) e[u][q] = S::addIf(e[u][q], t[q], m[u]);
    }
    for (int u = 0; u < C; u++) store(first + u, e[u]);
  };
  constexpr int NU = 2;  // 3 or 4 spill registers (measured slower)
  int j = 0;
  for (; j + NU <= w; j += NU) sweep(j, std::integral_constant<int, NU>());
  for (; j < w; j++) sweep(j, std::integral_constant<int, 1>());
}

/** The hvp cache's part that depends on the parameters alone (computed once for the dynamic and the static
 * eigenproblem of a measurement): per sample pp (n * 3 vectors: softmax p for the ce family, the logits z for the mse
 * family), the mask cache mk (n * w masks), the flip lists fl / fo / ok of FlipLists (prev: scratch of w int32) and,
 * for the lanes with lists, p lane-major in ppl (3 n floats per lane, ce family). */
inline void hvpStateBlock(const float* th, const float* x, int n, int w, int ce, float* pp, int32_t* fl, int32_t* fo,
                          int32_t* ok, int cap, int32_t* prev, float* ppl, S::Bits* mk) {
  const F zero = S::splat(0.0f);
  FlipLists lists{fl, fo, ok, cap, n, w, prev};
  for (int mu = 0; mu < n; mu++) {
    F z0, z1, z2;
    if (cap) lists.at(mu);
    // The masks of the cache, and the flip lists along the way.
    logits(th, w, S::splat(x[2 * mu]), S::splat(x[2 * mu + 1]), z0, z1, z2, [&](int j, F a) {
      const S::Bits m = S::bits(S::gt(a, zero));
      mk[j * n + mu] = m;
      if (cap) lists.unit(j, m);
    });
    float* q = pp + mu * 3 * L;
    if (ce) {
      const ShiftedExp sm(z0, z1, z2);
      const F inv = S::div(S::splat(1.0f), sm.sum());
      z0 = S::mul(sm.e0, inv);
      z1 = S::mul(sm.e1, inv);
      z2 = S::mul(sm.e2, inv);
    }
    S::store(q, z0);
    S::store(q + L, z1);
    S::store(q + 2 * L, z2);
  }
  if (cap) lists.finish();
  else
    for (int l = 0; l < L; l++) ok[l] = 0;
  if (cap && ce) laneMajor<true>(pp, 3 * n, ok, ppl, 3 * n);  // the lanes along the tour read their p one lane at a time
}

/** The hvp cache's part that depends on the class weights om too: dz (n * 3 vectors) and the moments D (w * 9) of
 * 1[a_j>0] xt_i dz_c, from hvpStateBlock's pp, mk and flip lists. Scratch: perLaneN (3 n floats), and
 * hvpCachedBlock's perLaneW and Ed. */
inline void hvpWeightsBlock([[maybe_unused]] const float* th /* wasm's masks come from it */, const float* om,
                            const float* x, const int32_t* y, int n, int w, int ce,
                            const float* pp, float* dz, float* D, const int32_t* fl, const int32_t* fo, const int32_t* ok,
                            int cap, float* perLaneN, float* perLaneW, double* Ed, const S::Bits* mk) {
  const F invN = S::splat(static_cast<float>(1.0 / static_cast<double>(n)));
  for (int mu = 0; mu < n; mu++) {
    const int32_t yl = y[mu];
    const float* q = pp + mu * 3 * L;
    const F q0 = S::load(q), q1 = S::load(q + L), q2 = S::load(q + 2 * L);
    float* dp = dz + mu * 3 * L;
    if (ce) {
      const F gy = S::mul(S::load(om + yl * 3 * L), invN);
      S::store(dp, S::mul(gy, S::sub(q0, onehot(yl, 0))));
      S::store(dp + L, S::mul(gy, S::sub(q1, onehot(yl, 1))));
      S::store(dp + 2 * L, S::mul(gy, S::sub(q2, onehot(yl, 2))));
    } else {
      const float* o = om + yl * 3 * L;
      S::store(dp, S::mul(S::mul(S::load(o), invN), S::sub(q0, onehot(yl, 0))));
      S::store(dp + L, S::mul(S::mul(S::load(o + L), invN), S::sub(q1, onehot(yl, 1))));
      S::store(dp + 2 * L, S::mul(S::mul(S::load(o + 2 * L), invN), S::sub(q2, onehot(yl, 2))));
    }
  }
  bool masked = false, along = false;  // as in hvpCachedBlock
  for (int l = 0; l < L; l++) {
    masked = masked || !ok[l];
    along = along || ok[l];
  }
  // D: by the masked sums where a lane needs them, along the tour for the others (as the products' E).
  if (masked) momentsOf(x, n, w, dz, mk, D);
  for (int l = 0; along && l < L; l++) {
    if (!ok[l]) continue;
    for (int r = 0; r < 3 * n; r++) perLaneN[r] = dz[r * L + l];
    momentsAlong(fl + l * cap, fo + l * (n + 2), x, perLaneN, n, w, Ed, perLaneW + static_cast<int64_t>(l) * 9 * w);
  }
  if (along) laneMajor<false>(D, 9 * w, ok, perLaneW, 9 * w);
}

/** out = H v for one block from the cache of hvpStateBlock and hvpWeightsBlock: lanes with ok[l] along the tour, the others (if any) by the
 * masked sums; rdz: scratch n * 3 vectors, E: scratch w * 9; tab: 2 w rows per lane, Ed: w rows (float64); perLaneW:
 * 9 w floats per lane; ppl: hvpStateBlock's lane-major p. */
inline void hvpCachedBlock(const float* th, const float* v, float* out, const float* om, const float* x, int n, int w,
                           int ce, const int32_t* y, const float* pp, const float* D, const S::Bits* mk, float* rdz,
                           float* E, const int32_t* fl, const int32_t* fo, const int32_t* ok, int cap, double* tab,
                           const float* ppl, float* perLaneW, double* Ed) {
  const F invN = S::splat(static_cast<float>(1.0 / static_cast<double>(n)));
  const F zero = S::splat(0.0f);
  const float* vb2 = v + 6 * w * L;
  bool masked = false, along = false;  // some lane runs the masked sums / the tour
  for (int l = 0; l < L; l++) {
    masked = masked || !ok[l];
    along = along || ok[l];
  }
  // A_j(c, i) = V1t_ij W2_jc + W1t_ij V2_jc into E (free until the moments below): Rz_c = sum_i xt_i sum_j
  // 1[a_j>0] A_j(c, i) + Vb2_c.
  for (int j = 0; j < w; j++) {
    float* aj = E + j * 9 * L;
    for (int c = 0; c < 3; c++) {
      const F u = S::load(th + 3 * w * L + (j * 3 + c) * L);
      const F g = S::load(v + 3 * w * L + (j * 3 + c) * L);
      for (int i = 0; i < 3; i++) {
        S::store(aj + (c * 3 + i) * L, S::add(S::mul(S::load(v + i * w * L + j * L), u), S::mul(S::load(th + i * w * L + j * L), g)));
      }
    }
  }
  if (masked) {
    // Rz by the masked sums into rdz.
    auto rz = [&](int mu, const F* M) {
      const F x0 = S::splat(x[2 * mu]), x1 = S::splat(x[2 * mu + 1]);
      float* rp = rdz + mu * 3 * L;
      S::store(rp, S::add(S::add(S::add(S::mul(M[0], x0), S::mul(M[1], x1)), M[2]), S::load(vb2)));
      S::store(rp + L, S::add(S::add(S::add(S::mul(M[3], x0), S::mul(M[4], x1)), M[5]), S::load(vb2 + L)));
      S::store(rp + 2 * L, S::add(S::add(S::add(S::mul(M[6], x0), S::mul(M[7], x1)), M[8]), S::load(vb2 + 2 * L)));
    };
    // NS samples per sweep over the units share each A_j (a loop order of its own; each sample's sums run over j
    // in order, as in the wasm kernel).
    constexpr int NS = L == 16 ? 4 : 2;  // measured: on AVX-512 4 beat 2 and 3 (despite spilling); AVX2 has 16 registers
    auto sweep = [&](int first, auto count) {
      constexpr int C = decltype(count)::value;
      F acc[C][9];
      for (int i = 0; i < C; i++)
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++) acc[i][t] = zero;
      const float* aj = E;
      const S::Bits* mj = mk + first;
      for (int j = 0; j < w; j++, aj += 9 * L, mj += n) {
        M m[C];
#pragma GCC unroll 4
        for (int i = 0; i < C; i++) m[i] = S::ofBits(mj[i]);
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++) {
          const F a = S::load(aj + t * L);
#pragma GCC unroll 4
          for (int i = 0; i < C; i++) acc[i][t] = S::addIf(acc[i][t], a, m[i]);
        }
      }
      for (int i = 0; i < C; i++) rz(first + i, acc[i]);
    };
    int mu = 0;
    for (; mu + NS <= n; mu += NS) sweep(mu, std::integral_constant<int, NS>());
    for (; mu < n; mu++) sweep(mu, std::integral_constant<int, 1>());
  }
  // s = (per-sample loss Hessian) Rz in place of Rz, summed into hb (the b2 part of the result).
  F hb0 = zero, hb1 = zero, hb2 = zero;
  for (int mu = 0; masked && mu < n; mu++) {
    float* sp = rdz + mu * 3 * L;
    const F r0 = S::load(sp), r1 = S::load(sp + L), r2 = S::load(sp + 2 * L);
    const int32_t yl = y[mu];
    F s0, s1, s2;
    if (ce) {
      const F gy = S::mul(S::load(om + yl * 3 * L), invN);
      const float* pq = pp + mu * 3 * L;
      const F p0 = S::load(pq), p1 = S::load(pq + L), p2 = S::load(pq + 2 * L);
      const F pr = S::add(S::add(S::mul(p0, r0), S::mul(p1, r1)), S::mul(p2, r2));
      s0 = S::mul(gy, S::mul(p0, S::sub(r0, pr)));
      s1 = S::mul(gy, S::mul(p1, S::sub(r1, pr)));
      s2 = S::mul(gy, S::mul(p2, S::sub(r2, pr)));
    } else {
      const float* o = om + yl * 3 * L;
      s0 = S::mul(S::mul(S::load(o), invN), r0);
      s1 = S::mul(S::mul(S::load(o + L), invN), r1);
      s2 = S::mul(S::mul(S::load(o + 2 * L), invN), r2);
    }
    S::store(sp, s0);
    S::store(sp + L, s1);
    S::store(sp + 2 * L, s2);
    hb0 = S::add(hb0, s0);
    hb1 = S::add(hb1, s1);
    hb2 = S::add(hb2, s2);
  }
  float* ob2 = out + 6 * w * L;
  S::store(ob2, hb0);
  S::store(ob2 + L, hb1);
  S::store(ob2 + 2 * L, hb2);
  // Lanes along the tour, one at a time (before the masked moments below overwrite the terms in E).
  for (int l = 0; along && l < L; l++) {
    if (!ok[l]) continue;
    const D4 vb = {vb2[l], vb2[L + l], vb2[2 * L + l], 0.0};
    float omL[9], hb[3];
    for (int t = 0; t < 9; t++) omL[t] = om[t * L + l];
    termsOf(E, w, l, tab);  // one lane's at a time: its walk finds them in cache
    productAlong(tab, fl + l * cap, fo + l * (n + 2), x, y, vb, n, w, ce,
                 ppl + static_cast<int64_t>(l) * 3 * n, omL, Ed, perLaneW + static_cast<int64_t>(l) * 9 * w, hb);
    for (int c = 0; c < 3; c++) ob2[c * L + l] = hb[c];
  }
  if (masked) momentsOf(x, n, w, rdz, mk, E);
  if (along) laneMajor<false>(E, 9 * w, ok, perLaneW, 9 * w);
  for (int j = 0; j < w; j++) {
    const float* pj = th + j * L;
    const float* vj = v + j * L;
    const float* qj = th + 3 * w * L + j * 3 * L;
    const float* uj = v + 3 * w * L + j * 3 * L;
    const float* dj = D + j * 9 * L;
    const float* ej = E + j * 9 * L;
    float* oj = out + j * L;
    float* hj = out + 3 * w * L + j * 3 * L;
    for (int c = 0; c < 3; c++) {
      F acc = zero;
      for (int i = 0; i < 3; i++) {
        const int o = (i * 3 + c) * L;
        acc = S::add(acc, S::add(S::mul(S::load(vj + i * w * L), S::load(dj + o)), S::mul(S::load(pj + i * w * L), S::load(ej + o))));
      }
      S::store(hj + c * L, acc);
    }
    for (int i = 0; i < 3; i++) {
      F acc = zero;
      for (int c = 0; c < 3; c++) {
        const int o = (i * 3 + c) * L;
        acc = S::add(acc, S::add(S::mul(S::load(uj + c * L), S::load(dj + o)), S::mul(S::load(qj + c * L), S::load(ej + o))));
      }
      S::store(oj + i * w * L, acc);
    }
  }
}

}  // namespace spirals
}  // namespace
