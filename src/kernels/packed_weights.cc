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
  bool operator==(const Key& o) const {
    return std::tie(address, hash, groups, m, k) ==
           std::tie(o.address, o.hash, o.groups, o.m, o.k);
  }
};
struct KeyHash {
  size_t operator()(const Key& key) const {
    return absl::HashOf(key.address, key.hash, key.groups, key.m, key.k);
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

}  // namespace

std::shared_ptr<const std::vector<float>> SharedPackedA(const float* a, int64_t groups, int64_t m,
                                                       int64_t k) {
  const size_t bytes = static_cast<size_t>(groups * m * k) * sizeof(float);
  const Key key{a, absl::HashOf(std::string_view(reinterpret_cast<const char*>(a), bytes)),
                groups, m, k};
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
  const int64_t stride = PackedAFloats(m, k);
  auto packed = std::make_shared<std::vector<float>>(static_cast<size_t>(groups * stride));
  for (int64_t g = 0; g < groups; ++g) PackA(a + g * m * k, m, k, k, 1, packed->data() + g * stride);
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

size_t SharedPackedACount() {
  Table& table = GetTable();
  std::lock_guard<std::mutex> lock(table.mu);
  size_t live = 0;
  for (const auto& [key, entry] : table.entries) live += entry.expired() ? 0 : 1;
  return live;
}

}  // namespace engine::kernels
