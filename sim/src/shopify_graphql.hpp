// Shopify Admin GraphQL, API 2026-04 dialect (channel-apis.md §1):
// POST /shopify/{shop}/admin/api/2026-04/graphql.json with X-Shopify-Access-Token.
// inventorySetQuantities / inventoryAdjustQuantities (250-entry cap,
// changeFromQuantity on every entry, @idempotent(key:) required, idempotent
// replay and its mismatch / concurrent-request errors), inventory level
// queries for reconciliation, the calculated-cost leaky bucket with
// extensions.cost on every answer and THROTTLED as HTTP 200, and signed
// orders/create, orders/cancelled (and inventory_levels/update) webhooks.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "channel.hpp"
#include "graphql_parse.hpp"
#include "rate_limit.hpp"

namespace sim {

class ShopifyChannel : public Channel {
 public:
  ShopifyChannel(ChannelConfig cfg, uint64_t seed, double start, double retry_compression);

  Response handle(const Request& req, const std::vector<std::string>& rest, double now, double latency_s) override;
  Response throttled(double now) override;
  Response server_error(int status) override;
  HeaderMap attempt_headers(const WebhookEvent& ev, const Attempt& a, double now) override;
  json order_json(const Order& o) const override;
  void manual_edit(Listing& l, int64_t q, bool silent, double now) override;

  // Executes a GraphQL request body (JSON {"query", "variables", "operationName"}).
  Response graphql(const std::string& body, bool raw_graphql, double now, double latency_s);
  // How long an idempotency key stays "in flight" per second of response latency
  // (the scenario's time_scale: latency is real time, keys live in scenario time).
  double time_scale = 1;

 protected:
  std::string new_order_id(int64_t n) override;
  void init_order(Order& o, const Listing& l, double now) override;
  void on_order_placed(Order& o, Listing& l, double now) override;
  void on_order_cancelled(Order& o, Listing& l, double now) override;
  void inspect_extra(json& j) const override;

 private:
  struct Exec;
  struct IdemEntry {
    std::string fingerprint;
    json payload;  // the unprojected mutation payload, replayed on a true retry
    double in_flight_until = 0;
    double expires = 0;
  };

  json cost_extension(double requested, const json& actual, double now);
  // path: the response path of v, a stack the recursion pushes to and pops
  // (made into JSON only for an error: no copy per field and element).
  json project(const json& obj, const std::vector<gql::Selection>& sels, Exec& ex, std::vector<json>& path);
  json complete(const json& v, const gql::Field& f, Exec& ex, std::vector<json>& path);
  bool hook(const std::string& type, const gql::Field& f, const json& obj, Exec& ex, json& out);
  double static_cost(const std::vector<gql::Selection>& sels, const gql::Document& doc, const json& vars, int depth);
  json mutation_field(const gql::Field& f, const json& input, const std::string& key, Exec& ex, double now,
                      double latency_s);
  json set_quantities(const json& input, double now);
  json adjust_quantities(const json& input, double now);
  json adjustment_payload(const char* payload_type, const json& input, json changes, double now);
  json inventory_change(const Listing& l, const std::string& name, int64_t delta, json ledger_document_uri) const;
  json item_json(const Listing& l) const;
  json level_json(const Listing& l) const;
  json location_json(const std::string& id) const;
  json connection(const std::vector<json>& nodes, const gql::Field& f, Exec& ex, const std::string& type);
  Listing* level(const std::string& item_gid, const std::string& location_gid);
  bool known_item(const std::string& gid) const;
  bool known_location(const std::string& gid) const;

  std::map<std::string, size_t> level_index_;  // "itemGid|locationGid" -> listing
  std::set<std::string> item_gids_, location_gids_;
  CostBucket bucket_;
  std::map<std::string, IdemEntry> idem_;
  // Keys by expiry, oldest first (a key is stored once and every key is kept
  // as long, so insertion order is expiry order): expiring costs what expires,
  // not a scan of every key kept for a day.
  std::deque<std::pair<double, std::string>> idem_expiry_;
  int64_t group_seq_ = 0;
  int64_t webhook_seq_ = 0;
};

}  // namespace sim
