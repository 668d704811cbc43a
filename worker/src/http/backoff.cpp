// Exponential backoff with full jitter; see backoff.hpp.
#include "http/backoff.hpp"

#include <algorithm>

namespace stocksync::worker {

std::uint64_t SplitMix64::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::chrono::milliseconds backoff_ceiling(const BackoffPolicy &policy, int attempt) {
  long long base = std::max<long long>(1, policy.base.count());
  long long cap = std::max<long long>(base, policy.cap.count());
  // Doubling stops at the cap; 62 shifts would overflow long before that.
  long long ceiling = base;
  for (int i = 1; i < attempt && ceiling < cap; ++i)
    ceiling *= 2;
  return std::chrono::milliseconds(std::min(ceiling, cap));
}

std::chrono::milliseconds full_jitter_delay(const BackoffPolicy &policy, int attempt, double u,
                                            std::optional<std::chrono::milliseconds> retry_after) {
  u = std::clamp(u, 0.0, 1.0);
  auto ceiling = backoff_ceiling(policy, attempt);
  auto delay = std::chrono::milliseconds(static_cast<long long>(u * static_cast<double>(ceiling.count())));
  if (delay >= ceiling && ceiling.count() > 0)
    delay = ceiling - std::chrono::milliseconds(1);
  if (retry_after && *retry_after > delay)
    delay = *retry_after;
  return delay;
}

}  // namespace stocksync::worker
