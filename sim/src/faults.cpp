#include "faults.hpp"

#include <algorithm>
#include <cmath>

namespace sim {

bool FaultInjector::in_outage(double now, int* status) const {
  if (manual_outage) {
    if (status) *status = manual_outage_status;
    return true;
  }
  double rel = now - start_;
  for (auto& w : f_.outages)
    if (rel >= w.start && rel < w.end) {
      if (status) *status = w.status;
      return true;
    }
  return false;
}

bool FaultInjector::in_storm(double now) const {
  if (manual_storm) return true;
  double rel = now - start_;
  for (auto& w : f_.throttle_storms)
    if (rel >= w.start && rel < w.end) return true;
  return false;
}

double FaultInjector::sample_latency_s() {
  const auto& l = f_.latency;
  double ms = 0;
  if (l.dist == "fixed") {
    ms = l.ms;
  } else if (l.dist == "uniform") {
    ms = rng_.uniform(l.min_ms, std::max(l.min_ms, l.max_ms));
  } else if (l.dist == "normal") {
    ms = l.mean_ms + l.stddev_ms * rng_.normal();
  } else if (l.dist == "lognormal") {
    // median = e^mu; p99 = e^(mu + 2.326 sigma)
    double mu = std::log(std::max(l.median_ms, 0.001));
    double sigma = l.p99_ms > l.median_ms ? (std::log(l.p99_ms) - mu) / 2.326348 : 0.0;
    ms = std::exp(mu + sigma * rng_.normal());
  }
  return std::max(0.0, ms) / 1000.0;
}

FaultDecision FaultInjector::decide(double now) {
  FaultDecision d;
  // Draw all random parts every time so the stream does not depend on which branch is taken.
  d.latency_s = sample_latency_s();
  bool timeout = rng_.chance(f_.timeout_rate);
  bool error = rng_.chance(f_.error_rate);
  size_t which = f_.error_statuses.empty() ? 0 : static_cast<size_t>(rng_.integer(0, f_.error_statuses.size() - 1));
  int st = 503;
  if (in_outage(now, &st)) {
    d.kind = FaultDecision::Kind::outage;
    d.status = st;
  } else if (in_storm(now)) {
    d.kind = FaultDecision::Kind::throttle;
  } else if (timeout) {
    d.kind = FaultDecision::Kind::timeout;
  } else if (error) {
    d.kind = FaultDecision::Kind::error;
    d.status = f_.error_statuses.empty() ? 500 : f_.error_statuses[which];
  }
  return d;
}

}  // namespace sim
