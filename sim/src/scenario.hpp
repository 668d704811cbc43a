// The TOML scenario: channel instances, their credentials, listings, buyers,
// webhook delivery quirks and faults. See sim/README.md and
// sim/scenarios/example.toml for the format. All times in a scenario are
// seconds of scenario time; windows (outages, storms, spikes, drift) are
// relative to the scenario start.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sim {

struct ScenarioError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ChannelKind { shopify, amazon, ebay, woocommerce, webhook };
const char* to_string(ChannelKind k);
std::optional<ChannelKind> parse_kind(const std::string& s);

struct Window {
  double start = 0;
  double end = 0;
  int status = 503;        // outages: the status answered
  double multiplier = 1;   // spikes: rate multiplier
};

// Response latency: fixed, uniform, normal or lognormal, in milliseconds.
struct LatencyDist {
  std::string dist = "none";  // none | fixed | uniform | normal | lognormal
  double ms = 0;              // fixed
  double min_ms = 0, max_ms = 0;       // uniform
  double mean_ms = 0, stddev_ms = 0;   // normal
  double median_ms = 0, p99_ms = 0;    // lognormal
};

struct DriftEvent {
  double at = 0;           // seconds after scenario start
  std::string listing;     // listing id
  std::optional<int64_t> quantity;  // set to this...
  int64_t delta = 0;       // ...or change by this
  bool silent = false;     // true: no inventory webhook (webhook-silent change)
};

struct Faults {
  LatencyDist latency;
  double error_rate = 0;            // share of requests answered with a 5xx
  std::vector<int> error_statuses{500, 502, 503};
  double timeout_rate = 0;          // share of requests never answered
  double timeout_s = 30;            // how long a "timeout" holds the socket (real seconds)
  std::vector<Window> outages;      // every request answered with the window's status
  std::vector<Window> throttle_storms;  // every request throttled the channel's way
  std::vector<DriftEvent> drift;    // scheduled manual edits on the channel side
  double drift_per_hour = 0;        // random manual edits (per channel)
  double silent_change_per_hour = 0;  // random webhook-silent changes (per channel)
  int64_t drift_max_delta = 3;
  std::vector<std::string> refused_offers;  // eBay: offer ids whose bulk updates are refused (400, 25713)
};

struct Buyers {
  double orders_per_hour = 0;  // steady rate per listing
  int64_t max_quantity = 1;    // quantity per order is uniform in [1, max_quantity], capped at shown
  std::vector<Window> spikes;  // windows with a rate multiplier
  double random_spikes_per_hour = 0;  // extra spikes at random times (per channel)
  double spike_duration_s = 60;
  double spike_multiplier = 10;
  double cancel_rate = 0;      // share of orders cancelled later (restocks the listing)
  double cancel_after_s = 600;
  double pending_s = 0;        // Amazon: seconds an order stays Pending before Unshipped
};

struct Delivery {
  double duplicate_rate = 0;   // extra delivery of the same event
  double delay_rate = 0;       // delivery held back by a random delay
  double delay_min_s = 1, delay_max_s = 30;
  double reorder_rate = 0;     // delivery held back behind the next events
  double reorder_delay_s = 5;
  double drop_rate = 0;        // event never delivered (left for reconciliation / polling)
  double timeout_s = 5;        // request timeout of the sender (real seconds)
};

struct ListingConfig {
  std::string id;              // channel's own listing id (see README per kind)
  std::string sku;
  int64_t quantity = 0;        // initial shown quantity
  std::optional<double> orders_per_hour;  // overrides the channel's buyers rate
  // Shopify
  std::string location_id, variant_id, product_id;
  int64_t committed = 0;
  // Amazon
  std::string product_type = "PRODUCT", asin;
  // eBay
  std::string offer_id, listing_id;
  std::optional<int64_t> offer_quantity;  // defaults to quantity
  std::vector<std::string> other_offer_ids;  // further published offers of the SKU (other marketplaces)
  // WooCommerce
  std::string parent_id;       // variation: parent product id
  bool manage_stock = true;
  std::string title, price = "19.90";
};

struct ChannelConfig {
  std::string name;
  ChannelKind kind = ChannelKind::shopify;
  std::vector<ListingConfig> listings;
  Buyers buyers;
  Delivery delivery;
  Faults faults;
  std::string webhook_url;                 // where order webhooks go (the worker)
  std::vector<std::string> webhook_topics; // Shopify topics; WooCommerce: order.created

  // Credentials. Defaults depend on the kind (see apply_kind_defaults):
  // Shopify: client_secret signs webhooks; Amazon: LWA client; eBay: OAuth client.
  std::string client_id;
  std::string client_secret;
  std::string refresh_token;
  double token_ttl_s = 0;

  // Shopify
  std::string access_token = "shpat_sim";
  std::string shop_domain;                 // default "{name}.myshopify.com"
  std::string api_version = "2026-04";
  std::string location_id = "124656943";
  double bucket_size = 2000, restore_rate = 100;
  double max_query_cost = 1000;
  double idempotency_retention_s = 86400;
  bool adjust_requires_change_from = true;

  // Amazon (LWA + SP-API)
  std::string seller_id = "A1B2C3D4E5";
  std::string marketplace_id = "ATVPDKIKX0DER";
  double processing_delay_min_s = 30, processing_delay_max_s = 120;
  double orders_visibility_lag_s = 120;   // LastUpdatedBefore default = now - 2 min
  std::map<std::string, std::pair<double, double>> rate_limits;  // op -> (rate, burst)

  // eBay
  int64_t daily_quota = 2000000;           // calls per day (Pacific day)
  int64_t revisions_per_day = 250;         // per listing
  std::string ebay_marketplace_id = "EBAY_DE";

  // WooCommerce
  std::string consumer_key = "ck_sim";
  std::string consumer_secret = "cs_sim";
  std::string webhook_secret = "hush";
  int64_t webhook_id = 1;
  int64_t batch_limit = 100;
  int64_t max_delivery_failures = 5;
  double gmt_offset = 0;  // the site's timezone, hours east of GMT (WordPress's gmt_offset option)

  // Custom consumer (kind webhook): Standard Webhooks secret and tolerance
  std::string std_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  double tolerance_s = 300;

  // Fills credentials left empty with the kind's defaults.
  void apply_kind_defaults();
};

struct Scenario {
  uint64_t seed = 1;
  std::optional<double> start_time;   // unix seconds; default: wall clock at start-up
  double time_scale = 1;              // scenario seconds per real second; 0 = frozen
  double webhook_retry_compression = 1;  // webhook retry schedules divided by this
  double tick_ms = 20;
  std::vector<ChannelConfig> channels;
};

Scenario load_scenario_file(const std::string& path);
Scenario parse_scenario(const std::string& toml_text);

}  // namespace sim
