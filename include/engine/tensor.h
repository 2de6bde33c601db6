// A dense host tensor that owns its bytes.
#ifndef ENGINE_TENSOR_H_
#define ENGINE_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "engine/export.h"
#include "engine/types.h"

namespace engine {

/// A dense, row-major host tensor: element type, static shape and an owned,
/// 64-byte-aligned buffer of `ByteSize()` bytes.
///
/// Copying a Tensor copies its bytes; moving is cheap. Not thread-safe for
/// concurrent mutation; concurrent reads are fine.
class ENGINE_API Tensor {
 public:
  /// An empty tensor (dtype kUndefined, shape [0], no bytes).
  Tensor();
  /// A zero-filled tensor of `dtype` and `shape`.
  Tensor(DataType dtype, Dims shape);
  /// A tensor of `dtype` and `shape` (row-major) initialised from `bytes`,
  /// which must hold exactly NumElements(shape) * DataTypeSize(dtype) bytes.
  /// Throws std::invalid_argument naming both sizes, the dtype and the shape
  /// otherwise (never truncates or zero-pads). FromBytes is the same without
  /// exceptions.
  Tensor(DataType dtype, Dims shape, std::span<const std::byte> bytes);

  /// As the constructor above, returning InvalidArgument (naming the byte
  /// counts, dtype and shape) when `bytes.size()` is not
  /// NumElements(shape) * DataTypeSize(dtype).
  static absl::StatusOr<Tensor> FromBytes(DataType dtype, Dims shape,
                                          std::span<const std::byte> bytes);

  /// A view of `NumElements(shape) * DataTypeSize(dtype)` bytes at `data`,
  /// which the tensor does not own: the caller keeps them alive and aligned
  /// as the dtype needs. Copying a view makes an owning copy. The executor
  /// uses views into an execution context's activation arena.
  static Tensor View(DataType dtype, Dims shape, void* data);
  /// Whether the tensor owns its bytes (false for views).
  bool owns_data() const { return data_.get_deleter().owned; }

  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  ~Tensor() = default;

  DataType dtype() const { return dtype_; }
  const Dims& shape() const { return shape_; }
  /// Number of elements (product of the shape).
  int64_t num_elements() const { return NumElements(shape_); }
  /// Size of the data in bytes.
  size_t byte_size() const { return byte_size_; }

  /// Raw bytes, 64-byte aligned; nullptr when byte_size() == 0.
  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }

  /// Typed access; the caller must request the matching C++ type
  /// (float for kFloat32, int64_t for kInt64, ...).
  template <typename T>
  T* data_as() { return static_cast<T*>(data()); }
  template <typename T>
  const T* data_as() const { return static_cast<const T*>(data()); }

  /// Reinterprets the tensor with another shape of the same element count
  /// (no copy). Returns false and leaves the tensor unchanged otherwise.
  bool Reshape(Dims new_shape);

 private:
  struct AlignedFree {
    AlignedFree() noexcept : owned(true) {}
    explicit AlignedFree(bool owns) noexcept : owned(owns) {}
    void operator()(std::byte* p) const;
    bool owned;
  };
  DataType dtype_ = DataType::kUndefined;
  Dims shape_{0};
  size_t byte_size_ = 0;
  std::unique_ptr<std::byte[], AlignedFree> data_;
};

}  // namespace engine

#endif  // ENGINE_TENSOR_H_
