// A token bucket: `rate` tokens a second flow in up to `burst`; a call takes
// `cost` tokens (one for a plain API call). Amazon documents its usage plans
// in exactly these terms (channel-apis.md §2.5); we use the same shape for
// every per-(channel, operation) limit.
//
// Pure arithmetic on a caller-supplied monotonic time in seconds, so the sync
// core's deterministic simulation and the unit tests drive it with a fake
// clock. RateGate (rate_gate.hpp) puts it on the io_context.
#pragma once

namespace stocksync::worker {

class TokenBucket {
public:
  // Starts full: the channel grants a fresh client its burst.
  TokenBucket(double rate_per_s, double burst, double now);

  double rate() const { return rate_; }
  double burst() const { return burst_; }
  double paused_until() const { return paused_until_; }

  // Tokens available at `now` (never more than burst).
  double available(double now) const;

  // Seconds from `now` until `cost` tokens are available (0: admissible now).
  // A cost above burst is treated as burst, so it waits rather than starves.
  double wait_seconds(double now, double cost = 1) const;

  // Takes `cost` tokens if admissible now.
  bool try_take(double now, double cost = 1);

  // Live signal (x-amzn-RateLimit-Limit): the rate the channel applies now.
  // Tokens already in the bucket stay; burst is unchanged.
  void set_rate(double rate_per_s, double now);

  // The channel refused a call (429): whatever we believed, it has no tokens
  // for us, and with Retry-After it names the earliest time it will.
  void drain(double now);
  void pause_until(double until, double now);

private:
  void refill(double now);

  double rate_;
  double burst_;
  double tokens_;
  double last_;
  double paused_until_ = 0;
};

}  // namespace stocksync::worker
