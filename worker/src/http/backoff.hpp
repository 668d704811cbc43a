// Retry delays: exponential backoff with full jitter, capped.
//
//   ceiling(attempt) = min(cap, base * 2^(attempt-1))
//   delay(attempt)   = uniform[0, ceiling(attempt))          ("full jitter")
//   with a channel's Retry-After: max(retry_after, delay)
//
// Full jitter spreads the retries of many listings that failed together (one
// 5xx burst) over the whole window instead of synchronising them. The random
// source is a SplitMix64 seeded by the caller, so a seed replays exactly on
// every platform (std::uniform_real_distribution is not portable).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace stocksync::worker {

struct BackoffPolicy {
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds cap{5 * 60 * 1000};  // 5 min: a channel outage is retried at least this often
};

// SplitMix64: tiny, fast, and identical everywhere.
class SplitMix64 {
public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform in [0, 1) with 53 random bits.
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
  std::uint64_t state_;
};

// The exclusive upper bound of the delay before retry number `attempt` (1-based).
std::chrono::milliseconds backoff_ceiling(const BackoffPolicy &policy, int attempt);

// Pure: the delay for `attempt` given a uniform sample u in [0, 1).
std::chrono::milliseconds full_jitter_delay(const BackoffPolicy &policy, int attempt, double u,
                                            std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

class Backoff {
public:
  Backoff(BackoffPolicy policy, std::uint64_t seed) : policy_(policy), rng_(seed) {}
  std::chrono::milliseconds delay(int attempt, std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
    return full_jitter_delay(policy_, attempt, rng_.uniform01(), retry_after);
  }
  const BackoffPolicy &policy() const { return policy_; }

private:
  BackoffPolicy policy_;
  SplitMix64 rng_;
};

}  // namespace stocksync::worker
