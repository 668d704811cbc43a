// Bucket arithmetic shared by the channels:
// - CostBucket: Shopify GraphQL calculated-cost leaky bucket (maximumAvailable,
//   restoreRate); a query is admitted if currentlyAvailable >= requested cost.
// - TokenBucket: Amazon SP-API per-operation token bucket (rate, burst); one
//   token per call.
#pragma once

#include <algorithm>

namespace sim {

class CostBucket {
 public:
  CostBucket(double maximum, double restore_rate, double now)
      : max_(maximum), rate_(restore_rate), available_(maximum), last_(now) {}
  double available(double now) {
    refill(now);
    return available_;
  }
  // Takes cost points if available; returns false (and takes nothing) otherwise.
  bool try_take(double cost, double now) {
    refill(now);
    if (available_ < cost) return false;
    available_ -= cost;
    return true;
  }
  void refund(double points, double now) {
    refill(now);
    available_ = std::min(max_, available_ + points);
  }
  double maximum() const { return max_; }
  double restore_rate() const { return rate_; }

 private:
  void refill(double now) {
    if (now > last_) available_ = std::min(max_, available_ + (now - last_) * rate_);
    last_ = std::max(last_, now);
  }
  double max_, rate_, available_, last_;
};

class TokenBucket {
 public:
  TokenBucket(double rate, double burst, double now) : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}
  bool try_take(double now) {
    if (now > last_) tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
    last_ = std::max(last_, now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }
  double rate() const { return rate_; }
  double burst() const { return burst_; }

 private:
  double rate_, burst_, tokens_, last_;
};

}  // namespace sim
