// One simulated channel instance: its listings and orders, its buyers' effect
// on the shown quantities, its faults, the webhook events it emits, and the
// protocol surface a subclass implements (shopify_graphql, amazon, ebay,
// woocommerce, std_webhooks).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faults.hpp"
#include "http_types.hpp"
#include "rng.hpp"
#include "scenario.hpp"
#include "store.hpp"
#include "webhook_queue.hpp"

namespace sim {

using json = nlohmann::ordered_json;

// Compact JSON serialisation used for every response body and webhook payload.
std::string dump(const json& j);

class Channel {
 public:
  Channel(ChannelConfig cfg, uint64_t seed, double start, double retry_compression);
  virtual ~Channel() = default;

  const ChannelConfig& cfg() const { return cfg_; }
  const std::string& name() const { return cfg_.name; }
  ChannelKind kind() const { return cfg_.kind; }

  // Entry point for a request below /{kind}/{name}/: decides faults, counts, then handle().
  Response serve(const Request& req, const std::vector<std::string>& rest, double now);
  // The protocol itself, without injected faults; latency_s is how long the answer
  // will be held (Shopify keeps an idempotency key in flight that long).
  virtual Response handle(const Request& req, const std::vector<std::string>& rest, double now,
                          double latency_s = 0) = 0;
  // The channel's own throttled answer (throttling storm) and 5xx answer.
  virtual Response throttled(double now) = 0;
  virtual Response server_error(int status);

  // Background work due at now: scheduled drift, cancellations, kind-specific work.
  virtual void tick(double now);

  Listing* find(const std::string& id);
  const Listing* find(const std::string& id) const;
  std::vector<Listing>& listings() { return listings_; }
  std::vector<Order>& orders() { return orders_; }
  Order* find_order(const std::string& id);

  // Sets the shown quantity and records history (no-op in history if unchanged and cause is push).
  virtual void set_shown(Listing& l, int64_t q, double now, const std::string& cause, const std::string& detail = {});
  // A buyer buys qty (capped at what is shown); nullptr when nothing is shown.
  Order* place_order(Listing& l, int64_t qty, double now);
  void cancel_order(Order& o, double now);
  // A manual edit on the channel side (drift); silent = no inventory webhook even where one exists.
  virtual void manual_edit(Listing& l, int64_t q, bool silent, double now);

  // Webhook events emitted since the last call.
  std::vector<std::shared_ptr<WebhookEvent>> take_events();
  // Per-attempt headers (signature, ids) of an outgoing webhook.
  virtual HeaderMap attempt_headers(const WebhookEvent& ev, const Attempt& a, double now);
  virtual void on_delivery_result(const Attempt& a, int status);

  json inspect() const;
  virtual json listing_json(const Listing& l) const;
  // The order in the channel's own representation (what webhooks and polls return).
  virtual json order_json(const Order& o) const;

  Stats stats;
  DeliveryStats delivery_stats;
  std::vector<DeliveryRecord> deliveries;
  FaultInjector faults;
  Rng rng_buyers, rng_delivery, rng_ids, rng_drift;

 protected:
  // Kind hooks around orders.
  virtual std::string new_order_id(int64_t n);
  virtual void init_order(Order& o, const Listing& l, double now);
  virtual void on_order_placed(Order& o, Listing& l, double now);
  virtual void on_order_cancelled(Order& o, Listing& l, double now);
  virtual void inspect_extra(json& j) const;
  // Queues a webhook event to cfg_.webhook_url (if any and the topic is subscribed).
  std::shared_ptr<WebhookEvent> emit(const std::string& topic, const std::string& body, double now,
                                     std::vector<double> retry_delays);
  bool subscribed(const std::string& topic) const;
  // Appends a listing and indexes it (listings are never removed).
  Listing& add_listing(Listing l);
  void count(const std::string& op) { ++stats.calls[op]; }

  ChannelConfig cfg_;
  double start_;
  double retry_compression_;
  std::vector<Listing> listings_;
  std::vector<Order> orders_;
  std::map<std::string, size_t> listing_index_, order_index_;
  std::vector<std::shared_ptr<WebhookEvent>> outbox_;
  std::vector<std::pair<double, std::string>> cancels_;  // (due, order id)
  size_t next_drift_ = 0;
  double next_random_drift_ = 0, next_silent_change_ = 0;
  int64_t event_seq_ = 0;
};

// Creates the channel class for cfg.kind.
std::unique_ptr<Channel> make_channel(const ChannelConfig& cfg, uint64_t seed, double start, double retry_compression);

}  // namespace sim
