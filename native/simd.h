// Lane types for the native fast kernel: one trial per float32 lane, every operation the exact counterpart of the
// WebAssembly f32x4 operation it replaces in asm/fast-kernel.ts (IEEE add/sub/mul/div are the same everywhere;
// max, nearest and trunc_sat are emulated to wasm's semantics where x86 differs). Compiled without FMA and with
// -ffp-contract=off (scripts/build-native-kernel.sh), so no multiply-add is ever fused.
#pragma once
#include <immintrin.h>
#include <cstdint>

// Internal linkage: each ISA translation unit (scripts/build-native-kernel.sh) gets its own copy, never merged.
namespace {

#if defined(__AVX512F__)
/** AVX-512: 16 trials per __m512; compare results are mask registers. */
struct Simd {
  static constexpr int L = 16;
  using F = __m512;
  using I = __m512i;
  using M = __mmask16;
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F splat(float x) { return _mm512_set1_ps(x); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  // wasm f32x4.max: NaN if either is NaN, max(-0, +0) = +0; x86 returns its second operand in both cases.
  static F maxw(F a, F b) {
    F r = _mm512_and_ps(_mm512_max_ps(a, b), _mm512_max_ps(b, a));
    return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q), _mm512_castsi512_ps(_mm512_set1_epi32(-1)));
  }
  // x86 max(a, +0) returns +0 for NaN and -0: exactly wasm's and(a, gt(a, 0)) for every input.
  static F relu(F a) { return _mm512_max_ps(a, _mm512_setzero_ps()); }
  static F nearest(F x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // wasm i32x4.trunc_sat_f32x4_s: NaN -> 0, saturating; x86 gives 0x80000000 for NaN and out of range.
  static I truncSat(F x) {
    I r = _mm512_cvttps_epi32(x);
    r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(x, _mm512_set1_ps(2147483648.0f), _CMP_GE_OQ), _mm512_set1_epi32(0x7fffffff));
    return _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(x, x, _CMP_ORD_Q), r);
  }
  static F cvt(I e) { return _mm512_cvtepi32_ps(e); }
  static I asInt(F x) { return _mm512_castps_si512(x); }
  static F asFloat(I x) { return _mm512_castsi512_ps(x); }
  static I isplat(int v) { return _mm512_set1_epi32(v); }
  static I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I iand(I a, I b) { return _mm512_and_si512(a, b); }
  static I ior(I a, I b) { return _mm512_or_si512(a, b); }
  static I shl23(I a) { return _mm512_slli_epi32(a, 23); }
  static I shr23(I a) { return _mm512_srli_epi32(a, 23); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M both(M a, M b) { return a & b; }
  static F keep(F v, M m) { return _mm512_maskz_mov_ps(m, v); }
  /** m ? a : b (wasm v128.bitselect(a, b, m) with an all-ones / all-zeros mask). */
  static F select(F a, F b, M m) { return _mm512_mask_blend_ps(m, b, a); }
  /** e - m with m's lanes read as -1 / 0 (wasm i32x4.sub(e, mask)). */
  static I incWhere(I e, M m) { return _mm512_mask_add_epi32(e, m, e, _mm512_set1_epi32(1)); }
  static F one(M m) { return _mm512_maskz_mov_ps(m, _mm512_set1_ps(1.0f)); }
  /** The per-lane mask the glue writes as int32 -1 / 0. */
  static M loadMask(const int32_t* p) { return _mm512_cmpneq_epi32_mask(_mm512_loadu_si512(p), _mm512_setzero_si512()); }
  /** A lane mask as bits (the hvp's mask cache, spirals.h), and back. */
  using Bits = uint16_t;
  static Bits bits(M m) { return m; }
  static M ofBits(Bits b) { return b; }
  /** acc + (m ? v : +0) lane by lane: acc itself where m is off (the same float as acc + 0 for every acc a sum
   * started at +0 can hold: such a sum is never -0). */
  static F addIf(F acc, F v, M m) { return _mm512_mask_add_ps(acc, m, acc, v); }
  /** acc[k] += (double) l[k] (wasm addF64: f64x2.promote_low_f32x4 and f64x2.add). */
  static void addF64(double* acc, F l) {
    _mm512_storeu_pd(acc, _mm512_add_pd(_mm512_loadu_pd(acc), _mm512_cvtps_pd(_mm512_castps512_ps256(l))));
    _mm512_storeu_pd(acc + 8, _mm512_add_pd(_mm512_loadu_pd(acc + 8), _mm512_cvtps_pd(_mm512_extractf32x8_ps(l, 1))));
  }
};
#elif defined(__AVX2__)
/** AVX2: 8 trials per __m256; compare results are all-ones / all-zeros lanes. */
struct Simd {
  static constexpr int L = 8;
  using F = __m256;
  using I = __m256i;
  using M = __m256;
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F splat(float x) { return _mm256_set1_ps(x); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F maxw(F a, F b) {
    F r = _mm256_and_ps(_mm256_max_ps(a, b), _mm256_max_ps(b, a));
    return _mm256_or_ps(r, _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
  }
  static F relu(F a) { return _mm256_max_ps(a, _mm256_setzero_ps()); }
  static F nearest(F x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static I truncSat(F x) {
    I r = _mm256_cvttps_epi32(x);
    r = _mm256_xor_si256(r, _mm256_castps_si256(_mm256_cmp_ps(x, _mm256_set1_ps(2147483648.0f), _CMP_GE_OQ)));
    return _mm256_and_si256(r, _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_ORD_Q)));
  }
  static F cvt(I e) { return _mm256_cvtepi32_ps(e); }
  static I asInt(F x) { return _mm256_castps_si256(x); }
  static F asFloat(I x) { return _mm256_castsi256_ps(x); }
  static I isplat(int v) { return _mm256_set1_epi32(v); }
  static I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I iand(I a, I b) { return _mm256_and_si256(a, b); }
  static I ior(I a, I b) { return _mm256_or_si256(a, b); }
  static I shl23(I a) { return _mm256_slli_epi32(a, 23); }
  static I shr23(I a) { return _mm256_srli_epi32(a, 23); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M both(M a, M b) { return _mm256_and_ps(a, b); }
  static F keep(F v, M m) { return _mm256_and_ps(v, m); }
  static F select(F a, F b, M m) { return _mm256_blendv_ps(b, a, m); }
  static I incWhere(I e, M m) { return _mm256_sub_epi32(e, _mm256_castps_si256(m)); }
  static F one(M m) { return _mm256_and_ps(m, _mm256_set1_ps(1.0f)); }
  static M loadMask(const int32_t* p) { return _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  using Bits = uint8_t;
  static Bits bits(M m) { return static_cast<Bits>(_mm256_movemask_ps(m)); }
  static M ofBits(Bits b) {
    const __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(b), lane), lane));
  }
  static F addIf(F acc, F v, M m) { return _mm256_add_ps(acc, _mm256_and_ps(v, m)); }
  static void addF64(double* acc, F l) {
    _mm256_storeu_pd(acc, _mm256_add_pd(_mm256_loadu_pd(acc), _mm256_cvtps_pd(_mm256_castps256_ps128(l))));
    _mm256_storeu_pd(acc + 4, _mm256_add_pd(_mm256_loadu_pd(acc + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(l, 1))));
  }
};
#else
#error "native/simd.h: compile with -mavx2 or -mavx512f -mavx512dq"
#endif

}  // namespace
