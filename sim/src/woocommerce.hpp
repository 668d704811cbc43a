// WooCommerce REST API v3 subset (channel-apis.md §4), under
// /woo/{name}/wp-json/wc/v3/: products (list, read, update), products/batch
// (create+update+delete at most 100, HTTP 413 above, inline per-item errors),
// variations and their batch, orders (list with modified_after in the site's
// timezone or, with dates_are_gmt, in GMT; read); auth by
// consumer key/secret (HTTP Basic or query parameters); order.created
// webhooks exactly as WC_Webhook::deliver sends them (no retry, disabled after
// more than 5 consecutive failures, Delivery-ID fresh per delivery).
#pragma once

#include "channel.hpp"

namespace sim {

class WooChannel : public Channel {
 public:
  using Channel::Channel;
  Response handle(const Request& req, const std::vector<std::string>& rest, double now, double latency_s) override;
  Response throttled(double now) override;
  Response server_error(int status) override;
  HeaderMap attempt_headers(const WebhookEvent& ev, const Attempt& a, double now) override;
  void on_delivery_result(const Attempt& a, int status) override;
  json order_json(const Order& o) const override;
  json product_json(const Listing& l) const;
  bool webhook_disabled() const { return disabled_; }

 protected:
  std::string new_order_id(int64_t n) override;
  void init_order(Order& o, const Listing& l, double now) override;
  void on_order_placed(Order& o, Listing& l, double now) override;
  void on_order_cancelled(Order& o, Listing& l, double now) override;
  void inspect_extra(json& j) const override;

 private:
  // Applies one update object; returns the product or an inline error object.
  json update_item(const json& item, const std::string& parent, double now, int* status);
  Response batch(const Request& req, const std::string& parent, double now);
  Response list_products(const Request& req, const std::string& parent);
  Response list_orders(const Request& req);
  // The site's timezone (scenario gmt_offset) in seconds east of GMT: the
  // non-_gmt dates and what modified_after means without dates_are_gmt.
  double site_offset_s() const { return cfg_.gmt_offset * 3600.0; }
  int64_t failures_ = 0;
  bool disabled_ = false;
};

}  // namespace sim
