// A token bucket: rate tokens per second up to burst. Pure (time is passed in).
#pragma once

#include <algorithm>
#include <chrono>

namespace stocksync::worker {

class RequestBucket {
public:
  using Time = std::chrono::steady_clock::time_point;
  RequestBucket() = default;
  // Starts full, or empty with start_empty (a restarted worker cannot know
  // how much of the channel's bucket its previous life used).
  RequestBucket(double rate, double burst, Time now, bool start_empty = false)
      : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(start_empty ? 0.0 : burst_), at_(now) {}
  bool unlimited() const { return rate_ <= 0; }
  // Takes one token if there is one.
  bool try_take(Time now) {
    if (unlimited())
      return true;
    refill(now);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return true;
    }
    return false;
  }
  // When the next token is there.
  Time next_token(Time now) {
    if (unlimited())
      return now;
    refill(now);
    if (tokens_ >= 1.0)
      return now;
    auto wait = std::chrono::duration<double>((1.0 - tokens_) / rate_);
    return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait) + std::chrono::microseconds(1);
  }
  // Empties the bucket (the channel said it is throttled).
  void drain(Time now) {
    refill(now);
    tokens_ = 0;
  }

private:
  void refill(Time now) {
    if (now > at_) {
      tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - at_).count() * rate_);
      at_ = now;
    }
  }
  double rate_ = 0, burst_ = 1, tokens_ = 1;
  Time at_{};
};

}  // namespace stocksync::worker
