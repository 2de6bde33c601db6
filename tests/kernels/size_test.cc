// Size (src/kernels/size.cc): the element count of the input as an int64
// scalar; data-independent, so it also evaluates on shapes alone.
#include <catch2/catch.hpp>

#include "kernels/kernel.h"
#include "ops/op_registry.h"

namespace engine::kernels {
namespace {

int64_t SizeOf(const Dims& shape) {
  Tensor x(DataType::kFloat32, shape);
  const Tensor* in[] = {&x};
  auto out = ops::EvaluateLayer(ops::OpRegistry::Builtin(), "Size", Attributes(), in);
  REQUIRE(out.ok());
  REQUIRE(out->size() == 1);
  REQUIRE((*out)[0].dtype() == DataType::kInt64);
  REQUIRE((*out)[0].shape().empty());
  return *(*out)[0].data_as<int64_t>();
}

TEST_CASE("Size counts the elements of its input", "[kernels][size]") {
  CHECK(SizeOf({2, 3, 4}) == 24);
  CHECK(SizeOf({}) == 1);        // a scalar has one element
  CHECK(SizeOf({5, 0, 7}) == 0); // an empty tensor has none
}

TEST_CASE("Size evaluates on shapes alone and refuses a wrong arity", "[kernels][size]") {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("Size");
  REQUIRE(def != nullptr);
  CHECK(def->data_independent);
  TensorInfo x;
  x.dtype = DataType::kUint8;
  x.shape = {1000, 1000, 3};  // no data anywhere
  auto out = EvaluateOnShapes(*def, Attributes(), std::span<const TensorInfo>(&x, 1));
  REQUIRE(out.ok());
  CHECK(*(*out)[0].data_as<int64_t>() == 3000000);
  auto none = def->infer(Attributes(), std::span<const TensorInfo>());
  CHECK(none.status().code() == absl::StatusCode::kInvalidArgument);
  // A kernel that reads its data cannot be evaluated on shapes.
  const KernelDef* relu = ops::OpRegistry::Builtin().FindKernel("Relu");
  CHECK(EvaluateOnShapes(*relu, Attributes(), std::span<const TensorInfo>(&x, 1)).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace engine::kernels
