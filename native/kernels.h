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
  void (*hvpPrepBlock)(const float* th, const float* om, const float* x, const int32_t* y, int n, int w, int ce,
                       float* pp, float* dz, float* D, void* mk);
  void (*hvpCachedBlock)(const float* th, const float* v, float* out, const float* om, const float* x, int n, int w,
                         int ce, const int32_t* y, const float* pp, const float* D, float* rdz, float* E, const void* mk);
};

extern const SpiralsKernels kernels_avx2;
extern const SpiralsKernels kernels_avx512;
