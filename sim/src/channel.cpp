#include "channel.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "ids.hpp"
#include "timefmt.hpp"

namespace sim {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Channel::Channel(ChannelConfig cfg, uint64_t seed, double start, double retry_compression)
    : faults(cfg.faults, start, Rng(seed, cfg.name + "/faults")),
      rng_buyers(seed, cfg.name + "/buyers"),
      rng_delivery(seed, cfg.name + "/delivery"),
      rng_ids(seed, cfg.name + "/ids"),
      rng_drift(seed, cfg.name + "/drift"),
      cfg_(std::move(cfg)),
      start_(start),
      retry_compression_(retry_compression) {
  for (auto& lc : cfg_.listings) {
    Listing l;
    l.id = lc.id;
    l.sku = lc.sku;
    l.shown = lc.quantity;
    l.updated_at = start;
    l.title = lc.title.empty() ? "Product " + lc.sku : lc.title;
    l.price = lc.price;
    l.orders_per_hour = lc.orders_per_hour.value_or(cfg_.buyers.orders_per_hour);
    switch (cfg_.kind) {
      case ChannelKind::shopify: {
        // id is the inventory item id; "item@location" names a level at another location.
        auto at = lc.id.find('@');
        l.inventory_item_id = strip_gid(lc.id.substr(0, at));
        std::string loc = !lc.location_id.empty() ? lc.location_id
                          : at != std::string::npos ? lc.id.substr(at + 1)
                                                    : cfg_.location_id;
        l.location_id = strip_gid(loc);
        l.variant_id = lc.variant_id.empty() ? derived_numeric_id(l.inventory_item_id, 1) : lc.variant_id;
        l.product_id = lc.product_id.empty() ? derived_numeric_id(l.inventory_item_id, 2) : lc.product_id;
        l.committed = lc.committed;
        break;
      }
      case ChannelKind::amazon:
        l.product_type = lc.product_type;
        l.asin = lc.asin.empty() ? "B0" + hex_id(stable_hash(lc.sku), 8) : lc.asin;
        break;
      case ChannelKind::ebay:
        l.offer_id = lc.offer_id.empty() ? std::to_string(1000000000 + stable_hash(cfg_.name + lc.sku) % 8999999999ULL)
                                         : lc.offer_id;
        l.listing_id = lc.listing_id.empty()
                           ? std::to_string(110000000000ULL + stable_hash(lc.sku + cfg_.name) % 89999999999ULL)
                           : lc.listing_id;
        l.total_quantity = lc.quantity;
        l.offer_quantity = lc.offer_quantity.value_or(lc.quantity);
        l.shown = std::min(l.total_quantity, l.offer_quantity);
        for (const auto& o : lc.other_offer_ids) l.other_offers[o] = l.offer_quantity;
        break;
      case ChannelKind::woocommerce:
        l.parent_id = lc.parent_id;
        l.manage_stock = lc.manage_stock;
        break;
      case ChannelKind::webhook:
        break;
    }
    l.history.push_back({start, l.shown, "initial", ""});
    add_listing(std::move(l));
  }
  next_random_drift_ = start + rng_drift.exponential(cfg_.faults.drift_per_hour / 3600.0);
  next_silent_change_ = start + rng_drift.exponential(cfg_.faults.silent_change_per_hour / 3600.0);
  std::stable_sort(cfg_.faults.drift.begin(), cfg_.faults.drift.end(),
                   [](const DriftEvent& a, const DriftEvent& b) { return a.at < b.at; });
}

Response Channel::server_error(int status) {
  return json_response(status, dump({{"errors", "Internal Server Error"}}));
}

Response Channel::serve(const Request& req, const std::vector<std::string>& rest, double now) {
  FaultDecision d = faults.decide(now);
  Response r;
  switch (d.kind) {
    case FaultDecision::Kind::outage:
    case FaultDecision::Kind::error:
      r = server_error(d.status);
      break;
    case FaultDecision::Kind::throttle:
      r = throttled(now);
      ++stats.throttled;
      break;
    case FaultDecision::Kind::timeout:
      r.timeout = true;
      r.timeout_s = cfg_.faults.timeout_s;
      ++stats.timeouts;
      break;
    case FaultDecision::Kind::none:
      r = handle(req, rest, now, d.latency_s);
      break;
  }
  r.delay_s = d.latency_s;
  if (!r.timeout) {
    ++stats.statuses[std::to_string(r.status)];
    if (r.status >= 500) ++stats.failed;
  }
  return r;
}

Listing& Channel::add_listing(Listing l) {
  listing_index_[l.id] = listings_.size();
  listings_.push_back(std::move(l));
  return listings_.back();
}

Listing* Channel::find(const std::string& id) {
  auto it = listing_index_.find(id);
  return it == listing_index_.end() ? nullptr : &listings_[it->second];
}

const Listing* Channel::find(const std::string& id) const {
  auto it = listing_index_.find(id);
  return it == listing_index_.end() ? nullptr : &listings_[it->second];
}

Order* Channel::find_order(const std::string& id) {
  auto it = order_index_.find(id);
  return it == order_index_.end() ? nullptr : &orders_[it->second];
}

void Channel::set_shown(Listing& l, int64_t q, double now, const std::string& cause, const std::string& detail) {
  l.shown = q;
  l.updated_at = now;
  l.history.push_back({now, q, cause, detail});
}

std::string Channel::new_order_id(int64_t n) { return cfg_.name + "-" + std::to_string(n); }

void Channel::init_order(Order& o, const Listing& l, double now) {
  (void)l;
  (void)now;
  o.status = "open";
}

Order* Channel::place_order(Listing& l, int64_t qty, double now) {
  if (l.shown <= 0) {
    ++stats.buyer_arrivals_without_stock;
    return nullptr;
  }
  qty = std::min(qty, l.shown);
  Order o;
  o.number = static_cast<int64_t>(orders_.size()) + 1;
  o.id = new_order_id(o.number);
  o.listing_id = l.id;
  o.sku = l.sku;
  o.quantity = qty;
  o.price = l.price;
  o.line_item_id = std::to_string(466157049 + o.number * 7);
  o.created = o.updated = now;
  o.delivery = cfg_.webhook_url.empty() ? "poll" : "webhook";
  init_order(o, l, now);
  // The channel takes the units off its own shown quantity at once, as marketplaces do.
  set_shown(l, l.shown - qty, now, "order", o.id);
  order_index_[o.id] = orders_.size();
  orders_.push_back(o);
  Order& placed = orders_.back();
  if (rng_buyers.chance(cfg_.buyers.cancel_rate)) cancels_.emplace_back(now + cfg_.buyers.cancel_after_s, placed.id);
  on_order_placed(placed, l, now);
  return &orders_.back();
}

void Channel::cancel_order(Order& o, double now) {
  if (o.cancelled) return;
  o.cancelled = true;
  o.cancelled_at = now;
  o.updated = now;
  if (Listing* l = find(o.listing_id)) {
    // Cancelling restocks the channel's own count.
    set_shown(*l, l->shown + o.quantity, now, "cancel", o.id);
    on_order_cancelled(o, *l, now);
  }
}

void Channel::on_order_placed(Order&, Listing&, double) {}
void Channel::on_order_cancelled(Order&, Listing&, double) {}

void Channel::manual_edit(Listing& l, int64_t q, bool silent, double now) {
  set_shown(l, std::max<int64_t>(0, q), now, silent ? "silent_change" : "manual_edit");
}

void Channel::tick(double now) {
  // Scheduled drift from the scenario.
  auto& drift = cfg_.faults.drift;
  while (next_drift_ < drift.size() && start_ + drift[next_drift_].at <= now) {
    const DriftEvent& e = drift[next_drift_++];
    if (Listing* l = find(e.listing)) {
      int64_t q = e.quantity ? *e.quantity : l->shown + e.delta;
      manual_edit(*l, q, e.silent, start_ + e.at);
    }
  }
  // Random drift and webhook-silent changes.
  auto random_edit = [&](double& next, double per_hour, bool silent) {
    while (next <= now && !listings_.empty()) {
      double t = next;
      size_t idx = static_cast<size_t>(rng_drift.integer(0, static_cast<int64_t>(listings_.size()) - 1));
      int64_t delta = rng_drift.integer(1, std::max<int64_t>(1, cfg_.faults.drift_max_delta));
      if (rng_drift.chance(0.5)) delta = -delta;
      Listing& l = listings_[idx];
      manual_edit(l, l.shown + delta, silent, t);
      next = t + rng_drift.exponential(per_hour / 3600.0);
    }
  };
  random_edit(next_random_drift_, cfg_.faults.drift_per_hour, false);
  random_edit(next_silent_change_, cfg_.faults.silent_change_per_hour, true);
  // Cancellations that have come due.
  std::vector<std::pair<double, std::string>> rest;
  std::stable_sort(cancels_.begin(), cancels_.end());
  for (auto& c : cancels_) {
    if (c.first <= now) {
      if (Order* o = find_order(c.second)) cancel_order(*o, c.first);
    } else {
      rest.push_back(c);
    }
  }
  cancels_.swap(rest);
}

bool Channel::subscribed(const std::string& topic) const {
  return std::find(cfg_.webhook_topics.begin(), cfg_.webhook_topics.end(), topic) != cfg_.webhook_topics.end();
}

std::shared_ptr<WebhookEvent> Channel::emit(const std::string& topic, const std::string& body, double now,
                                            std::vector<double> retry_delays) {
  if (cfg_.webhook_url.empty() || !subscribed(topic)) return nullptr;
  auto ev = std::make_shared<WebhookEvent>();
  ev->channel = cfg_.name;
  ev->topic = topic;
  ev->event_id = uuid_like(rng_ids);
  ev->url = cfg_.webhook_url;
  ev->body = body;
  ev->created = now;
  ev->retry_delays = std::move(retry_delays);
  ++event_seq_;
  outbox_.push_back(ev);
  return ev;
}

std::vector<std::shared_ptr<WebhookEvent>> Channel::take_events() {
  std::vector<std::shared_ptr<WebhookEvent>> out;
  out.swap(outbox_);
  return out;
}

HeaderMap Channel::attempt_headers(const WebhookEvent&, const Attempt&, double) {
  return {{"content-type", "application/json"}};
}

void Channel::on_delivery_result(const Attempt&, int) {}

json Channel::listing_json(const Listing& l) const {
  json h = json::array();
  for (auto& e : l.history)
    h.push_back({{"t", iso8601_ms(e.t)}, {"at_s", e.t - start_}, {"quantity", e.quantity}, {"cause", e.cause},
                 {"detail", e.detail}});
  json j = {{"id", l.id}, {"sku", l.sku}, {"shown", l.shown}, {"updated_at", iso8601_ms(l.updated_at)},
            {"history", h}};
  switch (cfg_.kind) {
    case ChannelKind::shopify:
      j["inventory_item_id"] = "gid://shopify/InventoryItem/" + l.inventory_item_id;
      j["location_id"] = "gid://shopify/Location/" + l.location_id;
      j["variant_id"] = l.variant_id;
      j["product_id"] = l.product_id;
      j["quantities"] = {{"available", l.shown}, {"committed", l.committed}, {"on_hand", l.on_hand()},
                         {"reserved", l.reserved}, {"damaged", l.damaged}, {"quality_control", l.quality_control},
                         {"safety_stock", l.safety_stock}, {"incoming", l.incoming}};
      break;
    case ChannelKind::amazon:
      j["product_type"] = l.product_type;
      j["asin"] = l.asin;
      break;
    case ChannelKind::ebay:
      j["offer_id"] = l.offer_id;
      j["listing_id"] = l.listing_id;
      j["ship_to_location_quantity"] = l.total_quantity;
      j["offer_available_quantity"] = l.offer_quantity;
      j["other_offers"] = json::object();
      for (const auto& [id, q] : l.other_offers) j["other_offers"][id] = q;
      j["revisions_today"] = l.revisions_today;
      break;
    case ChannelKind::woocommerce:
      j["parent_id"] = l.parent_id;
      j["manage_stock"] = l.manage_stock;
      break;
    case ChannelKind::webhook:
      break;
  }
  return j;
}

json Channel::order_json(const Order& o) const {
  return {{"id", o.id}, {"sku", o.sku}, {"quantity", o.quantity}, {"status", o.status}};
}

void Channel::inspect_extra(json&) const {}

json Channel::inspect() const {
  json listings = json::array();
  for (auto& l : listings_) listings.push_back(listing_json(l));
  json orders = json::array();
  for (auto& o : orders_)
    orders.push_back({{"id", o.id}, {"number", o.number}, {"listing_id", o.listing_id}, {"sku", o.sku},
                      {"quantity", o.quantity}, {"created", iso8601_ms(o.created)}, {"at_s", o.created - start_},
                      {"status", o.status}, {"cancelled", o.cancelled}, {"delivery", o.delivery}});
  json dels = json::array();
  for (auto& d : deliveries)
    dels.push_back({{"topic", d.topic}, {"event_id", d.event_id}, {"delivery_id", d.delivery_id},
                    {"attempt", d.attempt}, {"duplicate", d.duplicate}, {"t", iso8601_ms(d.t)}, {"status", d.status},
                    {"error", d.error}});
  const auto& ds = delivery_stats;
  json j = {{"name", cfg_.name},
            {"kind", to_string(cfg_.kind)},
            {"calls", stats.calls},
            {"statuses", stats.statuses},
            {"throttled", stats.throttled},
            {"failed", stats.failed},
            {"timeouts", stats.timeouts},
            {"auth_failures", stats.auth_failures},
            {"buyer_arrivals_without_stock", stats.buyer_arrivals_without_stock},
            {"listings", listings},
            {"orders", orders},
            {"webhooks",
             {{"url", cfg_.webhook_url},
              {"events", ds.events},
              {"attempts", ds.attempts},
              {"delivered", ds.delivered},
              {"failed_attempts", ds.failed_attempts},
              {"retries", ds.retries},
              {"dropped", ds.dropped},
              {"duplicated", ds.duplicated},
              {"delayed", ds.delayed},
              {"reordered", ds.reordered},
              {"gave_up", ds.gave_up},
              {"deliveries", dels}}}};
  inspect_extra(j);
  return j;
}

}  // namespace sim
