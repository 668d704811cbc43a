#include "amazon.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "ids.hpp"
#include "signing.hpp"
#include "timefmt.hpp"

namespace sim {

namespace {

json sp_error(const std::string& code, const std::string& message, const std::string& details = "") {
  return {{"code", code}, {"message", message}, {"details", details}};
}

Response sp_errors(int status, json err) {
  return json_response(status, dump({{"errors", json::array({std::move(err)})}}));
}

Response lwa_error(int status, const std::string& error, const std::string& desc) {
  return json_response(status, dump({{"error_description", desc}, {"error", error}}));
}

// Default usage plans (§2.5).
const std::map<std::string, std::pair<double, double>> kDefaultLimits = {
    {"patchListingsItem", {5, 5}},  {"getListingsItem", {5, 10}}, {"getOrders", {0.0167, 20}},
    {"getOrder", {0.5, 30}},        {"getOrderItems", {0.5, 30}},
};

std::string rate_text(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", r);
  std::string s = buf;
  if (s.find('.') == std::string::npos && s.find('e') == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::pair<double, double> AmazonChannel::limit_of(const std::string& op) const {
  auto it = cfg_.rate_limits.find(op);
  if (it != cfg_.rate_limits.end()) return it->second;
  auto d = kDefaultLimits.find(op);
  return d != kDefaultLimits.end() ? d->second : std::make_pair(1.0, 1.0);
}

Response AmazonChannel::server_error(int status) {
  Response r = status == 503 ? sp_errors(503, sp_error("ServiceUnavailable", "Service temporarily unavailable."))
                             : sp_errors(status, sp_error("InternalFailure",
                                                          "We encountered an internal error. Please try again."));
  r.set_header("x-amzn-RequestId", uuid_like(rng_ids));
  return r;
}

Response AmazonChannel::throttled(double) {
  Response r = sp_errors(429, sp_error("QuotaExceeded", "You exceeded your quota for the requested resource."));
  r.set_header("x-amzn-RequestId", uuid_like(rng_ids));
  return r;
}

Response AmazonChannel::lwa(const Request& req, double now) {
  count("lwa_token");
  if (req.method != "POST") return lwa_error(400, "invalid_request", "The request is missing a required parameter");
  std::multimap<std::string, std::string> form;
  if (req.header("Content-Type").find("json") != std::string::npos) {
    // The official Java client posts JSON (§2.1).
    json j = json::parse(req.body, nullptr, false);
    if (j.is_object())
      for (auto& [k, v] : j.items())
        if (v.is_string()) form.emplace(k, v.get<std::string>());
  } else {
    form = parse_query(req.body);
  }
  auto get = [&](const char* k) {
    auto it = form.find(k);
    return it == form.end() ? std::string() : it->second;
  };
  std::string grant = get("grant_type");
  if (grant.empty() || get("client_id").empty())
    return lwa_error(400, "invalid_request", "The request is missing a required parameter : grant_type");
  if (!constant_time_equal(get("client_id"), cfg_.client_id) ||
      !constant_time_equal(get("client_secret"), cfg_.client_secret)) {
    ++stats.auth_failures;
    return lwa_error(401, "invalid_client", "Client authentication failed");
  }
  if (grant != "refresh_token" && grant != "client_credentials")
    return lwa_error(400, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server");
  if (grant == "refresh_token" && !constant_time_equal(get("refresh_token"), cfg_.refresh_token)) {
    ++stats.auth_failures;
    return lwa_error(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token");
  }
  std::string tok = "Atza|IwEB" + hex_id(rng_ids.next(), 16) + hex_id(rng_ids.next(), 16);
  tokens_[tok] = now + cfg_.token_ttl_s;
  json out = {{"access_token", tok}};
  if (grant == "refresh_token") out["refresh_token"] = cfg_.refresh_token;
  out["token_type"] = "bearer";
  out["expires_in"] = static_cast<int64_t>(cfg_.token_ttl_s);
  return json_response(200, dump(out));
}

Response AmazonChannel::handle(const Request& req, const std::vector<std::string>& r, double now, double) {
  if (r.size() == 3 && r[0] == "auth" && r[1] == "o2" && r[2] == "token") return lwa(req, now);

  std::string op;
  if (r.size() == 5 && r[0] == "listings" && r[1] == "2021-08-01" && r[2] == "items") {
    op = req.method == "PATCH" ? "patchListingsItem" : req.method == "GET" ? "getListingsItem" : "";
  } else if (r.size() >= 3 && r[0] == "orders" && r[1] == "v0" && r[2] == "orders" && req.method == "GET") {
    op = r.size() == 3 ? "getOrders" : r.size() == 4 ? "getOrder" : (r.size() == 5 && r[4] == "orderItems") ? "getOrderItems" : "";
  }
  if (op.empty()) {
    count("not_found");
    return sp_errors(404, sp_error("NotFound", "Resource not found."));
  }
  count(op);
  auto [rate, burst] = limit_of(op);
  auto finish = [&](Response resp) {
    resp.set_header("x-amzn-RequestId", uuid_like(rng_ids));
    resp.set_header("x-amzn-RateLimit-Limit", rate_text(rate));
    return resp;
  };
  // Every SP-API call carries the LWA access token (§2.1).
  auto tok = tokens_.find(req.header("x-amz-access-token"));
  if (tok == tokens_.end() || tok->second <= now) {
    ++stats.auth_failures;
    Response resp = sp_errors(403, sp_error("Unauthorized", "Access to requested resource is denied.",
                                            tok == tokens_.end() ? "" : "The access token you provided has expired."));
    resp.set_header("x-amzn-RequestId", uuid_like(rng_ids));
    return resp;
  }
  auto b = buckets_.find(op);
  if (b == buckets_.end()) b = buckets_.emplace(op, TokenBucket(rate, burst, now)).first;
  if (!b->second.try_take(now)) {
    ++stats.throttled;
    return finish(throttled(now));
  }

  if (op == "patchListingsItem" || op == "getListingsItem") {
    if (!req.has_param("marketplaceIds"))
      return finish(sp_errors(400, sp_error("InvalidInput", "Missing required 'marketplaceIds' parameter.")));
    if (r[3] != cfg_.seller_id)
      return finish(sp_errors(403, sp_error("Unauthorized", "Access to requested resource is denied.")));
    Listing* l = find(r[4]);
    if (!l)
      return finish(sp_errors(404, sp_error("NOT_FOUND", "SKU '" + r[4] + "' not found in marketplace " +
                                                             req.param("marketplaceIds"))));
    return finish(op == "patchListingsItem" ? patch_listing(req, *l, now) : get_listing(req, *l));
  }
  if (op == "getOrders") return finish(get_orders(req, now));
  Order* o = find_order(r[3]);
  if (!o) return finish(sp_errors(404, sp_error("NotFound", "Order " + r[3] + " not found.")));
  if (op == "getOrder") return finish(json_response(200, dump({{"payload", order_json(*o)}})));
  return finish(json_response(200, dump({{"payload", order_items_json(*o)}})));
}

Response AmazonChannel::patch_listing(const Request& req, Listing& l, double now) {
  json body = json::parse(req.body.empty() ? "null" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("productType") || !body["productType"].is_string() ||
      !body.contains("patches") || !body["patches"].is_array() || body["patches"].empty())
    return sp_errors(400, sp_error("InvalidInput", "Request has missing or invalid parameters and cannot be parsed."));
  json issues = json::array();
  auto issue = [&](const std::string& code, const std::string& msg, const std::string& attr) {
    issues.push_back({{"code", code},
                      {"message", msg},
                      {"severity", "ERROR"},
                      {"attributeNames", attr.empty() ? json::array() : json::array({attr})},
                      {"categories", json::array({"INVALID_ATTRIBUTE"})}});
  };
  std::string pt = body["productType"].get<std::string>();
  if (pt != l.product_type && pt != "PRODUCT")
    issue("4000003", "The provided product type '" + pt + "' does not match the product type '" + l.product_type +
                         "' of the listing.", "");
  int64_t qty = -1;  // -1: the patch does not touch the quantity
  std::optional<int64_t> lead;
  bool clear = false;
  for (auto& p : body["patches"]) {
    std::string op = p.value("op", std::string());
    std::string path = p.value("path", std::string());
    if (op != "add" && op != "replace" && op != "merge" && op != "delete") {
      issue("4000001", "Invalid patch operation '" + op + "'.", "");
      continue;
    }
    if (path.rfind("/attributes/", 0) != 0) {
      issue("4000001", "Only top-level attributes can be patched.", "");
      continue;
    }
    if (path != "/attributes/fulfillment_availability") continue;  // other attributes: accepted, not modelled
    if (op == "delete") {
      qty = 0;
      clear = true;
      continue;
    }
    const json& v = p.value("value", json());
    bool ok = v.is_array() && !v.empty();
    if (ok)
      for (auto& e : v) {
        if (!e.is_object() || e.value("fulfillment_channel_code", std::string()) != "DEFAULT" ||
            !e.contains("quantity") || !e["quantity"].is_number_integer() || e["quantity"].get<int64_t>() < 0) {
          ok = false;
          break;
        }
        qty = e["quantity"].get<int64_t>();
        if (e.contains("lead_time_to_ship_max_days") && e["lead_time_to_ship_max_days"].is_number_integer())
          lead = e["lead_time_to_ship_max_days"].get<int64_t>();
      }
    if (!ok) {
      issue("4000001",
            "The value for 'fulfillment_availability' is invalid: expected [{\"fulfillment_channel_code\": "
            "\"DEFAULT\", \"quantity\": <integer >= 0>}].",
            "fulfillment_availability");
      qty = -1;
      continue;
    }
    clear = op == "replace";
  }
  json out = {{"sku", l.sku}};
  if (!issues.empty()) {
    out["status"] = "INVALID";
    out["submissionId"] = uuid_like(rng_ids);
    out["issues"] = issues;
    return json_response(200, dump(out));
  }
  bool preview = req.param("mode") == "VALIDATION_PREVIEW";
  std::string sub = uuid_like(rng_ids);
  if (!preview && qty >= 0) {
    // Accepted for processing, applied later (§2.2): updates to one SKU keep their order.
    double at = now + rng_ids.uniform(cfg_.processing_delay_min_s, cfg_.processing_delay_max_s);
    at = std::max(at, last_apply_[l.sku]);
    last_apply_[l.sku] = at;
    pending_.push_back({at, l.sku, sub, qty, clear, lead});
  }
  out["status"] = preview ? "VALID" : "ACCEPTED";
  out["submissionId"] = sub;
  out["issues"] = json::array();
  return json_response(200, dump(out));
}

Response AmazonChannel::get_listing(const Request& req, const Listing& l) {
  std::string inc = req.has_param("includedData") ? req.param("includedData") : "summaries";
  auto has = [&](const char* k) { return ("," + inc + ",").find(std::string(",") + k + ",") != std::string::npos; };
  json out = {{"sku", l.sku}};
  std::string mp = req.param("marketplaceIds");
  if (has("summaries"))
    out["summaries"] = json::array({{{"marketplaceId", mp},
                                     {"asin", l.asin},
                                     {"productType", l.product_type},
                                     {"conditionType", "new_new"},
                                     {"status", l.shown > 0 ? json::array({"BUYABLE", "DISCOVERABLE"})
                                                            : json::array({"DISCOVERABLE"})},
                                     {"itemName", l.title},
                                     {"createdDate", iso8601(start_)},
                                     {"lastUpdatedDate", iso8601(l.updated_at)}}});
  if (has("attributes")) {
    json fa = {{"fulfillment_channel_code", "DEFAULT"}, {"quantity", l.shown}, {"marketplace_id", mp}};
    if (l.lead_time_to_ship_max_days) fa["lead_time_to_ship_max_days"] = *l.lead_time_to_ship_max_days;
    out["attributes"] = {{"fulfillment_availability", json::array({fa})}};
  }
  if (has("issues")) out["issues"] = json::array();
  if (has("offers"))
    out["offers"] = json::array({{{"marketplaceId", mp},
                                  {"offerType", "B2C"},
                                  {"price", {{"currencyCode", "USD"}, {"amount", l.price}}}}});
  // Read model is camelCase, unlike the snake_case attribute written (§2.2).
  if (has("fulfillmentAvailability"))
    out["fulfillmentAvailability"] = json::array({{{"fulfillmentChannelCode", "DEFAULT"}, {"quantity", l.shown}}});
  return json_response(200, dump(out));
}

Response AmazonChannel::get_orders(const Request& req, double now) {
  auto bad = [](const std::string& msg) { return sp_errors(400, sp_error("InvalidInput", msg)); };
  json state;
  if (req.has_param("NextToken")) {
    auto dec = base64_decode(req.param("NextToken"));
    if (dec) state = json::parse(*dec, nullptr, false);
    if (!state.is_object()) return bad("Invalid NextToken.");
  } else {
    if (!req.has_param("MarketplaceIds")) return bad("Missing required 'MarketplaceIds' parameter.");
    bool ca = req.has_param("CreatedAfter"), lua = req.has_param("LastUpdatedAfter");
    if (ca && lua) return bad("CreatedAfter and LastUpdatedAfter cannot both be specified.");
    if (!ca && !lua) return bad("Either CreatedAfter or LastUpdatedAfter must be specified.");
    if (ca && req.has_param("LastUpdatedBefore")) return bad("LastUpdatedBefore can only be used with LastUpdatedAfter.");
    if (lua && req.has_param("CreatedBefore")) return bad("CreatedBefore can only be used with CreatedAfter.");
    std::string after_key = ca ? "CreatedAfter" : "LastUpdatedAfter";
    std::string before_key = ca ? "CreatedBefore" : "LastUpdatedBefore";
    auto after = parse_iso8601(req.param(after_key));
    if (!after) return bad("Invalid " + after_key + ": " + req.param(after_key));
    // The upper bound must be at least two minutes in the past; it defaults to now - 2 min.
    double latest = now - cfg_.orders_visibility_lag_s;
    double before = latest;
    if (req.has_param(before_key)) {
      auto b = parse_iso8601(req.param(before_key));
      if (!b) return bad("Invalid " + before_key + ": " + req.param(before_key));
      if (*b > latest) return bad(before_key + " must be no later than two minutes before the time of the request.");
      before = *b;
    }
    if (*after > latest) return bad(after_key + " must be no later than two minutes before the time of the request.");
    int64_t max = 100;
    if (req.has_param("MaxResultsPerPage")) {
      max = std::atoll(req.param("MaxResultsPerPage").c_str());
      if (max < 1 || max > 100) return bad("MaxResultsPerPage must be between 1 and 100.");
    }
    state = {{"mode", ca ? "created" : "updated"}, {"after", *after}, {"before", before}, {"offset", 0},
             {"max", max}, {"statuses", req.param("OrderStatuses")}};
  }
  bool created = state["mode"] == "created";
  double after = state["after"].get<double>(), before = state["before"].get<double>();
  std::string statuses = state["statuses"].get<std::string>();
  std::vector<const Order*> sel;
  for (auto& o : orders_) {
    double t = created ? o.created : o.updated;
    if (t < after || t > before) continue;
    if (!statuses.empty() && ("," + statuses + ",").find("," + o.status + ",") == std::string::npos) continue;
    sel.push_back(&o);
  }
  std::stable_sort(sel.begin(), sel.end(), [&](const Order* a, const Order* b) {
    return (created ? a->created : a->updated) < (created ? b->created : b->updated);
  });
  int64_t offset = state["offset"].get<int64_t>(), max = state["max"].get<int64_t>();
  json orders = json::array();
  for (int64_t i = offset; i < std::min<int64_t>(offset + max, sel.size()); ++i)
    orders.push_back(order_json(*sel[static_cast<size_t>(i)]));
  json payload = {{"Orders", orders}};
  if (offset + max < static_cast<int64_t>(sel.size())) {
    json next = state;
    next["offset"] = offset + max;
    payload["NextToken"] = base64_encode(next.dump());
  }
  payload[created ? "CreatedBefore" : "LastUpdatedBefore"] = iso8601(before);
  return json_response(200, dump({{"payload", payload}}));
}

void AmazonChannel::tick(double now) {
  Channel::tick(now);
  // Apply accepted listing updates whose processing delay has passed, in time order.
  std::stable_sort(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) { return a.apply_at < b.apply_at; });
  while (!pending_.empty() && pending_.front().apply_at <= now) {
    Pending p = pending_.front();
    pending_.pop_front();
    if (Listing* l = find(p.sku)) {
      if (p.clear_siblings) {
        l->lead_time_to_ship_max_days.reset();
        l->restock_date.clear();
      }
      if (p.lead_time) l->lead_time_to_ship_max_days = p.lead_time;
      set_shown(*l, p.quantity, p.apply_at, "push", "patchListingsItem " + p.submission);
    }
  }
  // Pending orders become Unshipped.
  std::vector<std::pair<double, std::string>> rest;
  for (auto& u : unpend_) {
    if (u.first <= now) {
      if (Order* o = find_order(u.second); o && o->status == "Pending") {
        o->status = "Unshipped";
        o->updated = u.first;
      }
    } else {
      rest.push_back(u);
    }
  }
  unpend_.swap(rest);
}

std::string AmazonChannel::new_order_id(int64_t) {
  return digits(rng_ids, 3) + "-" + digits(rng_ids, 7) + "-" + digits(rng_ids, 7);
}

void AmazonChannel::init_order(Order& o, const Listing&, double now) {
  o.line_item_id = digits(rng_ids, 14);
  if (cfg_.buyers.pending_s > 0) {
    o.status = "Pending";
    unpend_.emplace_back(now + cfg_.buyers.pending_s, o.id);
  } else {
    o.status = "Unshipped";
  }
}

void AmazonChannel::on_order_cancelled(Order& o, Listing&, double) { o.status = "Canceled"; }

json AmazonChannel::order_json(const Order& o) const {
  char total[32];
  std::snprintf(total, sizeof total, "%.2f", std::atof(o.price.c_str()) * static_cast<double>(o.quantity));
  bool open = o.status == "Unshipped" || o.status == "Pending";
  return {{"AmazonOrderId", o.id},
          {"PurchaseDate", iso8601(o.created)},
          {"LastUpdateDate", iso8601(o.updated)},
          {"OrderStatus", o.status},
          {"FulfillmentChannel", "MFN"},
          {"SalesChannel", "Amazon.com"},
          {"OrderType", "StandardOrder"},
          {"NumberOfItemsShipped", 0},
          {"NumberOfItemsUnshipped", open ? o.quantity : 0},
          {"OrderTotal", {{"CurrencyCode", "USD"}, {"Amount", total}}},
          {"MarketplaceId", cfg_.marketplace_id},
          {"PaymentMethod", "Other"},
          {"IsPrime", false},
          {"IsBusinessOrder", false},
          {"IsReplacementOrder", false},
          {"EarliestShipDate", iso8601(o.created + 86400)},
          {"LatestShipDate", iso8601(o.created + 2 * 86400)}};
}

json AmazonChannel::order_items_json(const Order& o) const {
  const Listing* l = find(o.listing_id);
  char total[32];
  std::snprintf(total, sizeof total, "%.2f", std::atof(o.price.c_str()) * static_cast<double>(o.quantity));
  return {{"AmazonOrderId", o.id},
          {"OrderItems", json::array({{{"ASIN", l ? l->asin : ""},
                                       {"SellerSKU", o.sku},
                                       {"OrderItemId", o.line_item_id},
                                       {"Title", l ? l->title : o.sku},
                                       {"QuantityOrdered", o.quantity},
                                       {"QuantityShipped", 0},
                                       {"ItemPrice", {{"CurrencyCode", "USD"}, {"Amount", total}}}}})}};
}

void AmazonChannel::inspect_extra(json& j) const {
  json p = json::array();
  for (auto& x : pending_)
    p.push_back({{"sku", x.sku}, {"quantity", x.quantity}, {"submissionId", x.submission}, {"apply_at", iso8601_ms(x.apply_at)}});
  j["pending_updates"] = p;
}

}  // namespace sim
