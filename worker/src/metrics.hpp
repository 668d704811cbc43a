// The worker's metrics, rendered in the Prometheus text format. Pure data:
// the sync core and the replication client update it, the HTTP server renders it.
// The sync core runs on a thread of its own (sync/core_thread.hpp), so every
// value is an atomic: updates and renders may overlap, and a render sees each
// value whole. The maps are filled before the threads start (channel()
// inserts only at construction).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace stocksync::worker {

// Bucket bounds of durations in seconds: 15 and 30 ms beside the usual
// steps, since the commit-to-acknowledge target is 20 ms and a p99
// interpolated between 10 and 50 ms says little.
inline constexpr std::array<double, 16> kSecondsBuckets{0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05,
                                                        0.1,   0.25,   0.5,   1,    2.5,   5,    10,   60};
// Bucket bounds of listings per push call (the marketplaces' batches go up
// to 250; a webhook consumer's batch_size is its operator's choice).
inline constexpr std::array<double, 10> kBatchSizeBuckets{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000};

// A Prometheus histogram with fixed bucket bounds.
template <const auto &Bounds>
class BasicHistogram {
public:
  static constexpr const auto &bounds = Bounds;
  void observe(double v) {
    std::size_t i = 0;
    while (i < bounds.size() && v > bounds[i])
      ++i;
    ++counts[i];
    double s = sum.load();
    while (!sum.compare_exchange_weak(s, s + v)) {
    }
    ++count;
  }
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts{};  // last = +Inf
  std::atomic<double> sum{0};
  std::atomic<std::uint64_t> count{0};
};
using Histogram = BasicHistogram<kSecondsBuckets>;
using BatchSizeHistogram = BasicHistogram<kBatchSizeBuckets>;

// A metric family's # HELP and # TYPE lines.
void write_family_header(std::ostream &o, const char *name, const char *type, const char *help);

// A sample value in the shortest form that reads back exactly (an ostream's
// default six digits would print a sum of a million listings as 1e+06).
std::string prometheus_number(double v);

// Writes h's _bucket, _sum and _count lines; `label` is `name="value"` or empty.
template <const auto &Bounds>
void write_histogram(std::ostream &o, const std::string &name, const std::string &label,
                     const BasicHistogram<Bounds> &h) {
  const std::string labels = label.empty() ? "" : "{" + label + "}";
  const std::string bucket_prefix = name + "_bucket{" + (label.empty() ? "" : label + ",") + "le=\"";
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    cum += h.counts[i];
    o << bucket_prefix << prometheus_number(h.bounds[i]) << "\"} " << cum << '\n';
  }
  cum += h.counts.back();
  o << bucket_prefix << "+Inf\"} " << cum << '\n';
  o << name << "_sum" << labels << ' ' << prometheus_number(h.sum.load()) << '\n';
  o << name << "_count" << labels << ' ' << h.count.load() << '\n';
}

struct ChannelMetrics {
  Histogram ack_lag_seconds;       // commit -> channel acknowledgement
  BatchSizeHistogram batch_size;   // listings per push
  Histogram push_seconds;          // a push call on the I/O thread, from sending to its answer
  Histogram push_round_trip_seconds;  // from the sync core handing a push over to it taking the answer
  std::atomic<std::uint64_t> pushes{0};        // push() calls
  std::atomic<std::uint64_t> listings_acked{0};
  std::atomic<std::uint64_t> throttled{0};     // throttled responses
  std::atomic<std::uint64_t> retries{0};       // listings scheduled for retry
  std::atomic<std::uint64_t> stale{0};         // compare-and-set refusals
  std::atomic<std::uint64_t> permanent_errors{0};
  std::atomic<std::uint64_t> dead{0};          // listings that went dead
  std::atomic<std::uint64_t> shadow_recorded{0};
  std::atomic<std::int64_t> dirty{0};          // gauge: dirty queue depth
  std::atomic<std::int64_t> in_flight{0};      // gauge: listings in flight
};

// A label value escaped for the Prometheus text format (\\, \" and \n).
std::string prometheus_escape(const std::string &s);

// The sync core's database calls, by step of a round: where a change waits
// between its decoding and its push.
struct SyncStepMetrics {
  Histogram resolve;  // resolve(): which decoded transactions are visible yet, and their SKUs' listings
  Histogram load;     // load_keys(): desired and stored state of the picked listings
  Histogram write;    // write_states(): answers and new in_flight states, one commit
};

struct Metrics {
  std::map<std::string, ChannelMetrics> channels;
  SyncStepMetrics sync_steps;
  std::atomic<std::uint64_t> changes_decoded{0};
  std::atomic<std::uint64_t> transactions_decoded{0};
  std::atomic<std::uint64_t> replication_reconnects{0};
  std::atomic<std::uint64_t> slot_recreated{0};
  std::atomic<std::uint64_t> full_diffs{0};
  std::atomic<std::uint64_t> db_errors{0};
  std::atomic<std::uint64_t> holds_expired{0};
  std::atomic<std::uint64_t> hot_skus_promoted{0};  // SKUs promote_hot_skus() switched to buckets
  std::atomic<double> replication_lag_bytes{0};    // server WAL end - confirmed flush
  std::atomic<double> replication_lag_seconds{0};  // now - commit time of the last decoded commit (0 when idle)
  std::atomic<bool> replication_connected{false};
  std::atomic<std::int64_t> dirty_skus{0};
  std::atomic<std::int64_t> dead_listings{0};      // gauge from the last diff
  // Further metric families rendered after these (the webhook server's, order
  // polling's, reconciliation's), each in the Prometheus text format, called
  // on the io_context thread.
  std::vector<std::function<std::string()>> sections;

  ChannelMetrics &channel(const std::string &code) { return channels[code]; }
  std::string render() const;
};

}  // namespace stocksync::worker
