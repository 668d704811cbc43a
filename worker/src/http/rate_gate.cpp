// RateGate: TokenBucket + steady_timer + FIFO; see rate_gate.hpp.
#include "http/rate_gate.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cmath>
#include <deque>

namespace stocksync::worker {

namespace asio = boost::asio;

struct RateGate::State : std::enable_shared_from_this<State> {
  struct Waiter {
    std::function<void(bool)> ready;
    double cost;
  };

  State(asio::io_context &io, double rate, double burst, Clock clock)
      : io(io), now(std::move(clock)), bucket(rate, burst, now()), timer(io) {}

  asio::io_context &io;
  Clock now;
  TokenBucket bucket;
  asio::steady_timer timer;
  std::deque<Waiter> queue;
  std::uint64_t generation = 0;  // identifies the current timer arming

  // Admits waiters from the head while tokens last, then sleeps until the
  // head can go.
  void pump() {
    while (!queue.empty()) {
      double t = now();
      if (!bucket.try_take(t, queue.front().cost)) {
        arm(bucket.wait_seconds(t, queue.front().cost));
        return;
      }
      auto ready = std::move(queue.front().ready);
      queue.pop_front();
      asio::post(io, [ready = std::move(ready)] { ready(true); });
    }
  }

  void arm(double seconds) {
    // At least 1 ms: float residue must not spin the loop on a zero wait.
    auto us = static_cast<long long>(std::ceil(std::max(seconds, 0.001) * 1e6));
    timer.expires_after(std::chrono::microseconds(us));
    std::uint64_t gen = ++generation;
    std::weak_ptr<State> weak = shared_from_this();
    timer.async_wait([weak, gen](const boost::system::error_code &ec) {
      auto self = weak.lock();
      if (!self || ec || gen != self->generation)
        return;
      self->pump();
    });
  }

  void cancel_all() {
    ++generation;
    timer.cancel();
    while (!queue.empty()) {
      auto ready = std::move(queue.front().ready);
      queue.pop_front();
      asio::post(io, [ready = std::move(ready)] { ready(false); });
    }
  }
};

double RateGate::steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

RateGate::RateGate(asio::io_context &io, double rate_per_s, double burst, Clock now)
    : st_(std::make_shared<State>(io, rate_per_s, burst, now ? std::move(now) : Clock(&RateGate::steady_seconds))) {}

RateGate::~RateGate() { st_->cancel_all(); }

void RateGate::acquire(std::function<void(bool)> ready, double cost) {
  st_->queue.push_back({std::move(ready), cost});
  if (st_->queue.size() == 1)
    st_->pump();
}

void RateGate::set_rate(double rate_per_s) {
  st_->bucket.set_rate(rate_per_s, st_->now());
  if (!st_->queue.empty())
    st_->pump();  // re-arms for the new rate
}

void RateGate::drain() { st_->bucket.drain(st_->now()); }

void RateGate::pause_for(std::chrono::milliseconds d) {
  double t = st_->now();
  st_->bucket.pause_until(t + std::chrono::duration<double>(d).count(), t);
  if (!st_->queue.empty())
    st_->pump();
}

void RateGate::cancel() { st_->cancel_all(); }

std::size_t RateGate::waiting() const { return st_->queue.size(); }

const TokenBucket &RateGate::bucket() const { return st_->bucket; }

}  // namespace stocksync::worker
