// WooCommerce REST v3 adapter (channel-apis.md §4): stock quantities through
// the batch endpoint, at most 100 items a call (HTTP 413 above), per-item
// errors inline in a 200, HTTP Basic auth with the consumer key and secret.
//
//   POST {base_url}/wp-json/wc/v3/products/batch
//   (variations: {base_url}/wp-json/wc/v3/products/{parent}/variations/batch)
//   Authorization: Basic base64(ck_...:cs_...)
//   {"update": [{"id": 799, "stock_quantity": 7, "manage_stock": true}]}
//   -> 200 {"update": [<product>, {"id": 999, "error": {"code", "message", "data": {"status": 400}}}]}
//
// manage_stock is sent true every time: without it stock_quantity means
// nothing (§4.7). Listing ids: "799" (product) or "810/812" (variation 812 of
// product 810). A 413 means the site lowered woocommerce_rest_batch_items_limit:
// the limit from its message becomes our max_batch() and the items come back
// retryable (no own retry, per the adapter contract).
//
// Basic auth sends the secret on every request, so base_url must be https
// (plain http is allowed to a loopback simulator only).
//
// Config: base_url (the site root; simulator http://127.0.0.1:PORT/woo/{name});
// credentials consumer_key, consumer_secret; batch_size (100 at most);
// rate_per_sec/burst (default from http/rate_defaults: ours, 2/4, WooCommerce
// core has no limit); max_in_flight
// (2).
#pragma once

#include "adapters/adapter_util.hpp"
#include "channel_adapter.hpp"
#include "http/rate_defaults.hpp"
#include "http/rate_gate.hpp"

#include <memory>
#include <optional>
#include <string>

namespace stocksync::worker {

struct WooOptions {
  std::string code;
  std::string base_url;
  std::string consumer_key, consumer_secret;
  std::size_t batch = 100;
  // http/rate_defaults: ours (WooCommerce core has no limit).
  double rate = default_rate("woocommerce", "products/batch").rate;
  double burst = default_rate("woocommerce", "products/batch").burst;
  // Outstanding push() calls: each batch call runs up to 100 product saves
  // in one PHP worker (§4.4), so two keep the site busy without taking all
  // of a small host's workers. max_in_flight overrides it.
  std::size_t in_flight = 2;
  std::chrono::milliseconds timeout{30000};  // a 100-item batch runs 100 product saves

  static std::optional<WooOptions> from_config(const ChannelConfig &cfg, std::string &error);
};

// "799" -> {"", "799"}; "810/812" -> {"810", "812"}.
struct WooListingId {
  std::string parent;
  std::string id;
};
std::optional<WooListingId> parse_woo_listing_id(const std::string &external_id);

class WooCommerceAdapter : public ChannelAdapter {
public:
  WooCommerceAdapter(WooOptions options, boost::asio::io_context &io, HttpClient &http,
                     AdapterClock clock = AdapterClock::real());
  ~WooCommerceAdapter() override;

  std::size_t max_batch() const override { return opts_.batch; }
  std::size_t max_in_flight() const override { return opts_.in_flight; }
  void push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) override;
  bool can_get() const override { return true; }
  void authorized_get(const std::string &path_and_query, std::chrono::milliseconds timeout,
                      std::function<void(HttpResponse)> done) override;
  void shutdown() override;

  const RateGate &gate() const { return gate_; }

private:
  void send(const std::shared_ptr<PushJob> &job, std::string parent, std::vector<std::size_t> items);
  void on_batch(const std::shared_ptr<PushJob> &job, const std::vector<std::size_t> &items, const HttpResponse &r);

  WooOptions opts_;
  boost::asio::io_context &io_;
  HttpClient &http_;
  AdapterClock clock_;
  RateGate gate_;
  std::string auth_header_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  bool stopped_ = false;
};

std::unique_ptr<ChannelAdapter> make_woocommerce_adapter(const ChannelConfig &cfg, AdapterEnv &env,
                                                         std::string &error);

}  // namespace stocksync::worker
