#include "sim.hpp"

#include <algorithm>

#include "shopify_graphql.hpp"
#include "woocommerce.hpp"
#include "ebay.hpp"
#include "amazon.hpp"
#include "std_webhooks.hpp"
#include "timefmt.hpp"

namespace sim {

const char* path_prefix(ChannelKind k) {
  switch (k) {
    case ChannelKind::shopify: return "shopify";
    case ChannelKind::amazon: return "amazon";
    case ChannelKind::ebay: return "ebay";
    case ChannelKind::woocommerce: return "woo";
    case ChannelKind::webhook: return "hooks";
  }
  return "?";
}

std::unique_ptr<Channel> make_channel(const ChannelConfig& cfg, uint64_t seed, double start, double retry_compression);

Sim::Sim(Scenario sc, std::shared_ptr<Clock> clock) : sc_(std::move(sc)), clock_(std::move(clock)) {
  start_ = clock_->now();
  for (auto& cfg : sc_.channels) {
    auto ch = make_channel(cfg, sc_.seed, start_, sc_.webhook_retry_compression);
    if (auto* shop = dynamic_cast<ShopifyChannel*>(ch.get())) shop->time_scale = sc_.time_scale;
    std::vector<double> rates;
    for (auto& l : ch->listings()) rates.push_back(l.orders_per_hour);
    buyers_.push_back(std::make_unique<BuyerProcess>(cfg.buyers, rates, start_, sc_.seed, cfg.name));
    channels_.push_back(std::move(ch));
  }
}

Channel* Sim::channel(const std::string& name) {
  for (auto& c : channels_)
    if (c->name() == name) return c.get();
  return nullptr;
}

void Sim::tick() {
  if (in_tick_) return;
  in_tick_ = true;
  double now = clock_->now();
  for (size_t i = 0; i < channels_.size(); ++i) {
    Channel& ch = *channels_[i];
    // Arrivals and channel work interleave in time order: run each up to the next arrival.
    buyers_[i]->run_until(now, [&](size_t idx, double t) {
      ch.tick(t);
      Listing& l = ch.listings()[idx];
      int64_t qty = ch.rng_buyers.integer(1, ch.cfg().buyers.max_quantity);
      ch.place_order(l, qty, t);
    });
    ch.tick(now);
    for (auto& ev : ch.take_events()) queue_.enqueue(ev, ev->created, ch.cfg().delivery, ch.rng_delivery, ch.delivery_stats);
  }
  dispatch_webhooks(now);
  in_tick_ = false;
}

void Sim::dispatch_webhooks(double now) {
  if (!transport_) return;
  for (auto& a : queue_.take_due(now)) {
    Channel* ch = channel(a.event->channel);
    if (!ch) continue;
    HeaderMap headers = ch->attempt_headers(*a.event, a, now);
    DeliveryRecord rec;
    rec.channel = a.event->channel;
    rec.topic = a.event->topic;
    rec.event_id = a.event->event_id;
    for (const char* h : {"x-shopify-webhook-id", "x-wc-webhook-delivery-id", "webhook-id"})
      if (headers.count(h)) rec.delivery_id = headers[h];
    rec.attempt = a.attempt;
    rec.duplicate = a.duplicate;
    rec.t = now;
    std::string name = ch->name();
    transport_->post(a.event->url, headers, a.event->body, ch->cfg().delivery.timeout_s,
                     [this, a, rec, name](int status, std::string error) mutable {
                       Channel* c = channel(name);
                       if (!c) return;
                       rec.status = status;
                       rec.error = error;
                       c->deliveries.push_back(rec);
                       queue_.on_result(a, status, clock_->now(), c->delivery_stats);
                       c->on_delivery_result(a, status);
                     });
  }
}

static json body_json(const Request& req) {
  json j = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

static Response not_found(const std::string& what) {
  return json_response(404, dump({{"error", "not_found"}, {"message", what}}));
}

Response Sim::control(const Request& req, const std::vector<std::string>& seg) {
  // seg[0] == "_sim"
  json b = body_json(req);
  if (seg.size() == 2 && seg[1] == "state" && req.method == "GET") return json_response(200, dump(state()));
  if (seg.size() == 2 && seg[1] == "health") return json_response(200, dump({{"ok", true}, {"now", iso8601_ms(now())}}));
  if (seg.size() == 2 && seg[1] == "advance" && req.method == "POST") {
    double s = b.value("seconds", 0.0);
    if (s < 0) return json_response(400, dump({{"error", "seconds must be >= 0"}}));
    // Step in slices so buyers, retries and applies interleave as they would in real time.
    double step = std::max(1.0, s / 1000.0);
    for (double done = 0; done < s;) {
      double dt = std::min(step, s - done);
      clock_->advance(dt);
      done += dt;
      tick();
    }
    return json_response(200, dump({{"now", iso8601_ms(now())}, {"now_unix", now()}}));
  }
  if (seg.size() == 2 && seg[1] == "buyers" && req.method == "POST") {
    bool paused = b.value("paused", false);
    for (auto& bp : buyers_) bp->paused = paused;
    return json_response(200, dump({{"paused", paused}}));
  }
  if (seg.size() == 2 && seg[1] == "shutdown" && req.method == "POST") {
    if (on_shutdown) on_shutdown();
    return json_response(200, dump({{"shutdown", true}}));
  }
  if (seg.size() >= 3 && seg[1] == "channels") {
    Channel* ch = channel(seg[2]);
    if (!ch) return not_found("no channel " + seg[2]);
    if (seg.size() == 3 && req.method == "GET") return json_response(200, dump(ch->inspect()));
    if (seg.size() == 5 && seg[3] == "listings" && req.method == "POST") {
      Listing* l = ch->find(seg[4]);
      if (!l) return not_found("no listing " + seg[4]);
      if (!b.contains("quantity") || !b["quantity"].is_number_integer())
        return json_response(400, dump({{"error", "quantity (integer) is required"}}));
      ch->manual_edit(*l, b["quantity"].get<int64_t>(), b.value("silent", false), now());
      tick();
      return json_response(200, dump(ch->listing_json(*l)));
    }
    if (seg.size() == 4 && seg[3] == "outage" && req.method == "POST") {
      ch->faults.manual_outage = b.value("active", true);
      ch->faults.manual_outage_status = b.value("status", 503);
      return json_response(200, dump({{"outage", ch->faults.manual_outage}}));
    }
    if (seg.size() == 6 && seg[3] == "offers" && seg[5] == "refuse" && req.method == "POST") {
      if (ch->kind() != ChannelKind::ebay) return json_response(400, dump({{"error", "offers are eBay's"}}));
      int status = b.value("status", 400);
      if (status < 400 || status > 599) return json_response(400, dump({{"error", "status must be 4xx or 5xx"}}));
      if (b.value("active", true))
        ch->faults.refused_offers[seg[4]] = status;
      else
        ch->faults.refused_offers.erase(seg[4]);
      return json_response(200, dump({{"offer", seg[4]}, {"refused", b.value("active", true)}}));
    }
    if (seg.size() == 4 && seg[3] == "throttle_storm" && req.method == "POST") {
      ch->faults.manual_storm = b.value("active", true);
      return json_response(200, dump({{"throttle_storm", ch->faults.manual_storm}}));
    }
    if (seg.size() == 4 && seg[3] == "orders" && req.method == "POST") {
      Listing* l = ch->find(b.value("listing", std::string()));
      if (!l) return not_found("no listing " + b.value("listing", std::string()));
      Order* o = ch->place_order(*l, std::max<int64_t>(1, b.value("quantity", int64_t{1})), now());
      if (!o) return json_response(409, dump({{"error", "listing shows no stock"}}));
      json out = ch->order_json(*o);
      tick();
      return json_response(201, dump(out));
    }
    if (seg.size() == 6 && seg[3] == "orders" && seg[5] == "cancel" && req.method == "POST") {
      Order* o = ch->find_order(seg[4]);
      if (!o) return not_found("no order " + seg[4]);
      ch->cancel_order(*o, now());
      json out = ch->order_json(*o);
      tick();
      return json_response(200, dump(out));
    }
  }
  return not_found("unknown control endpoint " + req.path);
}

Response Sim::handle(const Request& req) {
  try {
    return route(req);
  } catch (const std::exception& e) {
    // Malformed input that slipped past a handler's checks (e.g. a JSON field of the wrong type).
    return json_response(400, dump({{"error", "bad_request"}, {"message", e.what()}}));
  }
}

Response Sim::route(const Request& req) {
  tick();
  const auto& seg = req.segments;
  if (seg.empty()) return not_found("see sim/README.md for the endpoint layout");
  if (seg[0] == "_sim") return control(req, seg);
  for (auto& ch : channels_) {
    if (seg.size() >= 2 && seg[0] == path_prefix(ch->kind()) && seg[1] == ch->name()) {
      std::vector<std::string> rest(seg.begin() + 2, seg.end());
      Response r = ch->serve(req, rest, now());
      tick();  // deliver what the request caused (e.g. nothing yet, but keeps queues moving)
      return r;
    }
  }
  return not_found("no channel at " + req.path);
}

json Sim::state() const {
  json chans = json::array();
  for (auto& c : channels_) chans.push_back(c->inspect());
  return {{"now", iso8601_ms(clock_->now())},
          {"now_unix", clock_->now()},
          {"start", iso8601_ms(start_)},
          {"start_unix", start_},
          {"seed", sc_.seed},
          {"time_scale", sc_.time_scale},
          {"webhook_retry_compression", sc_.webhook_retry_compression},
          {"pending_webhooks", queue_.pending()},
          {"channels", chans}};
}

std::unique_ptr<Channel> make_channel(const ChannelConfig& cfg, uint64_t seed, double start, double retry_compression) {
  switch (cfg.kind) {
    case ChannelKind::shopify: return std::make_unique<ShopifyChannel>(cfg, seed, start, retry_compression);
    case ChannelKind::woocommerce: return std::make_unique<WooChannel>(cfg, seed, start, retry_compression);
    case ChannelKind::ebay: return std::make_unique<EbayChannel>(cfg, seed, start, retry_compression);
    case ChannelKind::amazon: return std::make_unique<AmazonChannel>(cfg, seed, start, retry_compression);
    case ChannelKind::webhook: return std::make_unique<ConsumerChannel>(cfg, seed, start, retry_compression);
  }
  throw ScenarioError("scenario: unknown channel kind");
}

}  // namespace sim
