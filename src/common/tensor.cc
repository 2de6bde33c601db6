#include "engine/tensor.h"

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace engine {
namespace {

constexpr size_t kAlignment = 64;

std::byte* AllocAligned(size_t bytes) {
  if (bytes == 0) return nullptr;
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<std::byte*>(p);
}

// "" when `given` bytes fit `dtype` `shape`, else the error message.
std::string SizeMismatch(DataType dtype, const Dims& shape, size_t given) {
  const size_t want = static_cast<size_t>(NumElements(shape)) * DataTypeSize(dtype);
  if (given == want) return "";
  return absl::StrCat("Tensor: ", given, " bytes given for a ", DataTypeName(dtype), " tensor of shape ",
                      DimsToString(shape), ", which needs ", want, " bytes");
}

}  // namespace

absl::StatusOr<Tensor> Tensor::FromBytes(DataType dtype, Dims shape,
                                         std::span<const std::byte> bytes) {
  std::string error = SizeMismatch(dtype, shape, bytes.size());
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return Tensor(dtype, std::move(shape), bytes);
}

void Tensor::AlignedFree::operator()(std::byte* p) const {
  if (owned) std::free(p);
}

Tensor Tensor::View(DataType dtype, Dims shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.byte_size_ = static_cast<size_t>(NumElements(t.shape_)) * DataTypeSize(dtype);
  t.data_ = std::unique_ptr<std::byte[], AlignedFree>(static_cast<std::byte*>(data),
                                                      AlignedFree{false});
  return t;
}

Tensor::Tensor() = default;

Tensor::Tensor(DataType dtype, Dims shape)
    : dtype_(dtype),
      shape_(std::move(shape)),
      byte_size_(static_cast<size_t>(NumElements(shape_)) * DataTypeSize(dtype)),
      data_(AllocAligned(byte_size_)) {
  if (byte_size_ > 0) std::memset(data_.get(), 0, byte_size_);
}

Tensor::Tensor(DataType dtype, Dims shape, std::span<const std::byte> bytes)
    : Tensor(dtype, std::move(shape)) {
  if (bytes.size() != byte_size_) {
    throw std::invalid_argument(SizeMismatch(dtype_, shape_, bytes.size()));
  }
  // memcpy's pointers must not be null, even for 0 bytes (empty tensors have none).
  if (byte_size_ > 0) std::memcpy(data_.get(), bytes.data(), byte_size_);
}

Tensor::Tensor(const Tensor& other)
    : dtype_(other.dtype_),
      shape_(other.shape_),
      byte_size_(other.byte_size_),
      data_(AllocAligned(other.byte_size_)) {
  if (byte_size_ > 0) std::memcpy(data_.get(), other.data_.get(), byte_size_);
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) {
    Tensor copy(other);
    *this = std::move(copy);
  }
  return *this;
}

bool Tensor::Reshape(Dims new_shape) {
  if (NumElements(new_shape) != NumElements(shape_)) return false;
  shape_ = std::move(new_shape);
  return true;
}

}  // namespace engine
