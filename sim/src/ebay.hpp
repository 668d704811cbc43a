// eBay subset (channel-apis.md §3), under /ebay/{name}/: the OAuth token
// endpoint (identity/v1/oauth2/token, refresh-token grant -> 2-hour user
// token), Sell Inventory bulk_update_price_quantity (25 requests / 25 offers a
// call, 200 or 207 with a statusCode per offer (per entry when it has no
// offers), offers refused on demand (faults.refused_offers), the listing shows
// min(shipToLocationAvailability, offer availableQuantity), 250 revisions per
// listing per day), inventory item and offer reads, Fulfillment getOrders with
// the creationdate / lastmodifieddate / orderfulfillmentstatus filters, and a
// daily call quota answered with 429. No inventory webhooks.
#pragma once

#include <map>

#include "channel.hpp"

namespace sim {

class EbayChannel : public Channel {
 public:
  using Channel::Channel;
  Response handle(const Request& req, const std::vector<std::string>& rest, double now, double latency_s) override;
  Response throttled(double now) override;
  Response server_error(int status) override;
  json order_json(const Order& o) const override;
  void manual_edit(Listing& l, int64_t q, bool silent, double now) override;

 protected:
  std::string new_order_id(int64_t n) override;
  void init_order(Order& o, const Listing& l, double now) override;
  void on_order_placed(Order& o, Listing& l, double now) override;
  void on_order_cancelled(Order& o, Listing& l, double now) override;
  void inspect_extra(json& j) const override;

 private:
  Response token(const Request& req, double now);
  Response bulk_update(const Request& req, double now);
  Response get_orders(const Request& req);
  json offer_json(const Listing& l) const;
  json offer_json(const Listing& l, const std::string& offer_id, int64_t quantity) const;
  json item_json(const Listing& l) const;
  struct Token {
    double expires;
    bool user;
  };
  std::map<std::string, Token> tokens_;
  int64_t quota_day_ = -1;
  int64_t calls_today_ = 0;
};

}  // namespace sim
