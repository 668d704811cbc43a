// Observed p99 push lag per channel; see push_lag_report.hpp.
#include "sync/push_lag_report.hpp"

#include <cmath>

namespace stocksync::worker {

HistogramCounts snapshot(const Histogram &h) {
  HistogramCounts out{};
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = h.counts[i].load(std::memory_order_relaxed);
  return out;
}

std::optional<double> histogram_quantile(const HistogramCounts &counts, double q) {
  std::uint64_t total = 0;
  for (auto c : counts)
    total += c;
  if (total == 0)
    return std::nullopt;
  // The smallest bucket whose cumulative count reaches ceil(q * total).
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank)
      return i < Histogram::bounds.size() ? Histogram::bounds[i] : Histogram::bounds.back();
  }
  return Histogram::bounds.back();
}

std::vector<std::pair<std::string, double>> PushLagWindow::take(const Metrics &metrics) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto &[code, m] : metrics.channels) {
    HistogramCounts &last = taken_[code];
    const HistogramCounts now = snapshot(m.ack_lag_seconds);
    HistogramCounts window{};
    std::uint64_t fresh = 0;
    for (std::size_t i = 0; i < window.size(); ++i) {
      window[i] = now[i] - last[i];
      fresh += window[i];
    }
    if (fresh < min_samples_ || fresh == 0)
      continue;
    if (auto p99 = histogram_quantile(window, 0.99)) {
      out.emplace_back(code, *p99);
      last = now;
    }
  }
  return out;
}

}  // namespace stocksync::worker
