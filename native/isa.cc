// One instruction set's spirals kernels: built with -DNATIVE_ISA=avx2 -mavx2, and -DNATIVE_ISA=avx512 -mavx512f
// -mavx512dq (scripts/build-native-kernel.sh); simd.h picks the lane type from the compiler's target macros.
#include "kernels.h"
#include "spirals.h"

#define NATIVE_CAT2(a, b) a##b
#define NATIVE_CAT(a, b) NATIVE_CAT2(a, b)

extern const SpiralsKernels NATIVE_CAT(kernels_, NATIVE_ISA) = {
    spirals::L, &spirals::stepBlock, &spirals::evalBlock, &spirals::hvpPrepBlock, &spirals::hvpCachedBlock,
};
