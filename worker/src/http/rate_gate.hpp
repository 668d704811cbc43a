// RateGate: a TokenBucket on the io_context. Callers queue in FIFO order and
// are called back (posted, never inside acquire()) when their tokens are
// taken; a steady_timer sleeps until the head of the queue can go. One gate
// per (channel, operation); the adapter feeds it the channel's live signals.
#pragma once

#include "http/token_bucket.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace stocksync::worker {

class RateGate {
public:
  // Monotonic seconds; the default reads std::chrono::steady_clock.
  using Clock = std::function<double()>;

  RateGate(boost::asio::io_context &io, double rate_per_s, double burst, Clock now = {});
  // Waiters still queued are called with admitted = false.
  ~RateGate();

  RateGate(const RateGate &) = delete;
  RateGate &operator=(const RateGate &) = delete;

  // ready(true) once `cost` tokens are taken; ready(false) if the gate is
  // cancelled or destroyed first. Exactly once, always from the io_context.
  void acquire(std::function<void(bool admitted)> ready, double cost = 1);

  // Live signals: the rate the channel says it applies; a 429 without a
  // Retry-After (empty the bucket); a Retry-After (nothing before now + d).
  void set_rate(double rate_per_s);
  void drain();
  void pause_for(std::chrono::milliseconds d);

  // Calls every queued waiter with false.
  void cancel();

  std::size_t waiting() const;
  const TokenBucket &bucket() const;

  static double steady_seconds();

private:
  struct State;
  std::shared_ptr<State> st_;
};

}  // namespace stocksync::worker
