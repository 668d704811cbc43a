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
  std::chrono::milliseconds pending_poll_interval{2000};  // notices retry_dead() revivals
  int max_attempts = 8;                                   // then dead
  std::chrono::milliseconds retry_base{500};              // backoff: base * 2^(attempt-1), jittered
  std::chrono::milliseconds retry_max{60000};
  std::chrono::milliseconds stale_hold{60000};            // after a stale compare-and-set, no increase
                                                          // computed before the sale for this long
  std::size_t max_listings_per_round = 5000;              // per channel and flush
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
