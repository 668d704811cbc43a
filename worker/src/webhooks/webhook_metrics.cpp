// Prometheus text for WebhookMetrics; see webhook_metrics.hpp.
#include "webhooks/webhook_metrics.hpp"

#include <sstream>

namespace stocksync::worker::webhooks {

namespace {

std::string quoted(const std::string &s) { return "\"" + prometheus_escape(s) + "\""; }

void by_source(std::ostream &o, const char *name, const char *help, const std::map<std::string, std::uint64_t> &m) {
  write_family_header(o, name, "counter", help);
  for (const auto &[s, v] : m)
    o << name << "{source=" << quoted(s) << "} " << v << '\n';
}

void by_pair(std::ostream &o, const char *name, const char *label, const char *help,
             const std::map<WebhookMetrics::Key, std::uint64_t> &m) {
  write_family_header(o, name, "counter", help);
  for (const auto &[k, v] : m)
    o << name << "{source=" << quoted(k.first) << ',' << label << '=' << quoted(k.second) << "} " << v << '\n';
}

}  // namespace

std::string WebhookMetrics::render() const {
  std::ostringstream o;
  by_source(o, "stocksync_webhooks_received_total", "Webhook requests received.", received);
  by_pair(o, "stocksync_webhooks_applied_total", "outcome", "Webhooks applied and committed, by outcome.", applied);
  by_pair(o, "stocksync_webhooks_rejected_total", "reason",
          "Webhooks rejected (or replayed) with nothing written, by reason.", rejected);
  by_pair(o, "stocksync_webhooks_refused_total", "sqlstate",
          "Webhooks a stocksync function refused, kept in stocksync.inbound_exception.", refused);
  by_source(o, "stocksync_webhooks_ignored_total", "Webhooks answered 2xx without effect (other topics, pings).",
            ignored);
  by_source(o, "stocksync_webhooks_grouped_total",
            "Order webhooks applied in one transaction with other queued orders (webhooks.batch_max).", grouped);
  by_source(o, "stocksync_webhook_unmatched_orders_total", "Orders received with lines for unknown listings.",
            unmatched_orders);
  write_family_header(o, "stocksync_unmatched_order_lines", "gauge", "Open lines of stocksync.unmatched_order_line.");
  if (unmatched_lines >= 0)
    o << "stocksync_unmatched_order_lines " << unmatched_lines << '\n';
  write_family_header(o, "stocksync_webhook_receipts_pruned_total", "counter", "Webhook receipts removed after the de-duplication window.");
  o << "stocksync_webhook_receipts_pruned_total " << pruned << '\n';
  write_family_header(o, "stocksync_webhook_seconds", "histogram", "Webhook request read to answer written.");
  write_histogram(o, "stocksync_webhook_seconds", "", seconds);
  return o.str();
}

}  // namespace stocksync::worker::webhooks
