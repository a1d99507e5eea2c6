// One instruction set's spirals kernels and Lanczos vector work: built with -DNATIVE_ISA=avx2 -mavx2, and -DNATIVE_ISA=avx512 -mavx512f
// -mavx512dq (scripts/build-native-kernel.sh); simd.h picks the lane type from the compiler's target macros.
#include "kernels.h"
#include "spirals.h"
#include "linalg.h"

#define NATIVE_CAT2(a, b) a##b
#define NATIVE_CAT(a, b) NATIVE_CAT2(a, b)

// The mask cache is S::Bits per sample and unit (spirals.h); the table's signature is ISA-neutral.
static void hvpState(const float* th, const float* x, int n, int w, int ce, float* pp, int32_t* fl, int32_t* fo,
                     int32_t* ok, int cap, int32_t* prev, float* ppl, void* mk) {
  spirals::hvpStateBlock(th, x, n, w, ce, pp, fl, fo, ok, cap, prev, ppl, static_cast<Simd::Bits*>(mk));
}
static void hvpWeights(const float* th, const float* om, const float* x, const int32_t* y, int n, int w, int ce,
                       const float* pp, float* dz, float* D, const int32_t* fl, const int32_t* fo, const int32_t* ok,
                       int cap, float* perLaneN, float* perLaneW, double* Ed, const void* mk) {
  spirals::hvpWeightsBlock(th, om, x, y, n, w, ce, pp, dz, D, fl, fo, ok, cap, perLaneN, perLaneW, Ed,
                           static_cast<const Simd::Bits*>(mk));
}
static void hvpCached(const float* th, const float* v, float* out, const float* om, const float* x, int n, int w, int ce,
                      const int32_t* y, const float* pp, const float* D, float* rdz, float* E, const int32_t* fl,
                      const int32_t* fo, const int32_t* ok, int cap, double* tab, const float* ppl, float* perLaneW,
                      double* Ed, const void* mk) {
  spirals::hvpCachedBlock(th, v, out, om, x, n, w, ce, y, pp, D, static_cast<const Simd::Bits*>(mk), rdz, E, fl, fo, ok,
                          cap, tab, ppl, perLaneW, Ed);
}

extern const SpiralsKernels NATIVE_CAT(kernels_, NATIVE_ISA) = {
    spirals::L, &spirals::stepBlock, &spirals::evalBlock, &hvpState, &hvpWeights, &hvpCached,
};

extern const LinalgKernels NATIVE_CAT(linalg_, NATIVE_ISA) = {
    &linalg::reorthogonalize, &linalg::combine, &linalg::scale,
};
