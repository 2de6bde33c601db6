// Small helpers shared by the op records (src/ops/*.cc).
#ifndef ENGINE_OPS_OP_UTIL_H_
#define ENGINE_OPS_OP_UTIL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "kernels/kernel.h"
#include "ops/op_def.h"

namespace engine::ops {

/// Product of dims[from, to) (1 for an empty range), in elements.
inline int64_t Prod(const Dims& d, size_t from = 0, size_t to = SIZE_MAX) {
  const size_t end = std::min(to, d.size());
  int64_t p = 1;
  for (auto it = d.begin() + static_cast<std::ptrdiff_t>(std::min(from, end));
       it != d.begin() + static_cast<std::ptrdiff_t>(end); ++it) {
    p *= *it;
  }
  return p;
}

/// Bytes of a dense tensor (0 when absent).
inline int64_t ByteSize(const kernels::TensorInfo& t) {
  return t.present ? NumElements(t.shape) * static_cast<int64_t>(DataTypeSize(t.dtype)) : 0;
}

/// OpsPerElementFn returning a constant.
inline OpsPerElementFn ConstantOps(double ops) {
  return [ops](const LayerView&) { return ops; };
}

/// A vector-unit DeviceSpec with a constant cost per output element.
inline DeviceSpec VectorDevice(double ops_per_element) {
  DeviceSpec d;
  d.unit = hw::LayerKind::kVector;
  d.ops_per_element = ConstantOps(ops_per_element);
  return d;
}

/// A DeviceSpec for the DMA engine only (data movement).
inline DeviceSpec DmaDevice() {
  DeviceSpec d;
  d.unit = hw::LayerKind::kDma;
  return d;
}

/// The record of a data-movement op: `host` on the host, the DMA engine on
/// the device (DmaDevice).
inline OpDef Dma(const std::string& type, kernels::KernelDef host) {
  OpDef op;
  op.type = type;
  op.host = std::move(host);
  op.device = DmaDevice();
  return op;
}

/// A DeviceSpec for a view: the output aliases the input, no device work.
inline DeviceSpec ViewDevice() {
  DeviceSpec d;
  d.unit = hw::LayerKind::kView;
  return d;
}

}  // namespace engine::ops

#endif  // ENGINE_OPS_OP_UTIL_H_
