// FNV-1a, 64-bit: the non-cryptographic hash the engine uses to identify a
// source model (plans record it; reports and `compare` check it).
// Fowler, Noll, Vo: "FNV hash", draft-eastlake-fnv (IETF), section 2:
// offset basis 0xcbf29ce484222325, prime 0x100000001b3.
#ifndef ENGINE_COMMON_FNV_H_
#define ENGINE_COMMON_FNV_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace engine {

/// FNV-1a 64 of `bytes`, continuing from `hash` (the offset basis by default).
inline uint64_t Fnv1a64(std::string_view bytes, uint64_t hash = 0xcbf29ce484222325ULL) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

/// Fnv1a64(`bytes`) as 16 lower-case hex digits.
inline std::string Fnv1a64Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t h = Fnv1a64(bytes);
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<size_t>(i)] = kHex[h & 15];
  return out;
}

}  // namespace engine

#endif  // ENGINE_COMMON_FNV_H_
