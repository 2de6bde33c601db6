// SharedPackedA (packed_weights.h): one packed copy per distinct weight
// content, equal to PackA's, shared while a user holds it, never confused
// with other weights at the same address; and Conv kernels re-prepared for
// another input shape (a dynamic batch) reuse their packed weights.
#include "kernels/packed_weights.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/sgemm_packed.h"
#include "ops/op_registry.h"

namespace engine::kernels {
namespace {

std::vector<float> Random(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<float> Reference(const std::vector<float>& a, int64_t groups, int64_t m, int64_t k) {
  const int64_t stride = PackedAFloats(m, k);
  std::vector<float> out(static_cast<size_t>(groups * stride));
  for (int64_t g = 0; g < groups; ++g) PackA(a.data() + g * m * k, m, k, k, 1, out.data() + g * stride);
  return out;
}

TEST_CASE("SharedPackedA shares one PackA copy per weight", "[kernels][packed_weights]") {
  const int64_t groups = 2, m = 19, k = 7;  // m not a multiple of 16: padded rows
  const size_t live = SharedPackedACount();
  std::vector<float> w = Random(groups * m * k, 1);
  std::vector<float> copy = w;  // same content, another address: another weight
  auto a = SharedPackedA(w.data(), groups, m, k);
  auto a2 = SharedPackedA(w.data(), groups, m, k);
  auto b = SharedPackedA(copy.data(), groups, m, k);
  CHECK(a.get() == a2.get());
  CHECK(a.get() != b.get());
  CHECK(*a == Reference(w, groups, m, k));
  CHECK(*b == *a);
  CHECK(SharedPackedACount() == live + 2);
  a2.reset();
  // Other dimensions over the same bytes: another packing.
  auto c = SharedPackedA(w.data(), 1, groups * m, k);
  CHECK(c.get() != a.get());
  CHECK(*c == Reference(w, 1, groups * m, k));
  // New content at the same address while the old packing is alive.
  w[5] += 1.0f;
  auto d = SharedPackedA(w.data(), groups, m, k);
  CHECK(d.get() != a.get());
  CHECK(*d == Reference(w, groups, m, k));
  CHECK(*a == Reference(copy, groups, m, k));  // the first users keep theirs
  a.reset();
  b.reset();
  c.reset();
  d.reset();
  CHECK(SharedPackedACount() == live);
}

TEST_CASE("Conv kernels prepared at two batch sizes share their packed weights",
          "[kernels][packed_weights]") {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("Conv");
  REQUIRE(def != nullptr);
  Tensor w(DataType::kFloat32, {32, 8, 3, 3});
  std::vector<float> values = Random(32 * 8 * 9, 2);
  std::copy(values.begin(), values.end(), w.data_as<float>());
  Attributes attrs;
  attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
  attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const size_t live = SharedPackedACount();
  std::vector<std::unique_ptr<Kernel>> kernels;
  for (int64_t batch : {1, 3}) {
    std::vector<TensorInfo> in(2);
    in[0].dtype = DataType::kFloat32;
    in[0].shape = {batch, 8, 20, 20};
    in[1].dtype = DataType::kFloat32;
    in[1].shape = w.shape();
    in[1].constant = &w;
    auto out = def->infer(attrs, in);
    REQUIRE(out.ok());
    kernels.push_back(def->create());
    REQUIRE(kernels.back()->Prepare(attrs, in, *out).ok());
  }
  CHECK(SharedPackedACount() == live + 1);
  kernels.clear();
  CHECK(SharedPackedACount() == live);
}

}  // namespace
}  // namespace engine::kernels
