#include "kernels/packed_weights.h"

#include <mutex>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "absl/hash/hash.h"
#include "kernels/sgemm_packed.h"

namespace engine::kernels {
namespace {

// The weights' address and dimensions identify them (the kernels of one
// engine, in every context and at every shape, read the same constant); the
// content hash guards against another weight allocated later at a freed one's
// address, so a hit needs an address reuse and a hash collision together.
struct Key {
  const float* address;
  size_t hash;
  int64_t groups, m, k;
  int kind;  // 0: PackA; 1: PackB of B [m = K, k = N]; 2: of B stored transposed [N, K]
  bool operator==(const Key& o) const {
    return std::tie(address, hash, groups, m, k, kind) ==
           std::tie(o.address, o.hash, o.groups, o.m, o.k, o.kind);
  }
};
struct KeyHash {
  size_t operator()(const Key& key) const {
    return absl::HashOf(key.address, key.hash, key.groups, key.m, key.k, key.kind);
  }
};

struct Table {
  std::mutex mu;
  std::unordered_map<Key, std::weak_ptr<const std::vector<float>>, KeyHash> entries;
};

Table& GetTable() {
  static Table* table = new Table;  // never destroyed: kernels may outlive static destruction
  return *table;
}

// The shared packed copy of `groups` matrices of m x k floats at `a` of the
// given kind (Key::kind), packed by `pack` into `floats` floats on a miss.
template <typename PackFn>
std::shared_ptr<const std::vector<float>> Shared(const float* a, int64_t groups, int64_t m,
                                                 int64_t k, int kind, int64_t floats,
                                                 const PackFn& pack) {
  const size_t bytes = static_cast<size_t>(groups * m * k) * sizeof(float);
  const Key key{a, absl::HashOf(std::string_view(reinterpret_cast<const char*>(a), bytes)),
                groups, m, k, kind};
  Table& table = GetTable();
  {
    std::lock_guard<std::mutex> lock(table.mu);
    auto it = table.entries.find(key);
    if (it != table.entries.end()) {
      if (std::shared_ptr<const std::vector<float>> hit = it->second.lock()) return hit;
    }
  }
  // Pack outside the lock (another thread may pack the same weights: the
  // first to insert wins, the other copy is dropped).
  auto packed = std::make_shared<std::vector<float>>(static_cast<size_t>(floats));
  pack(packed->data());
  std::lock_guard<std::mutex> lock(table.mu);
  // Drop the entries whose users are gone.
  for (auto it = table.entries.begin(); it != table.entries.end();) {
    it = it->second.expired() ? table.entries.erase(it) : std::next(it);
  }
  auto [it, inserted] = table.entries.try_emplace(key, packed);
  if (!inserted) {
    if (std::shared_ptr<const std::vector<float>> other = it->second.lock()) return other;
    it->second = packed;
  }
  return packed;
}

}  // namespace

std::shared_ptr<const std::vector<float>> SharedPackedA(const float* a, int64_t groups, int64_t m,
                                                       int64_t k) {
  const int64_t stride = PackedAFloats(m, k);
  return Shared(a, groups, m, k, 0, groups * stride, [&](float* out) {
    for (int64_t g = 0; g < groups; ++g) PackA(a + g * m * k, m, k, k, 1, out + g * stride);
  });
}

std::shared_ptr<const std::vector<float>> SharedPackedB(const float* b, int64_t k, int64_t n,
                                                       bool transposed) {
  return Shared(b, 1, k, n, transposed ? 2 : 1, PackedBFloats(k, 0, n), [&](float* out) {
    PackB(b, transposed ? 1 : n, transposed ? k : 1, 0, k, 0, n, out);
  });
}

size_t SharedPackedACount() {
  Table& table = GetTable();
  std::lock_guard<std::mutex> lock(table.mu);
  size_t live = 0;
  for (const auto& [key, entry] : table.entries) live += entry.expired() ? 0 : 1;
  return live;
}

}  // namespace engine::kernels
