// Running a loaded engine in tests (header-only: only the test binaries that
// link the runtime include it).
#ifndef ENGINE_TESTS_ENGINE_RUN_UTIL_H_
#define ENGINE_TESTS_ENGINE_RUN_UTIL_H_

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "engine/runtime.h"
#include "test_util.h"

namespace engine::testing {

/// Runs `engine` once with its first input set to RandomTensor(its shape, a
/// generator seeded with `seed`) and returns every output's float32 values,
/// in engine output order (REQUIREs that each step succeeds).
inline std::vector<std::vector<float>> RunOnRandomInput(const Engine& engine, uint32_t seed) {
  auto ctx = engine.CreateExecutionContext();
  REQUIRE(ctx.ok());
  std::mt19937 rng(seed);
  const auto& in = engine.inputs()[0];
  REQUIRE((*ctx)->SetInput(in.name, RandomTensor(in.shape, rng)).ok());
  REQUIRE((*ctx)->Execute().ok());
  std::vector<std::vector<float>> out;
  for (const auto& desc : engine.outputs()) {
    auto y = (*ctx)->GetOutput(desc.name);
    REQUIRE(y.ok());
    const float* f = (*y)->data_as<float>();
    out.emplace_back(f, f + (*y)->num_elements());
  }
  return out;
}

}  // namespace engine::testing

#endif  // ENGINE_TESTS_ENGINE_RUN_UTIL_H_
