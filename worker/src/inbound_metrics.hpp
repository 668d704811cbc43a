// Metrics of the order polling (orders_in/) and the reconciliation
// (reconcile/), per channel. Rendered as a section of Metrics (metrics.hpp)
// in the Prometheus text format; names and meanings in docs/worker.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace stocksync::worker {

struct PollMetrics {
  std::uint64_t rounds = 0;       // complete poll rounds (cursor advanced)
  std::uint64_t errors = 0;       // rounds ended by an error (cursor kept)
  std::uint64_t requests = 0;     // order API calls
  std::uint64_t throttled = 0;    // 429 answers
  std::map<std::string, std::uint64_t> orders;  // by action: reserved, committed, released, unmatched, skipped
  std::int64_t unmatched_open = 0;              // gauge: unmatched_order rows not resolved
  double cursor_age_seconds = 0;                // gauge: now - polled_through after the last round
};

struct ReconcileMetrics {
  std::uint64_t runs = 0;
  std::uint64_t errors = 0;
  std::uint64_t corrected = 0;   // drifted listings pushed again
  std::uint64_t escalated = 0;   // drift above the correction limit
  std::optional<double> accuracy;  // gauge: last run's share of compared listings in agreement
  std::map<std::string, std::int64_t> last_run;  // gauge by result: agree, drift, unsettled, unreadable
};

struct InboundMetrics {
  std::map<std::string, PollMetrics> poll;
  std::map<std::string, ReconcileMetrics> reconcile;
  std::string render() const;
};

}  // namespace stocksync::worker
