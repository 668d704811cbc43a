// LevelReader and the read parsers; see level_reader.hpp.
#include "reconcile/level_reader.hpp"

#include "adapters/adapter_util.hpp"
#include "adapters/ebay.hpp"
#include "adapters/woocommerce.hpp"
#include "http/bounded_json.hpp"
#include "http/classify.hpp"
#include "http/rate_defaults.hpp"
#include "http/rate_gate.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>

namespace stocksync::worker::reconcile {

using nlohmann::json;

namespace {

std::optional<int> int_at(const json &j, std::initializer_list<const char *> path) {
  const json *cur = &j;
  for (const char *k : path) {
    if (!cur->is_object())
      return std::nullopt;
    auto it = cur->find(k);
    if (it == cur->end())
      return std::nullopt;
    cur = &*it;
  }
  if (!cur->is_number_integer())
    return std::nullopt;
  auto v = cur->get<long long>();
  if (v < -1000000000LL || v > 1000000000LL)
    return std::nullopt;
  return static_cast<int>(v);
}

const char *read_operation(const std::string &kind) {
  if (kind == "amazon")
    return "getListingsItem";
  if (kind == "ebay")
    return "getOffers";
  return "products/read";
}

std::string problem(const HttpResponse &r) {
  if (r.transport_failed())
    return r.error;
  return "HTTP " + std::to_string(r.status) + ": " + clip(r.body, 200);
}

}  // namespace

std::optional<int> parse_ebay_item_quantity(std::string_view body) {
  auto j = parse_bounded_json(body);
  if (!j)
    return std::nullopt;
  return int_at(*j, {"availability", "shipToLocationAvailability", "quantity"});
}

std::optional<int> parse_ebay_offer_quantity(std::string_view body, const std::vector<std::string> &offers) {
  auto j = parse_bounded_json(body);
  if (!j || !j->is_object() || !j->contains("offers") || !(*j)["offers"].is_array())
    return std::nullopt;
  std::optional<int> low;
  for (const auto &o : (*j)["offers"]) {
    if (!o.is_object())
      continue;
    std::string id = o.value("offerId", std::string());
    bool wanted = offers.empty() ? o.value("status", std::string("PUBLISHED")) == "PUBLISHED"
                                 : std::find(offers.begin(), offers.end(), id) != offers.end();
    auto q = int_at(o, {"availableQuantity"});
    if (wanted && q)
      low = low ? std::min(*low, *q) : *q;
  }
  return low;
}

std::optional<int> parse_amazon_listing_quantity(std::string_view body) {
  auto j = parse_bounded_json(body);
  if (!j || !j->is_object() || !j->contains("fulfillmentAvailability") || !(*j)["fulfillmentAvailability"].is_array())
    return std::nullopt;
  for (const auto &f : (*j)["fulfillmentAvailability"])
    if (f.is_object() && f.value("fulfillmentChannelCode", std::string()) == "DEFAULT")
      return int_at(f, {"quantity"});
  return std::nullopt;
}

std::optional<int> parse_woo_stock_quantity(std::string_view body) {
  auto j = parse_bounded_json(body);
  if (!j)
    return std::nullopt;
  return int_at(*j, {"stock_quantity"});
}

struct LevelReader::Job {
  std::vector<std::string> ids;
  std::size_t i = 0;
  std::vector<LevelReading> out;
  std::function<void(std::vector<LevelReading>)> done;
};

LevelReader::LevelReader(boost::asio::io_context &io, ChannelConfig cfg, ChannelAdapter *adapter)
    : cfg_(std::move(cfg)), adapter_(adapter) {
  auto spec = documented_rate(cfg_.kind, read_operation(cfg_.kind)).value_or(RateSpec{5, 10, "ours"});
  gate_ = std::make_unique<RateGate>(io, spec.rate, spec.burst);
}

LevelReader::~LevelReader() { stop(); }

void LevelReader::stop() { gate_->cancel(); }

bool LevelReader::can_read() const {
  if (!adapter_)
    return false;
  if (adapter_->can_read_levels())
    return true;
  return adapter_->can_get() && (cfg_.kind == "ebay" || cfg_.kind == "amazon" || cfg_.kind == "woocommerce");
}

void LevelReader::read(std::vector<std::string> ids, std::function<void(std::vector<LevelReading>)> done) {
  if (adapter_ && adapter_->can_read_levels())
    return adapter_->read_levels(std::move(ids), std::move(done));
  auto job = std::make_shared<Job>();
  job->ids = std::move(ids);
  job->done = std::move(done);
  next(job);
}

void LevelReader::next(const std::shared_ptr<Job> &job) {
  if (job->i == job->ids.size())
    return job->done(std::move(job->out));
  if (!can_read()) {
    for (; job->i < job->ids.size(); ++job->i)
      job->out.push_back(LevelReading{job->ids[job->i], std::nullopt, "channel kind " + cfg_.kind + " cannot be read"});
    return job->done(std::move(job->out));
  }
  std::weak_ptr<char> alive = alive_;
  read_one(job->ids[job->i], [this, alive, job](LevelReading r) {
    job->out.push_back(std::move(r));
    ++job->i;
    if (alive.expired()) {
      for (; job->i < job->ids.size(); ++job->i)
        job->out.push_back(LevelReading{job->ids[job->i], std::nullopt, "stopped"});
      return job->done(std::move(job->out));
    }
    next(job);
  });
}

// One GET through the read gate; a 429 holds the gate.
void LevelReader::get(const std::string &path, std::function<void(const HttpResponse &)> done) {
  std::weak_ptr<char> alive = alive_;
  gate_->acquire([this, alive, path, done = std::move(done)](bool admitted) {
    if (!admitted || alive.expired()) {
      HttpResponse r;
      r.error = "stopped";
      return done(r);
    }
    adapter_->authorized_get(path, cfg_.request_timeout, [this, alive, done](HttpResponse r) {
      if (!alive.expired() && r.status == 429)
        hold_gate(*gate_, retry_after(r, std::time(nullptr)));
      done(r);
    });
  });
}

void LevelReader::read_one(const std::string &id, std::function<void(LevelReading)> done) {
  auto fail = [id, done](std::string why) { done(LevelReading{id, std::nullopt, std::move(why)}); };
  if (cfg_.kind == "amazon") {
    std::string path = "/listings/2021-08-01/items/" + percent_encode(option_or(cfg_, "seller_id", "")) + "/" +
                       percent_encode(id) + "?marketplaceIds=" +
                       percent_encode(option_or(cfg_, "marketplace_id", "ATVPDKIKX0DER")) +
                       "&includedData=fulfillmentAvailability";
    return get(path, [id, done, fail](const HttpResponse &r) {
      if (r.status != 200)
        return fail(problem(r));
      auto q = parse_amazon_listing_quantity(r.body);
      q ? done(LevelReading{id, q, ""}) : fail("no DEFAULT fulfillmentAvailability quantity");
    });
  }
  if (cfg_.kind == "woocommerce") {
    auto wid = parse_woo_listing_id(id);
    if (!wid)
      return fail("bad WooCommerce listing id");
    std::string path = "/wp-json/wc/v3/products/" + (wid->parent.empty() ? "" : wid->parent + "/variations/") + wid->id;
    return get(path, [id, done, fail](const HttpResponse &r) {
      if (r.status != 200)
        return fail(problem(r));
      auto q = parse_woo_stock_quantity(r.body);
      q ? done(LevelReading{id, q, ""}) : fail("no stock_quantity (stock not managed?)");
    });
  }
  // eBay: both quantity levels; the listing shows the smaller.
  auto eid = parse_ebay_listing_id(id);
  if (!eid)
    return fail("bad eBay listing id");
  std::weak_ptr<char> alive = alive_;
  get("/sell/inventory/v1/inventory_item/" + percent_encode(eid->sku),
      [this, alive, id, eid = *eid, done, fail](const HttpResponse &r) {
        if (r.status != 200)
          return fail(problem(r));
        auto total = parse_ebay_item_quantity(r.body);
        if (!total)
          return fail("no shipToLocationAvailability quantity");
        if (alive.expired())
          return fail("stopped");
        get("/sell/inventory/v1/offer?sku=" + percent_encode(eid.sku),
            [id, eid, total, done, fail](const HttpResponse &r2) {
              if (r2.status != 200)
                return fail(problem(r2));
              auto offer = parse_ebay_offer_quantity(r2.body, eid.offers);
              done(LevelReading{id, offer ? std::min(*total, *offer) : *total, ""});
            });
      });
}

}  // namespace stocksync::worker::reconcile
