// Seeded randomness. One generator per concern (per channel: buyers, faults,
// delivery, ids), each seeded from the scenario seed and a stable hash of the
// channel name and the concern, so adding a channel or a request on one channel
// never shifts the random stream of another.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>

namespace sim {

// FNV-1a, 64 bit: stable across platforms and runs (std::hash is not).
inline uint64_t stable_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

class Rng {
 public:
  Rng() : gen_(0) {}
  Rng(uint64_t seed, const std::string& stream) : gen_(seed ^ stable_hash(stream)) {}

  // Uniform in [0, 1). Implemented by hand: std::uniform_real_distribution's
  // algorithm is implementation-defined, which would break cross-library determinism.
  double uniform() { return static_cast<double>(gen_() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [lo, hi].
  int64_t integer(int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(gen_() % span);
  }
  bool chance(double p) { return p > 0 && uniform() < p; }
  // Exponential with the given rate (events per unit); rate <= 0 -> infinity.
  double exponential(double rate) {
    if (rate <= 0) return INFINITY;
    return -std::log(1.0 - uniform()) / rate;
  }
  // Standard normal (Box-Muller).
  double normal() {
    double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }
  uint64_t next() { return gen_(); }

 private:
  std::mt19937_64 gen_;
};

}  // namespace sim
