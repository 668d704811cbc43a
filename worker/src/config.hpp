// The worker's configuration: stocksync.toml, checked key by key.
#pragma once

#include "channel_adapter.hpp"
#include "webhooks/webhook_config.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stocksync::worker {

struct SyncConfig {
  std::chrono::milliseconds full_diff_interval{300000};   // periodic full diff
  std::chrono::milliseconds coalescing_window{0};         // extra wait after a listing turns dirty
  std::chrono::milliseconds expire_holds_interval{10000}; // stocksync.expire_holds() period
  int expire_holds_batch = 1000;
  // SELECT stocksync.promote_hot_skus(hot_sku_min_waiters, hot_sku_buckets)
  // this often (0: never): SKUs whose stock_level row has that many sessions
  // queued on its lock are split into that many bucket rows.
  std::chrono::milliseconds hot_sku_check_interval{1000};
  int hot_sku_min_waiters = 2;
  int hot_sku_buckets = 64;
  std::chrono::milliseconds pending_poll_interval{2000};  // notices retry_dead() revivals
  int max_attempts = 8;                                   // then dead
  std::chrono::milliseconds retry_base{500};              // backoff: base * 2^(attempt-1), jittered
  std::chrono::milliseconds retry_max{60000};
  std::chrono::milliseconds stale_hold{60000};            // after a stale compare-and-set, no increase
                                                          // computed before the sale for this long
  std::size_t max_listings_per_round = 5000;              // per channel and flush
};

// Order polling for channels without order webhooks (orders_in/).
struct PollingConfig {
  bool enabled = true;                            // poll every configured amazon, ebay and woocommerce channel
  std::chrono::milliseconds interval{60000};      // between rounds, per channel
  std::chrono::milliseconds overlap{120000};      // asked again behind the cursor (clock skew, late orders)
  std::chrono::milliseconds initial_lookback{3600000};  // first round without a cursor
  int ebay_page_size = 200;                       // getOrders limit (at most 200)
  int amazon_page_size = 100;                     // MaxResultsPerPage (at most 100)
  int woocommerce_page_size = 100;                // per_page (at most 100)
  // A pending/on-hold WooCommerce order's soft hold: the webhook path's
  // webhooks.unpaid_order_ttl_s (set from it, not a [polling] key), so that
  // both paths hold such an order alike.
  long long woocommerce_unpaid_order_ttl_s = 86400;
  long long open_order_ttl_s = 2592000;           // soft hold of an order not yet paid (30 days)
};

// Reconciliation of what channels show (reconcile/).
struct ReconcileConfig {
  bool enabled = true;
  std::chrono::milliseconds interval{900000};     // per channel
  int max_correct_units = 5;                      // larger drift is escalated, not corrected
  std::chrono::milliseconds settle{5000};         // an acknowledgement younger than this is not compared
  std::chrono::milliseconds async_settle{300000}; // same, for channels that apply later (amazon)
  std::chrono::milliseconds request_poll{1000};   // how often stocksync.reconcile() requests are looked for
  bool poll_orders_first = true;                  // a polled channel's orders are polled before its levels are read
};

struct WorkerConfig {
  std::string conninfo;                   // libpq conninfo (secret: never logged)
  std::string slot = "stocksync_worker";
  std::string publication = "stocksync";
  bool create_publication = true;
  std::chrono::milliseconds status_interval{10000};  // standby status at least this often
  std::chrono::milliseconds reconnect_min{200};
  std::chrono::milliseconds reconnect_max{10000};
  std::string http_listen = "127.0.0.1:9187";  // empty: no metrics server
  std::string log_level = "info";
  bool log_json = false;
  SyncConfig sync;
  PollingConfig polling;
  ReconcileConfig reconcile;
  std::vector<ChannelConfig> channels;
  std::map<std::string, int> channel_max_attempts;  // per channel override of sync.max_attempts
  WebhookConfig webhooks;                 // [webhooks]: the inbound webhook server
};

// Reads and checks the file. On error returns nullopt and sets error to a
// message naming the file and the offending key.
std::optional<WorkerConfig> load_config(const std::string &path, std::string &error);

// Same, from TOML text (tests); origin names the source in messages.
std::optional<WorkerConfig> parse_config(const std::string &text, const std::string &origin, std::string &error);

}  // namespace stocksync::worker
