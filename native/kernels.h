// The table of spirals kernels one ISA translation unit (isa.cc, compiled once per instruction set) exports to the
// N-API addon (addon.cc, compiled for the baseline x86-64). Pointers are into the kernel's memory (addon.cc checks
// their extents); the layouts are spirals.h's.
#pragma once
#include <cstdint>

struct SpiralsKernels {
  /** Trials per vector. */
  int lanes;
  void (*stepBlock)(float* th, float* grad, const float* lr, const int32_t* act, const float* om, const float* x,
                    const int32_t* y, int n, int w, int ce, float* dz, double* lossOut, int update);
  void (*evalBlock)(const float* th, const float* om, const float* x, const int32_t* y, int n, int w, int ce, double* out);
  void (*hvpStateBlock)(const float* th, const float* x, int n, int w, int ce, float* pp, int32_t* fl, int32_t* fo,
                        int32_t* ok, int cap, int32_t* prev, float* ppl, void* mk);
  void (*hvpWeightsBlock)(const float* th, const float* om, const float* x, const int32_t* y, int n, int w, int ce,
                          const float* pp, float* dz, float* D, const int32_t* fl, const int32_t* fo, const int32_t* ok,
                          int cap, float* perLaneN, float* perLaneW, double* Ed, const void* mk);
  void (*hvpCachedBlock)(const float* th, const float* v, float* out, const float* om, const float* x, int n, int w,
                         int ce, const int32_t* y, const float* pp, const float* D, float* rdz, float* E,
                         const int32_t* fl, const int32_t* fo, const int32_t* ok, int cap, double* tab,
                         const float* ppl, float* perLaneW, double* Ed, const void* mk);
};

extern const SpiralsKernels kernels_avx2;
extern const SpiralsKernels kernels_avx512;

// The warm Lanczos solve's vector work (native/linalg.h; core/linalg.ts BlockOps), one block at a time.
struct LinalgKernels {
  /** w -= sum_i (w . Q_i) Q_i over i < n, the coefficients into h; returns ||w||^2 after. */
  double (*reorthogonalize)(double* w, const double* const* Q, int n, int P, double* h);
  /** out += sum_i coef_i Q_i over i < n, then out / ||out|| if nonzero. */
  void (*combine)(double* out, const double* const* Q, const double* coef, int n, int P);
  /** x *= alpha. */
  void (*scale)(double alpha, double* x, int P);
};

extern const LinalgKernels linalg_avx2;
extern const LinalgKernels linalg_avx512;
