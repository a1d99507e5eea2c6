// The warm Lanczos solve's vector work (core/linalg.ts BlockOps) on double vectors, bit for bit the numbers of the
// JavaScript implementation there: every dot product is 8 partial sums (element t of a block into sum t mod 8, in
// order of t), reduced as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)); every update is the same expression,
// element by element. Compiled without FMA and with -ffp-contract=off (scripts/build-native-kernel.sh).
#pragma once
#include <immintrin.h>
#include <cstdint>

namespace {
namespace linalg {

#if defined(__AVX512F__)
struct D8 {
  __m512d v;
};
inline D8 zero8() { return {_mm512_setzero_pd()}; }
inline D8 load8(const double* p) { return {_mm512_loadu_pd(p)}; }
inline void store8(double* p, D8 a) { _mm512_storeu_pd(p, a.v); }
/** The first `rem` (< 8) elements, zeros after. */
inline D8 loadPart(const double* p, int rem) { return {_mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << rem) - 1), p)}; }
inline void storePart(double* p, D8 a, int rem) { _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << rem) - 1), a.v); }
inline D8 add(D8 a, D8 b) { return {_mm512_add_pd(a.v, b.v)}; }
inline D8 sub(D8 a, D8 b) { return {_mm512_sub_pd(a.v, b.v)}; }
inline D8 mul(D8 a, D8 b) { return {_mm512_mul_pd(a.v, b.v)}; }
inline D8 splat(double x) { return {_mm512_set1_pd(x)}; }
/** acc + a * b in the lanes below rem, acc elsewhere (the tail of a dot product). */
inline D8 addPart(D8 acc, D8 a, D8 b, int rem) {
  return {_mm512_mask_add_pd(acc.v, static_cast<__mmask8>((1u << rem) - 1), acc.v, _mm512_mul_pd(a.v, b.v))};
}
#elif defined(__AVX2__)
struct D8 {
  __m256d lo, hi;
};
inline D8 zero8() { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
inline D8 load8(const double* p) { return {_mm256_loadu_pd(p), _mm256_loadu_pd(p + 4)}; }
inline void store8(double* p, D8 a) {
  _mm256_storeu_pd(p, a.lo);
  _mm256_storeu_pd(p + 4, a.hi);
}
inline __m256i partMask(int rem, int from) {
  return _mm256_setr_epi64x(from + 0 < rem ? -1 : 0, from + 1 < rem ? -1 : 0, from + 2 < rem ? -1 : 0, from + 3 < rem ? -1 : 0);
}
inline D8 loadPart(const double* p, int rem) { return {_mm256_maskload_pd(p, partMask(rem, 0)), _mm256_maskload_pd(p + 4, partMask(rem, 4))}; }
inline void storePart(double* p, D8 a, int rem) {
  _mm256_maskstore_pd(p, partMask(rem, 0), a.lo);
  _mm256_maskstore_pd(p + 4, partMask(rem, 4), a.hi);
}
inline D8 add(D8 a, D8 b) { return {_mm256_add_pd(a.lo, b.lo), _mm256_add_pd(a.hi, b.hi)}; }
inline D8 sub(D8 a, D8 b) { return {_mm256_sub_pd(a.lo, b.lo), _mm256_sub_pd(a.hi, b.hi)}; }
inline D8 mul(D8 a, D8 b) { return {_mm256_mul_pd(a.lo, b.lo), _mm256_mul_pd(a.hi, b.hi)}; }
inline D8 splat(double x) { return {_mm256_set1_pd(x), _mm256_set1_pd(x)}; }
inline D8 addPart(D8 acc, D8 a, D8 b, int rem) {
  const D8 s = add(acc, mul(a, b));
  return {_mm256_blendv_pd(acc.lo, s.lo, _mm256_castsi256_pd(partMask(rem, 0))),
          _mm256_blendv_pd(acc.hi, s.hi, _mm256_castsi256_pd(partMask(rem, 4)))};
}
#else
#error "native/linalg.h: compile with -mavx2 or -mavx512f"
#endif

inline double reduce(D8 s) {
  double t[8];
  store8(t, s);
  return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

/** Two dot products with w in one pass: a . w and b . w. */
inline void dot2(const double* w, const double* a, const double* b, int P, double& da, double& db) {
  D8 sa = zero8(), sb = zero8();
  int t = 0;
  for (; t + 8 <= P; t += 8) {
    const D8 x = load8(w + t);
    sa = add(sa, mul(x, load8(a + t)));
    sb = add(sb, mul(x, load8(b + t)));
  }
  if (t < P) {
    const int rem = P - t;
    const D8 x = loadPart(w + t, rem);
    sa = addPart(sa, x, loadPart(a + t, rem), rem);
    sb = addPart(sb, x, loadPart(b + t, rem), rem);
  }
  da = reduce(sa);
  db = reduce(sb);
}

inline double dot(const double* a, const double* b, int P) {
  D8 s = zero8();
  int t = 0;
  for (; t + 8 <= P; t += 8) s = add(s, mul(load8(a + t), load8(b + t)));
  if (t < P) s = addPart(s, loadPart(a + t, P - t), loadPart(b + t, P - t), P - t);
  return reduce(s);
}

/** y[t] = y[t] + alpha x[t]. */
inline void axpy(double alpha, const double* x, double* y, int P) {
  const D8 a = splat(alpha);
  int t = 0;
  for (; t + 8 <= P; t += 8) store8(y + t, add(load8(y + t), mul(a, load8(x + t))));
  if (t < P) storePart(y + t, add(loadPart(y + t, P - t), mul(a, loadPart(x + t, P - t))), P - t);
}

/** w[t] = w[t] - (ca a[t] + cb b[t]). */
inline void sub2(double ca, const double* a, double cb, const double* b, double* w, int P) {
  const D8 x = splat(ca), y = splat(cb);
  int t = 0;
  for (; t + 8 <= P; t += 8) store8(w + t, sub(load8(w + t), add(mul(x, load8(a + t)), mul(y, load8(b + t)))));
  if (t < P) {
    const int rem = P - t;
    storePart(w + t, sub(loadPart(w + t, rem), add(mul(x, loadPart(a + t, rem)), mul(y, loadPart(b + t, rem)))), rem);
  }
}

/** x[t] = x[t] * alpha. */
inline void scale(double alpha, double* x, int P) {
  const D8 a = splat(alpha);
  int t = 0;
  for (; t + 8 <= P; t += 8) store8(x + t, mul(load8(x + t), a));
  if (t < P) storePart(x + t, mul(loadPart(x + t, P - t), a), P - t);
}

/** BlockOps.reorthogonalize for one block (pointers at its offset): h[0..n) and the returned ||w||^2. */
inline double reorthogonalize(double* w, const double* const* Q, int n, int P, double* h) {
  int i = 0;
  for (; i + 1 < n; i += 2) dot2(w, Q[i], Q[i + 1], P, h[i], h[i + 1]);
  if (i < n) h[i] = dot(w, Q[i], P);
  for (i = 0; i + 1 < n; i += 2) sub2(h[i], Q[i], h[i + 1], Q[i + 1], w, P);
  if (i < n) axpy(-h[i], Q[i], w, P);
  return dot(w, w, P);
}

/** BlockOps.combine for one block: out += sum_i coef[i] Q_i over i < n, in order, then out / ||out|| if nonzero. */
inline void combine(double* out, const double* const* Q, const double* coef, int n, int P) {
  for (int i = 0; i < n; i++) axpy(coef[i], Q[i], out, P);
  const double nrm = __builtin_sqrt(dot(out, out, P));
  if (nrm > 0) scale(1 / nrm, out, P);
}

}  // namespace linalg
}  // namespace
