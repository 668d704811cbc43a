// The scenario clock. Every decision in the simulator (token expiry, rate limits,
// processing delays, buyer arrivals, webhook retries) reads this clock, never the
// wall clock directly, so a scenario can run compressed, frozen or stepped.
//
//   now = start + offset + time_scale * (real seconds since construction)
//
// time_scale 0 freezes the clock: it then moves only through advance(), which is
// what the determinism tests and /_sim/advance use.
#pragma once

#include <chrono>

namespace sim {

class Clock {
 public:
  virtual ~Clock() = default;
  // Scenario time as unix seconds (fractional).
  virtual double now() const = 0;
  // Moves scenario time forward by dt seconds.
  virtual void advance(double dt) = 0;
};

// Clock driven by std::chrono::steady_clock, scaled.
class ScaledClock : public Clock {
 public:
  ScaledClock(double start_unix, double time_scale)
      : start_(start_unix), scale_(time_scale), origin_(std::chrono::steady_clock::now()) {}
  double now() const override {
    std::chrono::duration<double> real = std::chrono::steady_clock::now() - origin_;
    return start_ + offset_ + scale_ * real.count();
  }
  void advance(double dt) override { offset_ += dt; }
  double time_scale() const { return scale_; }

 private:
  double start_;
  double scale_;
  double offset_ = 0;
  std::chrono::steady_clock::time_point origin_;
};

// Clock that only moves when told to (unit tests).
class ManualClock : public Clock {
 public:
  explicit ManualClock(double start_unix) : t_(start_unix) {}
  double now() const override { return t_; }
  void advance(double dt) override { t_ += dt; }
  void set(double t) { t_ = t; }

 private:
  double t_;
};

// Wall clock in unix seconds; used once, to pick the default scenario start.
inline double wall_unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace sim
