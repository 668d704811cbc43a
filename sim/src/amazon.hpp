// Amazon SP-API subset (channel-apis.md §2), under /amazon/{name}/: the LWA
// token endpoint (auth/o2/token: refresh token -> access token with
// expires_in), x-amz-access-token on every call (403 Unauthorized when
// missing, unknown or expired), patchListingsItem / getListingsItem
// (listings/2021-08-01/items/{sellerId}/{sku}: fulfillment_availability
// quantity written snake_case, read camelCase, ACCEPTED then applied after a
// configurable processing delay), getOrders / getOrder / getOrderItems
// (orders/v0) for polling by time; per-operation token buckets with 429
// QuotaExceeded and x-amzn-RateLimit-Limit on every answer.
#pragma once

#include <deque>
#include <map>

#include "channel.hpp"
#include "rate_limit.hpp"

namespace sim {

class AmazonChannel : public Channel {
 public:
  using Channel::Channel;
  Response handle(const Request& req, const std::vector<std::string>& rest, double now, double latency_s) override;
  Response throttled(double now) override;
  Response server_error(int status) override;
  void tick(double now) override;
  json order_json(const Order& o) const override;
  size_t pending_updates() const { return pending_.size(); }

 protected:
  std::string new_order_id(int64_t n) override;
  void init_order(Order& o, const Listing& l, double now) override;
  void on_order_cancelled(Order& o, Listing& l, double now) override;
  void inspect_extra(json& j) const override;

 private:
  Response lwa(const Request& req, double now);
  Response patch_listing(const Request& req, Listing& l, double now);
  Response get_listing(const Request& req, const Listing& l);
  Response get_orders(const Request& req, double now);
  json order_items_json(const Order& o) const;
  std::pair<double, double> limit_of(const std::string& op) const;

  struct Pending {
    double apply_at;
    std::string sku, submission;
    int64_t quantity;
    bool clear_siblings;  // replace drops lead time and restock date
    std::optional<int64_t> lead_time;
  };
  std::map<std::string, double> tokens_;  // access token -> expiry
  std::map<std::string, TokenBucket> buckets_;
  std::deque<Pending> pending_;
  std::map<std::string, double> last_apply_;  // per SKU, keeps updates in submission order
  std::vector<std::pair<double, std::string>> unpend_;  // Pending -> Unshipped
};

}  // namespace sim
