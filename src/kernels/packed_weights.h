// Packed constant weights shared between kernels.
//
// A dynamic-shape engine re-prepares its kernels whenever a context's input
// shapes change (docs/dynamic_shapes.md), e.g. at every new batch size a
// dynamic batcher forms. The packed form of a constant weight (PackA of
// sgemm_packed.h) does not depend on the activation shapes, so re-packing it
// at every re-preparation only costs time (ResNet-50: 94 MB of packed Conv
// weights written per batch-size change) and memory (one copy per context
// and shape). SharedPackedA returns one packed copy per distinct weight
// content, held by the kernels that use it and freed with the last of them.
#ifndef ENGINE_KERNELS_PACKED_WEIGHTS_H_
#define ENGINE_KERNELS_PACKED_WEIGHTS_H_

#include <cstdint>
#include <memory>
#include <vector>

namespace engine::kernels {

/// The packed form of `groups` consecutive row-major matrices A_g [m, k]
/// (A_g at a + g * m * k, contiguous rows), each packed by PackA into
/// out + g * PackedAFloats(m, k): [groups * PackedAFloats(m, k)] floats.
///
/// Kernels prepared from the same weights (same address, dimensions and
/// content: the constant of one engine, in every context and at every shape)
/// share one packed copy (a process-wide table of weak references, keyed by
/// the address, the dimensions and a 64-bit hash of the bytes, so a weight
/// freed and another allocated at the same address is not confused with it
/// unless their hashes also collide; the entry dies with its last user). Thread-safe. Cost of a hit: one read of
/// the weights (the hash); of a miss: the packing.
///
/// Errors: none (std::bad_alloc propagates as from std::vector).
std::shared_ptr<const std::vector<float>> SharedPackedA(const float* a, int64_t groups, int64_t m,
                                                       int64_t k);

/// The packed form of a constant right operand B [k, n] of a product (a
/// transformer projection's weights), stored row-major [k, n], or [n, k]
/// when `transposed` (Gemm's transB): PackB's layout (sgemm_packed.h) of
/// rows [0, k) x columns [0, n), PackedBFloats(k, 0, n) floats, so the
/// columns [j0, j1) of any j0 that is a multiple of SgemmPanelCols() and j1
/// that is n or such a multiple are the packed block at j0 * k. Shared like
/// SharedPackedA (same table; the kind of packing is part of the key).
/// Errors: none (std::bad_alloc propagates).
std::shared_ptr<const std::vector<float>> SharedPackedB(const float* b, int64_t k, int64_t n,
                                                       bool transposed);

/// Number of live shared packed weights (tests).
size_t SharedPackedACount();

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_PACKED_WEIGHTS_H_
