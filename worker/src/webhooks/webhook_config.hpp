// The [webhooks] table of stocksync.toml: where the webhook server listens,
// its limits, and the Standard Webhooks sources that are not channels.
// Shopify and WooCommerce channels take part through their
// credentials.webhook_secret (docs/webhooks.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace stocksync::worker {

struct WebhookSourceConfig {
  std::string name;                 // route /webhooks/standard/<name>; the receipts' source
  std::string secret;               // whsec_<base64> (never logged)
  std::string channel;              // stocksync.channel of its order events ("" = none)
  std::string location = "default"; // stock.updated without a location
};

struct WebhookConfig {
  std::string listen;                           // host:port; "" (default) disables the server
  std::size_t max_body_bytes = 1u << 20;        // larger bodies: 413
  std::int64_t tolerance_s = 300;               // Standard Webhooks timestamp tolerance
  std::int64_t dedupe_window_s = 72 * 3600;     // receipts kept this long
  std::int64_t unpaid_order_ttl_s = 86400;      // soft hold of an order not yet paid
  int db_connections = 2;                       // pool threads, one connection each (see docs/webhooks.md)
  std::size_t batch_max = 100;                  // queued orders applied in one transaction; 1: each alone
  std::size_t queue_limit = 1024;               // waiting webhooks; more: 503
  std::chrono::milliseconds prune_interval{3600000};
  std::chrono::milliseconds report_interval{10000};  // unmatched-lines gauge refresh
  std::vector<WebhookSourceConfig> sources;
};

}  // namespace stocksync::worker
