// The webhook server's metrics (rendered into /metrics through
// Metrics::sections). Touched on the io_context thread only.
#pragma once

#include "metrics.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace stocksync::worker::webhooks {

struct WebhookMetrics {
  using Key = std::pair<std::string, std::string>;     // (source, label)
  std::map<std::string, std::uint64_t> received;       // by source
  std::map<Key, std::uint64_t> applied;                // (source, outcome of ingest_webhook)
  std::map<Key, std::uint64_t> rejected;               // (source, reason): nothing written
  std::map<Key, std::uint64_t> refused;                // (source, SQLSTATE): kept in inbound_exception
  std::map<std::string, std::uint64_t> ignored;        // by source: 2xx without effect
  std::map<std::string, std::uint64_t> grouped;        // by source: applied in a transaction with others
  std::map<std::string, std::uint64_t> unmatched_orders;  // by source: orders with unknown listings
  std::int64_t unmatched_lines = -1;                   // gauge (-1 until first read)
  std::uint64_t pruned = 0;                            // receipts removed by the window
  Histogram seconds;                                   // request read -> answer

  std::string render() const;
};

}  // namespace stocksync::worker::webhooks
