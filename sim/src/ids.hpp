// Deterministic identifiers in the shapes the channels use.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "rng.hpp"

namespace sim {

// "gid://shopify/InventoryItem/123" -> "123"; other strings unchanged.
inline std::string strip_gid(const std::string& s) {
  if (s.rfind("gid://", 0) != 0) return s;
  auto slash = s.rfind('/');
  return s.substr(slash + 1);
}

// A numeric id derived from another numeric id (distinct per salt); falls back to a hash.
inline std::string derived_numeric_id(const std::string& base, int salt) {
  uint64_t v = stable_hash(base + "#" + std::to_string(salt)) % 900000000ULL + 100000000ULL;
  return std::to_string(v);
}

inline std::string hex_id(uint64_t v, int digits) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back(hex[(v >> (4 * (digits - 1 - i))) & 15]);
  return out;
}

// 8-4-4-4-12 lower-case hex, from the generator (deterministic per seed).
inline std::string uuid_like(Rng& rng) {
  uint64_t a = rng.next(), b = rng.next();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

// n random decimal digits.
inline std::string digits(Rng& rng, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>('0' + rng.integer(0, 9)));
  return out;
}

}  // namespace sim
