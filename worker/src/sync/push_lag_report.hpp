// Each channel's observed p99 push lag (commit -> acknowledgement), taken from
// the ack_lag_seconds histograms over the last window and reported to the
// database (stocksync.report_push_lag), where a channel's dynamic safety
// buffer protects twice that by default (docs/sql-reference.md).
#pragma once

#include "metrics.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stocksync::worker {

// A histogram's bucket counts read at one moment (Histogram layout).
using HistogramCounts = std::array<std::uint64_t, Histogram::bounds.size() + 1>;
HistogramCounts snapshot(const Histogram &h);

// The upper bound of the bucket that holds quantile q of `counts` (Histogram
// layout); an observation beyond the last bound counts as that bound.
// nullopt when there are no observations.
std::optional<double> histogram_quantile(const HistogramCounts &counts, double q);

// The p99 per channel over the observations since the previous take(); a
// channel with fewer than min_samples new observations is left out (its
// previous figure stands) and its observations carry over to the next window.
class PushLagWindow {
public:
  explicit PushLagWindow(std::uint64_t min_samples) : min_samples_(min_samples) {}
  std::vector<std::pair<std::string, double>> take(const Metrics &metrics);

private:
  std::uint64_t min_samples_;
  std::map<std::string, HistogramCounts> taken_;  // counts at the last report per channel
};

}  // namespace stocksync::worker
