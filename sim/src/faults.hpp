// Per-request fault decisions for one channel: outages and throttling storms
// (scenario windows or switched on through /_sim), injected 5xx and timeouts,
// and response latency drawn from the scenario's distribution.
#pragma once

#include <map>
#include <string>

#include "rng.hpp"
#include "scenario.hpp"

namespace sim {

struct FaultDecision {
  enum class Kind { none, outage, error, timeout, throttle } kind = Kind::none;
  int status = 0;
  double latency_s = 0;  // real seconds to hold the response
};

class FaultInjector {
 public:
  FaultInjector(const Faults& f, double start, Rng rng) : f_(f), start_(start), rng_(rng) {
    for (const auto& o : f.refused_offers) refused_offers[o] = 400;
  }
  // One decision per request, in this order: outage, storm, timeout, 5xx; latency always.
  FaultDecision decide(double now);
  double sample_latency_s();
  bool in_outage(double now, int* status = nullptr) const;
  bool in_storm(double now) const;

  // Switched through the control endpoints.
  bool manual_outage = false;
  int manual_outage_status = 503;
  bool manual_storm = false;
  // eBay: offers whose part of a bulk update is refused, with the statusCode
  // answered for it (4xx: errorId 25713, 5xx: errorId 25001). The entry's
  // other offers and its inventory item are still applied.
  std::map<std::string, int> refused_offers;

 private:
  Faults f_;
  double start_;
  Rng rng_;
};

}  // namespace sim
