// Helpers shared by the kernel tests.
#ifndef ENGINE_TESTS_KERNELS_KERNEL_TEST_UTIL_H_
#define ENGINE_TESTS_KERNELS_KERNEL_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "kernels/kernel.h"

namespace engine::kernels::testing {

/// Runs layer `type` on constant inputs with the built-in registry.
inline absl::StatusOr<std::vector<Tensor>> Eval(const std::string& type, const Attributes& attrs,
                                                std::vector<const Tensor*> inputs) {
  return ops::EvaluateLayer(ops::OpRegistry::Builtin(), type, attrs, inputs);
}

/// Runs a single-output layer and returns its output (failing the test on error).
inline Tensor Eval1(const std::string& type, const Attributes& attrs,
                    std::vector<const Tensor*> inputs) {
  absl::StatusOr<std::vector<Tensor>> out = Eval(type, attrs, inputs);
  INFO(type << ": " << out.status().ToString());
  REQUIRE(out.ok());
  REQUIRE(out->size() == 1);
  return std::move((*out)[0]);
}

}  // namespace engine::kernels::testing

#endif  // ENGINE_TESTS_KERNELS_KERNEL_TEST_UTIL_H_
