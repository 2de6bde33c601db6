// <immintrin.h> for the host kernels' AVX-512 paths, with GCC 12's false
// -Wmaybe-uninitialized inside its own AVX-512 headers silenced (their
// _mm512_undefined_* operands; GCC bug 105593, fixed in 13). The pragma must
// come before the first inclusion of the intrinsics headers in a translation
// unit, so kernels include this header rather than <immintrin.h>.
#ifndef ENGINE_KERNELS_SIMD_H_
#define ENGINE_KERNELS_SIMD_H_

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#endif  // ENGINE_KERNELS_SIMD_H_
