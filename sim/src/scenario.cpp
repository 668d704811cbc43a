#include "scenario.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "timefmt.hpp"

namespace sim {

const char* to_string(ChannelKind k) {
  switch (k) {
    case ChannelKind::shopify: return "shopify";
    case ChannelKind::amazon: return "amazon";
    case ChannelKind::ebay: return "ebay";
    case ChannelKind::woocommerce: return "woocommerce";
    case ChannelKind::webhook: return "webhook";
  }
  return "?";
}

std::optional<ChannelKind> parse_kind(const std::string& s) {
  if (s == "shopify") return ChannelKind::shopify;
  if (s == "amazon") return ChannelKind::amazon;
  if (s == "ebay") return ChannelKind::ebay;
  if (s == "woocommerce" || s == "woo") return ChannelKind::woocommerce;
  if (s == "webhook") return ChannelKind::webhook;
  return std::nullopt;
}

void ChannelConfig::apply_kind_defaults() {
  auto dflt = [](std::string& v, const char* d) {
    if (v.empty()) v = d;
  };
  switch (kind) {
    case ChannelKind::shopify:
      dflt(client_secret, "hush");
      if (shop_domain.empty()) shop_domain = name + ".myshopify.com";
      if (webhook_topics.empty()) webhook_topics = {"orders/create", "orders/cancelled"};
      break;
    case ChannelKind::amazon:
      dflt(client_id, "amzn1.application-oa2-client.sim");
      dflt(client_secret, "sim-lwa-secret");
      dflt(refresh_token, "Atzr|sim-refresh");
      if (token_ttl_s <= 0) token_ttl_s = 3600;
      break;
    case ChannelKind::ebay:
      dflt(client_id, "sim-ebay-app");
      dflt(client_secret, "sim-ebay-secret");
      dflt(refresh_token, "v^1.1#sim-refresh");
      if (token_ttl_s <= 0) token_ttl_s = 7200;
      break;
    case ChannelKind::woocommerce:
      if (webhook_topics.empty()) webhook_topics = {"order.created"};
      break;
    case ChannelKind::webhook:
      break;
  }
}

namespace {

// Rejects keys a table does not know, so a typo in a scenario fails loudly.
void check_keys(const toml::table& t, const std::set<std::string>& allowed, const std::string& where) {
  for (auto& [k, v] : t) {
    (void)v;
    std::string key(k.str());
    if (!allowed.count(key)) throw ScenarioError("scenario: unknown key '" + key + "' in " + where);
  }
}

template <typename T>
void get(const toml::table& t, const char* key, T& out) {
  if (auto node = t.get(key)) {
    if constexpr (std::is_same_v<T, double>) {
      if (auto v = node->value<double>()) {
        out = *v;
        return;
      }
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = node->value<std::string>()) {
        out = *v;
        return;
      }
      // Numeric ids are accepted unquoted.
      if (auto v = node->value<int64_t>()) {
        out = std::to_string(*v);
        return;
      }
    } else {
      if (auto v = node->value<T>()) {
        out = *v;
        return;
      }
    }
    throw ScenarioError(std::string("scenario: key '") + key + "' has the wrong type");
  }
}

template <typename T>
void get_opt(const toml::table& t, const char* key, std::optional<T>& out) {
  if (t.contains(key)) {
    T v{};
    get(t, key, v);
    out = v;
  }
}

const toml::table* sub(const toml::table& t, const char* key) {
  auto node = t.get(key);
  if (!node) return nullptr;
  if (!node->is_table()) throw ScenarioError(std::string("scenario: '") + key + "' must be a table");
  return node->as_table();
}

template <typename F>
void each_table(const toml::table& t, const char* key, F f) {
  auto node = t.get(key);
  if (!node) return;
  auto arr = node->as_array();
  if (!arr) throw ScenarioError(std::string("scenario: '") + key + "' must be an array of tables");
  for (auto& el : *arr) {
    auto tt = el.as_table();
    if (!tt) throw ScenarioError(std::string("scenario: '") + key + "' must contain tables");
    f(*tt);
  }
}

std::vector<Window> windows(const toml::table& t, const char* key) {
  std::vector<Window> out;
  each_table(t, key, [&](const toml::table& w) {
    check_keys(w, {"start", "end", "status", "multiplier"}, key);
    Window win;
    get(w, "start", win.start);
    get(w, "end", win.end);
    int64_t st = win.status;
    get(w, "status", st);
    win.status = static_cast<int>(st);
    get(w, "multiplier", win.multiplier);
    if (win.end < win.start) throw ScenarioError(std::string("scenario: ") + key + " window ends before it starts");
    out.push_back(win);
  });
  return out;
}

std::vector<std::string> strings(const toml::table& t, const char* key) {
  std::vector<std::string> out;
  auto node = t.get(key);
  if (!node) return out;
  auto arr = node->as_array();
  if (!arr) throw ScenarioError(std::string("scenario: '") + key + "' must be an array");
  for (auto& el : *arr) {
    auto v = el.value<std::string>();
    if (!v) throw ScenarioError(std::string("scenario: '") + key + "' must contain strings");
    out.push_back(*v);
  }
  return out;
}

void parse_faults(const toml::table& t, Faults& f) {
  check_keys(t,
             {"latency", "error_rate", "error_statuses", "timeout_rate", "timeout_s", "outages", "throttle_storms",
              "drift", "drift_per_hour", "silent_change_per_hour", "drift_max_delta", "refused_offers"},
             "faults");
  if (auto lt = sub(t, "latency")) {
    check_keys(*lt, {"dist", "ms", "min_ms", "max_ms", "mean_ms", "stddev_ms", "median_ms", "p99_ms"}, "latency");
    auto& l = f.latency;
    get(*lt, "dist", l.dist);
    get(*lt, "ms", l.ms);
    get(*lt, "min_ms", l.min_ms);
    get(*lt, "max_ms", l.max_ms);
    get(*lt, "mean_ms", l.mean_ms);
    get(*lt, "stddev_ms", l.stddev_ms);
    get(*lt, "median_ms", l.median_ms);
    get(*lt, "p99_ms", l.p99_ms);
    if (l.dist != "none" && l.dist != "fixed" && l.dist != "uniform" && l.dist != "normal" && l.dist != "lognormal")
      throw ScenarioError("scenario: latency.dist must be none, fixed, uniform, normal or lognormal");
  }
  get(t, "error_rate", f.error_rate);
  if (auto node = t.get("error_statuses")) {
    f.error_statuses.clear();
    if (auto arr = node->as_array())
      for (auto& el : *arr)
        if (auto v = el.value<int64_t>()) f.error_statuses.push_back(static_cast<int>(*v));
    if (f.error_statuses.empty()) throw ScenarioError("scenario: error_statuses must list integers");
  }
  get(t, "timeout_rate", f.timeout_rate);
  get(t, "timeout_s", f.timeout_s);
  f.outages = windows(t, "outages");
  f.throttle_storms = windows(t, "throttle_storms");
  f.refused_offers = strings(t, "refused_offers");
  each_table(t, "drift", [&](const toml::table& d) {
    check_keys(d, {"at", "listing", "quantity", "delta", "silent"}, "drift");
    DriftEvent e;
    get(d, "at", e.at);
    get(d, "listing", e.listing);
    get_opt(d, "quantity", e.quantity);
    get(d, "delta", e.delta);
    get(d, "silent", e.silent);
    if (e.listing.empty()) throw ScenarioError("scenario: drift needs a listing");
    f.drift.push_back(e);
  });
  get(t, "drift_per_hour", f.drift_per_hour);
  get(t, "silent_change_per_hour", f.silent_change_per_hour);
  get(t, "drift_max_delta", f.drift_max_delta);
}

ChannelConfig parse_channel(const toml::table& t) {
  check_keys(t,
             {"name", "kind", "listings", "buyers", "delivery", "faults", "webhook_url", "webhook_topics", "client_id",
              "client_secret", "refresh_token", "token_ttl_s", "access_token", "shop_domain", "api_version",
              "location_id", "bucket_size", "restore_rate", "max_query_cost", "idempotency_retention_s",
              "adjust_requires_change_from", "seller_id", "marketplace_id", "processing_delay_min_s",
              "processing_delay_max_s", "orders_visibility_lag_s", "rate_limits", "daily_quota", "revisions_per_day",
              "ebay_marketplace_id", "consumer_key", "consumer_secret", "webhook_secret", "webhook_id", "batch_limit",
              "max_delivery_failures", "gmt_offset", "secret", "tolerance_s"},
             "channel");
  ChannelConfig c;
  get(t, "name", c.name);
  if (c.name.empty()) throw ScenarioError("scenario: every channel needs a name");
  for (char ch : c.name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_'))
      throw ScenarioError("scenario: channel name '" + c.name + "' may only use letters, digits, '-' and '_'");
  std::string kind;
  get(t, "kind", kind);
  auto k = parse_kind(kind);
  if (!k) throw ScenarioError("scenario: channel '" + c.name + "' has unknown kind '" + kind + "'");
  c.kind = *k;
  get(t, "webhook_url", c.webhook_url);
  c.webhook_topics = strings(t, "webhook_topics");
  get(t, "client_id", c.client_id);
  get(t, "client_secret", c.client_secret);
  get(t, "refresh_token", c.refresh_token);
  get(t, "token_ttl_s", c.token_ttl_s);
  get(t, "access_token", c.access_token);
  get(t, "shop_domain", c.shop_domain);
  get(t, "api_version", c.api_version);
  get(t, "location_id", c.location_id);
  get(t, "bucket_size", c.bucket_size);
  get(t, "restore_rate", c.restore_rate);
  get(t, "max_query_cost", c.max_query_cost);
  get(t, "idempotency_retention_s", c.idempotency_retention_s);
  get(t, "adjust_requires_change_from", c.adjust_requires_change_from);
  get(t, "seller_id", c.seller_id);
  get(t, "marketplace_id", c.marketplace_id);
  get(t, "processing_delay_min_s", c.processing_delay_min_s);
  get(t, "processing_delay_max_s", c.processing_delay_max_s);
  if (c.processing_delay_max_s < c.processing_delay_min_s) c.processing_delay_max_s = c.processing_delay_min_s;
  get(t, "orders_visibility_lag_s", c.orders_visibility_lag_s);
  if (auto rl = sub(t, "rate_limits")) {
    for (auto& [op, v] : *rl) {
      auto arr = v.as_array();
      if (!arr || arr->size() != 2) throw ScenarioError("scenario: rate_limits entries are [rate, burst]");
      auto rate = (*arr)[0].value<double>();
      auto burst = (*arr)[1].value<double>();
      if (!rate || !burst) throw ScenarioError("scenario: rate_limits entries are [rate, burst]");
      c.rate_limits[std::string(op.str())] = {*rate, *burst};
    }
  }
  get(t, "daily_quota", c.daily_quota);
  get(t, "revisions_per_day", c.revisions_per_day);
  get(t, "ebay_marketplace_id", c.ebay_marketplace_id);
  get(t, "consumer_key", c.consumer_key);
  get(t, "consumer_secret", c.consumer_secret);
  get(t, "webhook_secret", c.webhook_secret);
  get(t, "webhook_id", c.webhook_id);
  get(t, "batch_limit", c.batch_limit);
  get(t, "max_delivery_failures", c.max_delivery_failures);
  get(t, "gmt_offset", c.gmt_offset);
  if (c.gmt_offset < -12 || c.gmt_offset > 14)
    throw ScenarioError("scenario: channel " + c.name + ": gmt_offset must be between -12 and 14 (hours)");
  get(t, "secret", c.std_secret);
  get(t, "tolerance_s", c.tolerance_s);

  if (auto b = sub(t, "buyers")) {
    check_keys(*b,
               {"orders_per_hour", "max_quantity", "spikes", "random_spikes_per_hour", "spike_duration_s",
                "spike_multiplier", "cancel_rate", "cancel_after_s", "pending_s"},
               "buyers");
    get(*b, "orders_per_hour", c.buyers.orders_per_hour);
    get(*b, "max_quantity", c.buyers.max_quantity);
    if (c.buyers.max_quantity < 1) throw ScenarioError("scenario: buyers.max_quantity must be >= 1");
    c.buyers.spikes = windows(*b, "spikes");
    get(*b, "random_spikes_per_hour", c.buyers.random_spikes_per_hour);
    get(*b, "spike_duration_s", c.buyers.spike_duration_s);
    get(*b, "spike_multiplier", c.buyers.spike_multiplier);
    get(*b, "cancel_rate", c.buyers.cancel_rate);
    get(*b, "cancel_after_s", c.buyers.cancel_after_s);
    get(*b, "pending_s", c.buyers.pending_s);
  }
  if (auto d = sub(t, "delivery")) {
    check_keys(*d,
               {"duplicate_rate", "delay_rate", "delay_min_s", "delay_max_s", "reorder_rate", "reorder_delay_s",
                "drop_rate", "timeout_s"},
               "delivery");
    get(*d, "duplicate_rate", c.delivery.duplicate_rate);
    get(*d, "delay_rate", c.delivery.delay_rate);
    get(*d, "delay_min_s", c.delivery.delay_min_s);
    get(*d, "delay_max_s", c.delivery.delay_max_s);
    get(*d, "reorder_rate", c.delivery.reorder_rate);
    get(*d, "reorder_delay_s", c.delivery.reorder_delay_s);
    get(*d, "drop_rate", c.delivery.drop_rate);
    get(*d, "timeout_s", c.delivery.timeout_s);
  }
  if (auto f = sub(t, "faults")) parse_faults(*f, c.faults);

  std::set<std::string> ids;
  each_table(t, "listings", [&](const toml::table& l) {
    check_keys(l,
               {"id", "sku", "quantity", "orders_per_hour", "location_id", "variant_id", "product_id", "committed",
                "product_type", "asin", "offer_id", "listing_id", "offer_quantity", "other_offer_ids", "parent_id",
                "manage_stock",
                "title", "price"},
               "listing");
    ListingConfig lc;
    get(l, "id", lc.id);
    get(l, "sku", lc.sku);
    get(l, "quantity", lc.quantity);
    get_opt(l, "orders_per_hour", lc.orders_per_hour);
    get(l, "location_id", lc.location_id);
    get(l, "variant_id", lc.variant_id);
    get(l, "product_id", lc.product_id);
    get(l, "committed", lc.committed);
    get(l, "product_type", lc.product_type);
    get(l, "asin", lc.asin);
    get(l, "offer_id", lc.offer_id);
    get(l, "listing_id", lc.listing_id);
    get_opt(l, "offer_quantity", lc.offer_quantity);
    lc.other_offer_ids = strings(l, "other_offer_ids");
    get(l, "parent_id", lc.parent_id);
    get(l, "manage_stock", lc.manage_stock);
    get(l, "title", lc.title);
    get(l, "price", lc.price);
    if (lc.id.empty()) lc.id = lc.sku;
    if (lc.id.empty()) throw ScenarioError("scenario: a listing of '" + c.name + "' needs an id or a sku");
    if (lc.sku.empty()) lc.sku = lc.id;
    if (!ids.insert(lc.id).second)
      throw ScenarioError("scenario: listing id '" + lc.id + "' appears twice in '" + c.name + "'");
    c.listings.push_back(lc);
  });
  // Ids that the channel's JSON carries as numbers must be numeric.
  auto numeric = [&](const std::string& v, const std::string& what, const std::string& id) {
    if (v.empty()) return;
    bool ok = std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) && v.size() < 19;
    if (!ok) throw ScenarioError("scenario: " + what + " '" + v + "' of listing '" + id + "' in '" + c.name + "' must be numeric");
  };
  for (auto& lc : c.listings) {
    if (c.kind == ChannelKind::woocommerce) {
      numeric(lc.id, "id", lc.id);
      numeric(lc.parent_id, "parent_id", lc.id);
    }
    if (c.kind == ChannelKind::shopify) {
      std::string item = lc.id.substr(0, lc.id.find('@'));
      if (item.rfind("gid://", 0) == 0) item = item.substr(item.rfind('/') + 1);
      numeric(item, "inventory item id", lc.id);
      numeric(lc.variant_id, "variant_id", lc.id);
      numeric(lc.product_id, "product_id", lc.id);
    }
  }
  c.apply_kind_defaults();
  return c;
}

}  // namespace

Scenario parse_scenario(const std::string& text) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "scenario: " << e.description() << " at line " << e.source().begin.line;
    throw ScenarioError(os.str());
  }
  check_keys(root, {"sim", "channels"}, "top level");
  Scenario s;
  if (auto st = sub(root, "sim")) {
    check_keys(*st, {"seed", "start_time", "time_scale", "webhook_retry_compression", "tick_ms"}, "[sim]");
    int64_t seed = static_cast<int64_t>(s.seed);
    get(*st, "seed", seed);
    s.seed = static_cast<uint64_t>(seed);
    if (auto node = st->get("start_time")) {
      if (auto str = node->value<std::string>()) {
        auto t = parse_iso8601(*str);
        if (!t) throw ScenarioError("scenario: start_time must be ISO 8601, e.g. 2026-11-22T10:00:00Z");
        s.start_time = *t;
      } else if (auto dt = node->as_date_time()) {
        auto& v = dt->get();
        char buf[64];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", v.date.year, v.date.month, v.date.day,
                      v.time.hour, v.time.minute, v.time.second);
        auto t = parse_iso8601(buf);
        if (!t) throw ScenarioError("scenario: bad start_time");
        s.start_time = *t - (v.offset ? v.offset->minutes * 60.0 : 0.0);
      } else {
        throw ScenarioError("scenario: start_time must be an ISO 8601 string");
      }
    }
    get(*st, "time_scale", s.time_scale);
    get(*st, "webhook_retry_compression", s.webhook_retry_compression);
    get(*st, "tick_ms", s.tick_ms);
    if (s.time_scale < 0) throw ScenarioError("scenario: time_scale must be >= 0");
    if (s.webhook_retry_compression <= 0) throw ScenarioError("scenario: webhook_retry_compression must be > 0");
  }
  std::set<std::string> names;
  each_table(root, "channels", [&](const toml::table& t) {
    auto c = parse_channel(t);
    if (!names.insert(c.name).second) throw ScenarioError("scenario: channel name '" + c.name + "' appears twice");
    s.channels.push_back(std::move(c));
  });
  return s;
}

Scenario load_scenario_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ScenarioError("scenario: cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_scenario(ss.str());
}

}  // namespace sim
