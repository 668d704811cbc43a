// The interface between the sync core and one channel's API.
//
// The sync core decides *what* to push (desired quantity read from
// stocksync.listing_target at push time, the last acknowledged quantity from
// stocksync.listing_state) and *when* (dirty set, coalescing, decreases first,
// retries with backoff and the dead state). An adapter only turns a batch of
// ListingPush into API calls and the answers into one PushResult per listing.
//
// Contract for implementations:
//   - One adapter instance per configured channel, used from the io_context
//     thread only.
//   - push() receives at most max_batch() listings, each external_id at most
//     once. The core keeps at most max_in_flight() push() calls outstanding
//     per channel.
//   - done is called exactly once per push(), from the io_context, never from
//     inside push() (post it if the answer is immediate), with exactly one
//     PushResult per ListingPush, in any order, matched by external_id.
//   - The adapter honours the channel's rate limit itself (it may hold a batch
//     until its limiter admits it) and reports live throttle signals
//     (Retry-After, Shopify throttleStatus, x-amzn-RateLimit-Limit) through
//     PushResult::retry_after / throttled.
//   - The adapter does not retry a failed push on its own (except to refresh
//     an expired auth token once); it reports retryable and the core schedules
//     the retry (backoff with jitter, dead after the configured attempts).
//   - A true retry carries the same idempotency_key as the attempt it
//     repeats; a distinct push (different quantity or compare value) carries
//     a fresh one. Adapters with an idempotency mechanism use it.
//   - Secrets from ChannelConfig::credentials never reach a log line or a
//     PushResult::message.
#pragma once

#include "http/http_client.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace stocksync::worker {

// One listing's push.
struct ListingPush {
  std::string external_id;  // the channel's own id (inventory item id, seller SKU, offer id...)
  std::string sku;          // internal SKU (for logs and for channels keyed by SKU)
  int desired_qty = 0;      // the quantity the channel should show, never < 0
  // The quantity the channel last acknowledged for this listing (the
  // compare-and-set value: Shopify changeFromQuantity). nullopt only when
  // nothing was ever acknowledged.
  std::optional<int> previous_acked_qty;
  std::int64_t inputs_version = 0;  // version of the inputs desired_qty was computed from
  std::string idempotency_key;      // UUID; same on a true retry, fresh per distinct push
  int attempt = 1;                  // 1 on the first attempt
};

enum class PushOutcome {
  acked,      // the channel now shows desired_qty
  stale,      // compare-and-set refused: the channel's quantity is not
              // previous_acked_qty (a sale the ledger has not seen yet);
              // nothing was applied. channel_qty carries the current value
              // when the adapter could read it.
  retryable,  // 429, 5xx, throttled, timeout, transport error: try again later
  permanent,  // 4xx that a retry cannot fix (bad id, auth, validation)
};

const char *to_string(PushOutcome outcome);

struct PushResult {
  std::string external_id;
  PushOutcome outcome = PushOutcome::retryable;
  int acked_qty = 0;                     // acked: the quantity the channel acknowledged
  std::optional<int> channel_qty;        // stale: the channel's current quantity, if read
  std::optional<std::chrono::milliseconds> retry_after;  // retryable: earliest retry the channel asked for
  bool throttled = false;                // retryable because of a rate limit (counts in metrics)
  bool maybe_applied = false;            // retryable after a timeout/lost reply: may have been applied
  bool counts_as_attempt = true;         // retryable: false when this listing was not the cause
                                         // (e.g. a batch rejected for another listing's error)
  std::string message;                   // for listing_state.last_error and logs; no secrets
  // When the answer reached the worker, if the adapter's caller stamped it
  // (CrossThreadAdapter): the acknowledgement's time for the lag metric,
  // rather than when the sync core got round to reading it.
  std::optional<std::chrono::system_clock::time_point> received_at;
};

// A channel's current quantity for one listing (reconciliation).
struct LevelReading {
  std::string external_id;
  std::optional<int> quantity;  // nullopt when the read failed or the listing is unknown
  std::string error;
};

// Everything the configuration says about one channel. Secrets are resolved
// (from env vars or files) before an adapter sees them.
struct ChannelConfig {
  std::string code;      // stocksync.channel.code
  std::string kind;      // shopify, amazon, ebay, woocommerce, webhook
  std::string base_url;  // API root, e.g. https://shop.myshopify.com or the simulator's URL
  std::map<std::string, std::string> credentials;  // e.g. access_token, client_id, client_secret,
                                                   // refresh_token, consumer_key, secret (never logged)
  std::map<std::string, std::string> options;      // kind-specific settings, e.g. location_id,
                                                   // seller_id, marketplace_id, product_type, auth_url
  std::size_t batch_size = 0;     // 0 = the adapter's documented maximum
  double rate_per_sec = 0;        // 0 = the channel's documented default
  double burst = 0;               // 0 = the channel's documented default
  int max_in_flight = 0;          // outstanding push() calls per channel; 0 = the adapter's default
  std::chrono::milliseconds request_timeout{10000};
};

class ChannelAdapter {
public:
  virtual ~ChannelAdapter() = default;

  // Largest batch push() accepts (Shopify 250, eBay 25, WooCommerce 100, Amazon 1).
  virtual std::size_t max_batch() const = 0;

  // How many push() calls the core may keep outstanding at once.
  virtual std::size_t max_in_flight() const { return 1; }

  // True when the adapter honours previous_acked_qty as a compare-and-set.
  virtual bool compare_and_set() const { return false; }

  // True when the channel de-duplicates a whole call by one id derived from
  // its listings' idempotency keys (a Standard Webhooks webhook-id). The core
  // then gives every listing of a call the same key and, after a crash,
  // retries the listings of an uncertain call together under that key, so the
  // retry carries the original id and the consumer drops it instead of
  // applying the call twice.
  virtual bool one_key_per_call() const { return false; }

  // Push a batch; see the contract above.
  virtual void push(std::vector<ListingPush> batch,
                    std::function<void(std::vector<PushResult>)> done) = 0;

  // Read the channel's current quantities (reconciliation, and re-deciding
  // after a stale compare-and-set). Adapters that cannot read answer every
  // listing with quantity nullopt and an error.
  virtual bool can_read_levels() const { return false; }
  virtual void read_levels(std::vector<std::string> external_ids,
                           std::function<void(std::vector<LevelReading>)> done);

  // A GET on the channel's API with the adapter's credentials, for order
  // polling and reconciliation reads (orders_in/, reconcile/). path_and_query
  // is appended to the API base URL. The adapter refreshes an expired token
  // once and resends; rate limits and status codes are the caller's. done is
  // called exactly once, from the io_context. Adapters that cannot answer
  // with an error response (status 0) and can_get() false.
  virtual bool can_get() const { return false; }
  virtual void authorized_get(const std::string &path_and_query, std::chrono::milliseconds timeout,
                              std::function<void(HttpResponse)> done);

  // Stop: cancel timers and queued work; outstanding callbacks still fire once.
  virtual void shutdown() {}
};

// A configured channel and its adapter: what the order poller and the
// reconciler work on (inbound.hpp).
struct AdapterChannel {
  ChannelConfig cfg;
  ChannelAdapter *adapter = nullptr;
};

// What an adapter may use besides its configuration.
struct AdapterEnv {
  boost::asio::io_context &io;
  HttpClient &http;
};

// Builds the adapter for cfg.kind. Returns nullptr and sets error for an
// unknown or not yet supported kind, or a bad kind-specific option.
//
// Each kind has its own factory function, declared in adapters/<kind>.hpp
// and defined in adapters/<kind>.cpp:
//   std::unique_ptr<ChannelAdapter> make_<kind>_adapter(const ChannelConfig &, AdapterEnv &, std::string &error);
std::unique_ptr<ChannelAdapter> make_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error);

}  // namespace stocksync::worker
