// Token bucket arithmetic; see token_bucket.hpp.
#include "http/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace stocksync::worker {

namespace {
// A rate of zero would never refill; the smallest documented plan is Amazon's
// searchOrders at 0.0056/s, so anything below 1e-6/s is a configuration error
// that we clamp rather than divide by.
constexpr double kMinRate = 1e-6;
}  // namespace

TokenBucket::TokenBucket(double rate_per_s, double burst, double now)
    : rate_(std::max(rate_per_s, kMinRate)), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

void TokenBucket::refill(double now) {
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
    last_ = now;
  }
}

double TokenBucket::available(double now) const {
  double t = tokens_;
  if (now > last_)
    t = std::min(burst_, t + (now - last_) * rate_);
  return now < paused_until_ ? std::min(t, 0.0) : t;
}

double TokenBucket::wait_seconds(double now, double cost) const {
  cost = std::min(cost, burst_);
  double t = tokens_;
  if (now > last_)
    t = std::min(burst_, t + (now - last_) * rate_);
  // After a pause last_ lies in the future: tokens accrue only from then on.
  double start = std::max(0.0, last_ - now);
  double wait = start + (t >= cost ? 0.0 : (cost - t) / rate_);
  return std::max(wait, paused_until_ - now);
}

bool TokenBucket::try_take(double now, double cost) {
  cost = std::min(cost, burst_);
  if (now < paused_until_)
    return false;
  refill(now);
  // A tiny epsilon absorbs floating-point residue (4.9999999 tokens after
  // exactly one second at 5/s).
  if (tokens_ + 1e-9 < cost)
    return false;
  tokens_ = std::max(0.0, tokens_ - cost);
  return true;
}

void TokenBucket::set_rate(double rate_per_s, double now) {
  if (!(rate_per_s > 0) || !std::isfinite(rate_per_s))
    return;
  refill(now);
  rate_ = std::max(rate_per_s, kMinRate);
}

void TokenBucket::drain(double now) {
  refill(now);
  tokens_ = 0;
}

void TokenBucket::pause_until(double until, double now) {
  refill(now);
  if (until <= now) {
    tokens_ = 0;
    return;
  }
  // The channel named the earliest retry: one call is admissible then, and
  // tokens accrue from then on, not while it refuses us.
  tokens_ = std::min(1.0, burst_);
  last_ = std::max(last_, until);
  paused_until_ = std::max(paused_until_, until);
}

}  // namespace stocksync::worker
