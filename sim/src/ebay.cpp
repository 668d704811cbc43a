#include "ebay.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "ids.hpp"
#include "money.hpp"
#include "signing.hpp"
#include "timefmt.hpp"

namespace sim {

namespace {

json ebay_error(int64_t id, const std::string& domain, const std::string& category, const std::string& message) {
  return {{"errorId", id}, {"domain", domain}, {"category", category}, {"message", message}};
}

Response ebay_errors(int status, json err) {
  return json_response(status, dump({{"errors", json::array({std::move(err)})}}));
}

Response oauth_error(int status, const std::string& error, const std::string& desc) {
  return json_response(status, dump({{"error", error}, {"error_description", desc}}));
}

}  // namespace

Response EbayChannel::server_error(int status) {
  return ebay_errors(status, ebay_error(2003, "ACCESS", "APPLICATION",
                                        "There was a problem with an eBay internal system or process. Contact eBay "
                                        "developer support for assistance."));
}

Response EbayChannel::throttled(double) {
  return ebay_errors(429, ebay_error(2001, "ACCESS", "REQUEST",
                                     "Too many requests. The request limit has been reached for the resource."));
}

Response EbayChannel::token(const Request& req, double now) {
  count("oauth2/token");
  if (req.method != "POST") return oauth_error(405, "invalid_request", "request method not supported");
  std::string auth = req.header("Authorization");
  std::string id, secret;
  if (auth.rfind("Basic ", 0) == 0) {
    if (auto dec = base64_decode(auth.substr(6))) {
      auto colon = dec->find(':');
      id = dec->substr(0, colon);
      if (colon != std::string::npos) secret = dec->substr(colon + 1);
    }
  }
  if (!constant_time_equal(id, cfg_.client_id) || !constant_time_equal(secret, cfg_.client_secret)) {
    ++stats.auth_failures;
    return oauth_error(401, "invalid_client", "client authentication failed");
  }
  auto form = parse_query(req.body);
  auto get = [&](const char* k) {
    auto it = form.find(k);
    return it == form.end() ? std::string() : it->second;
  };
  std::string grant = get("grant_type");
  bool user;
  if (grant == "refresh_token") {
    if (!constant_time_equal(get("refresh_token"), cfg_.refresh_token)) {
      ++stats.auth_failures;
      return oauth_error(400, "invalid_grant",
                         "the provided authorization refresh token is invalid or was issued to another client");
    }
    user = true;
  } else if (grant == "client_credentials") {
    user = false;
  } else {
    return oauth_error(400, "unsupported_grant_type",
                       "grant type in request is not supported by the authorization server");
  }
  std::string tok = "v^1.1#i^1#r^" + std::string(user ? "1" : "0") + "#p^3#I^3#f^0#t^" + hex_id(rng_ids.next(), 16) +
                    hex_id(rng_ids.next(), 16);
  tokens_[tok] = {now + cfg_.token_ttl_s, user};
  return json_response(200, dump({{"access_token", tok},
                                  {"expires_in", static_cast<int64_t>(cfg_.token_ttl_s)},
                                  {"token_type", user ? "User Access Token" : "Application Access Token"}}));
}

Response EbayChannel::handle(const Request& req, const std::vector<std::string>& r, double now, double) {
  if (r.size() == 4 && r[0] == "identity" && r[1] == "v1" && r[2] == "oauth2" && r[3] == "token")
    return token(req, now);

  std::string op;
  if (r.size() >= 3 && r[0] == "sell" && r[1] == "inventory" && r[2] == "v1") {
    if (r.size() == 4 && r[3] == "bulk_update_price_quantity") op = "bulkUpdatePriceQuantity";
    else if (r.size() == 5 && r[3] == "inventory_item") op = "getInventoryItem";
    else if (r.size() == 4 && r[3] == "inventory_item") op = "getInventoryItems";
    else if (r.size() == 4 && r[3] == "offer") op = "getOffers";
    else if (r.size() == 5 && r[3] == "offer") op = "getOffer";
  } else if (r.size() >= 4 && r[0] == "sell" && r[1] == "fulfillment" && r[2] == "v1" && r[3] == "order") {
    op = r.size() == 4 ? "getOrders" : r.size() == 5 ? "getOrder" : "";
  }
  if (op.empty()) {
    count("not_found");
    return ebay_errors(404, ebay_error(2002, "ACCESS", "REQUEST", "Resource not found"));
  }
  count(op);
  bool is_post = op == "bulkUpdatePriceQuantity";
  if ((is_post && req.method != "POST") || (!is_post && req.method != "GET"))
    return ebay_errors(405, ebay_error(2002, "ACCESS", "REQUEST", "Method not allowed"));

  // OAuth bearer token (user token for the Sell APIs).
  std::string auth = req.header("Authorization");
  auto it = auth.rfind("Bearer ", 0) == 0 ? tokens_.find(auth.substr(7)) : tokens_.end();
  if (it == tokens_.end() || it->second.expires <= now) {
    ++stats.auth_failures;
    json e = ebay_error(1001, "OAuth", "REQUEST", "Invalid access token");
    e["longMessage"] = "Invalid access token. Check the value of the Authorization HTTP request header.";
    return ebay_errors(401, e);
  }
  if (!it->second.user) {
    ++stats.auth_failures;
    return ebay_errors(403, ebay_error(1100, "ACCESS", "REQUEST",
                                       "Access denied. Insufficient permissions to fulfill the request."));
  }
  // Daily call quota; the day resets at midnight US Pacific time (PST or PDT).
  int64_t day = pacific_day(now);
  if (day != quota_day_) {
    quota_day_ = day;
    calls_today_ = 0;
  }
  if (calls_today_ >= cfg_.daily_quota) {
    ++stats.throttled;
    return throttled(now);
  }
  ++calls_today_;

  if (op == "bulkUpdatePriceQuantity") return bulk_update(req, now);
  if (op == "getOrders") return get_orders(req);
  if (op == "getOrder") {
    if (Order* o = find_order(r[4])) return json_response(200, dump(order_json(*o)));
    return ebay_errors(404, ebay_error(32100, "API_FULFILLMENT", "REQUEST", "Order not found."));
  }
  if (op == "getInventoryItem") {
    if (Listing* l = find(r[4])) return json_response(200, dump(item_json(*l)));
    return ebay_errors(404, ebay_error(25710, "API_INVENTORY", "REQUEST",
                                       "We didn't find the resource/entity you are requesting. Please verify the "
                                       "request"));
  }
  if (op == "getInventoryItems") {
    int64_t limit = req.has_param("limit") ? std::atoll(req.param("limit").c_str()) : 25;
    int64_t offset = req.has_param("offset") ? std::atoll(req.param("offset").c_str()) : 0;
    if (limit < 1 || limit > 200 || offset < 0)
      return ebay_errors(400, ebay_error(25709, "API_INVENTORY", "REQUEST", "Invalid value for limit or offset."));
    json items = json::array();
    for (int64_t i = offset; i < std::min<int64_t>(offset + limit, listings_.size()); ++i)
      items.push_back(item_json(listings_[static_cast<size_t>(i)]));
    return json_response(200, dump({{"href", req.target},
                                    {"total", listings_.size()},
                                    {"size", items.size()},
                                    {"limit", limit},
                                    {"offset", offset},
                                    {"inventoryItems", items}}));
  }
  if (op == "getOffers") {
    std::string sku = req.param("sku");
    if (sku.empty())
      return ebay_errors(400, ebay_error(25709, "API_INVENTORY", "REQUEST", "Invalid value for sku."));
    Listing* l = find(sku);
    if (!l)
      return ebay_errors(404, ebay_error(25713, "API_INVENTORY", "REQUEST", "This Offer is not available."));
    json offers = json::array({offer_json(*l)});
    for (const auto& [id, q] : l->other_offers) offers.push_back(offer_json(*l, id, q));
    return json_response(200, dump({{"href", req.target}, {"limit", 25}, {"size", offers.size()},
                                    {"total", offers.size()}, {"offers", offers}}));
  }
  if (op == "getOffer") {
    for (auto& l : listings_) {
      if (l.offer_id == r[4]) return json_response(200, dump(offer_json(l)));
      auto o = l.other_offers.find(r[4]);
      if (o != l.other_offers.end()) return json_response(200, dump(offer_json(l, o->first, o->second)));
    }
    return ebay_errors(404, ebay_error(25713, "API_INVENTORY", "REQUEST", "This Offer is not available."));
  }
  return ebay_errors(404, ebay_error(2002, "ACCESS", "REQUEST", "Resource not found"));
}

Response EbayChannel::bulk_update(const Request& req, double now) {
  json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return ebay_errors(400, ebay_error(2004, "ACCESS", "REQUEST", "Request had bad syntax or the request data was invalid."));
  if (!body.contains("requests") || !body["requests"].is_array() || body["requests"].empty())
    return ebay_errors(400, ebay_error(25709, "API_INVENTORY", "REQUEST", "Invalid value for requests."));
  const json& reqs = body["requests"];
  size_t offers = 0;
  for (auto& e : reqs)
    if (e.is_object() && e.contains("offers") && e["offers"].is_array()) offers += e["offers"].size();
  // §3.3: 25 entries in requests[] and 25 offers per call; the 26th is rejected.
  if (reqs.size() > 25 || offers > 25)
    return ebay_errors(400, ebay_error(25709, "API_INVENTORY", "REQUEST",
                                       "Invalid value for requests. A call can update at most 25 SKUs and 25 offers."));
  int64_t day = pacific_day(now);
  std::set<std::string> seen_offers;
  json responses = json::array();
  bool all_ok = true;
  // One PriceQuantityResponse per offer of an entry, with its offerId, as eBay
  // documents (§3.2; PriceQuantityResponse.offerId "will not be returned in
  // situations where the seller is only updating the total 'ship-to-home'
  // quantity"). An entry without offers gets one answer, with the sku and no
  // offerId. The offers succeed or fail on their own: a refused offer keeps its
  // old quantity while the others and the inventory item change.
  auto answer = [&](const json& sku, const std::string* offer_id, json errors, int status) {
    json resp = {{"statusCode", errors.empty() ? 200 : status}, {"sku", sku}};
    if (offer_id) resp["offerId"] = *offer_id;
    if (!errors.empty()) all_ok = false;
    resp["errors"] = std::move(errors);
    resp["warnings"] = json::array();
    responses.push_back(std::move(resp));
  };
  auto offer_id_of = [](const json& o) {
    return o.is_object() && o.contains("offerId") && o["offerId"].is_string() ? o["offerId"].get<std::string>()
                                                                              : std::string();
  };
  for (auto& e : reqs) {
    json sku = e.is_object() ? e.value("sku", json(nullptr)) : json(nullptr);
    Listing* l = sku.is_string() ? find(sku.get<std::string>()) : nullptr;
    bool has_total = e.is_object() && e.contains("shipToLocationAvailability");
    const json no_offers = json::array();
    const json& offers = e.is_object() && e.contains("offers") && e["offers"].is_array() ? e["offers"] : no_offers;
    // Errors of the entry as a whole, answered for each of its offers (or once
    // when it has none); nothing of the entry is applied.
    json entry_errors = json::array();
    int entry_status = 400;
    const json* total = has_total ? &e["shipToLocationAvailability"] : nullptr;
    if (!l) {
      entry_status = 404;
      entry_errors.push_back(ebay_error(25702, "API_INVENTORY", "REQUEST",
                                        "The SKU " + (sku.is_string() ? sku.get<std::string>() : std::string()) +
                                            " is not available in the system."));
    } else if (total && (!total->is_object() || !total->contains("quantity") ||
                         !(*total)["quantity"].is_number_integer() || (*total)["quantity"].get<int64_t>() < 0)) {
      entry_errors.push_back(ebay_error(25709, "API_INVENTORY", "REQUEST",
                                        "Invalid value for shipToLocationAvailability.quantity."));
    } else if (!total && offers.empty()) {
      entry_errors.push_back(ebay_error(25709, "API_INVENTORY", "REQUEST",
                                        "Invalid value for requests. shipToLocationAvailability or offers is required."));
    } else {
      if (l->revision_day != day) {
        l->revision_day = day;
        l->revisions_today = 0;
      }
      // The listing's daily revision limit refuses the whole entry.
      if (l->revisions_today >= cfg_.revisions_per_day)
        entry_errors.push_back(ebay_error(25025, "API_INVENTORY", "REQUEST",
                                          "The listing has reached the maximum number of revisions allowed for one day."));
    }
    if (!entry_errors.empty()) {
      for (auto& o : offers) {
        std::string oid = offer_id_of(o);
        seen_offers.insert(oid);
        answer(sku, &oid, entry_errors, entry_status);
      }
      if (offers.empty()) answer(sku, nullptr, entry_errors, entry_status);
      continue;
    }
    bool changed = false;
    for (auto& o : offers) {
      std::string oid = offer_id_of(o);
      json errors = json::array();
      int status = 400;
      int64_t* qty = oid == l->offer_id ? &l->offer_quantity : nullptr;
      if (!qty && l->other_offers.count(oid)) qty = &l->other_offers[oid];
      auto refused = faults.refused_offers.find(oid);
      if (!seen_offers.insert(oid).second) {
        errors.push_back(ebay_error(25735, "API_INVENTORY", "REQUEST", "Duplicate offerId " + oid + " in the request."));
      } else if (!qty) {
        errors.push_back(ebay_error(25713, "API_INVENTORY", "REQUEST", "This Offer is not available."));
      } else if (refused != faults.refused_offers.end()) {
        status = refused->second;
        errors.push_back(status >= 500 ? ebay_error(25001, "API_INVENTORY", "APPLICATION",
                                                    "A system error has occurred. Please try again.")
                                       : ebay_error(25713, "API_INVENTORY", "REQUEST", "This Offer is not available."));
      } else if (o.contains("availableQuantity") &&
                 (!o["availableQuantity"].is_number_integer() || o["availableQuantity"].get<int64_t>() < 0)) {
        errors.push_back(ebay_error(25709, "API_INVENTORY", "REQUEST", "Invalid value for availableQuantity."));
      } else if (o.contains("availableQuantity")) {
        *qty = o["availableQuantity"].get<int64_t>();
        changed = true;
      }
      answer(sku, &oid, std::move(errors), status);
    }
    if (total) {
      l->total_quantity = (*total)["quantity"].get<int64_t>();
      changed = true;
    }
    if (offers.empty()) answer(sku, nullptr, json::array(), 200);
    if (changed) {
      ++l->revisions_today;
      // The listing shows the smaller of the two levels (§3.2).
      set_shown(*l, std::min(l->total_quantity, l->offer_quantity), now, "push", "bulkUpdatePriceQuantity");
    }
  }
  return json_response(all_ok ? 200 : 207, dump({{"responses", responses}}));
}

Response EbayChannel::get_orders(const Request& req) {
  auto err = [](int64_t id, const std::string& msg) {
    return ebay_errors(400, ebay_error(id, "API_FULFILLMENT", "REQUEST", msg));
  };
  std::vector<const Order*> sel;
  int64_t limit = 50, offset = 0;
  if (req.has_param("limit")) {
    std::string s = req.param("limit");
    limit = std::atoll(s.c_str());
    if (limit < 1 || limit > 200) return err(31100, "Invalid limit. Supported range is 1 to 200.");
  }
  if (req.has_param("offset")) {
    offset = std::atoll(req.param("offset").c_str());
    if (offset < 0) return err(30800, "Invalid offset.");
  }
  if (req.has_param("orderIds")) {
    // orderIds wins: every other parameter is ignored.
    std::vector<std::string> ids;
    std::string s = req.param("orderIds");
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t c = s.find(',', pos);
      if (c == std::string::npos) c = s.size();
      if (c > pos) ids.push_back(s.substr(pos, c - pos));
      pos = c + 1;
    }
    if (ids.size() > 50) return err(30900, "Exceeded maximum number of order IDs (50).");
    for (auto& id : ids)
      if (Order* o = find_order(id)) sel.push_back(o);
    limit = 50;
    offset = 0;
  } else {
    std::optional<std::pair<double, double>> created, modified;
    std::set<std::string> statuses;
    std::string filter = req.param("filter");
    size_t pos = 0;
    while (pos < filter.size()) {
      size_t c = filter.find(',', pos);
      if (c == std::string::npos) c = filter.size();
      std::string part = filter.substr(pos, c - pos);
      pos = c + 1;
      size_t colon = part.find(':');
      std::string name = part.substr(0, colon);
      std::string val = colon == std::string::npos ? "" : part.substr(colon + 1);
      if (name == "creationdate" || name == "lastmodifieddate") {
        // [from..to] or [from..]
        if (val.size() < 4 || val.front() != '[' || val.back() != ']' || val.find("..") == std::string::npos)
          return err(30850, "Invalid date format for " + name + ".");
        std::string inner = val.substr(1, val.size() - 2);
        size_t dd = inner.find("..");
        auto from = parse_iso8601(inner.substr(0, dd));
        std::string to_s = inner.substr(dd + 2);
        auto to = to_s.empty() ? std::optional<double>(INFINITY) : parse_iso8601(to_s);
        if (!from || !to) return err(30850, "Invalid date format for " + name + ".");
        (name == "creationdate" ? created : modified) = std::make_pair(*from, *to);
      } else if (name == "orderfulfillmentstatus") {
        if (val.size() < 2 || val.front() != '{' || val.back() != '}')
          return err(30820, "Invalid orderfulfillmentstatus filter.");
        std::string inner = val.substr(1, val.size() - 2);
        size_t p2 = 0;
        while (p2 <= inner.size()) {
          size_t bar = inner.find('|', p2);
          if (bar == std::string::npos) bar = inner.size();
          statuses.insert(inner.substr(p2, bar - p2));
          p2 = bar + 1;
        }
      } else {
        return err(30700, "Invalid filter name: " + name);
      }
    }
    // If both date filters are present only creationdate is used (§3.5).
    if (created) modified.reset();
    for (auto& o : orders_) {
      if (created && (o.created < created->first || o.created > created->second)) continue;
      if (modified && (o.updated < modified->first || o.updated > modified->second)) continue;
      if (!statuses.empty() && !statuses.count("NOT_STARTED")) continue;  // every simulated order is NOT_STARTED
      sel.push_back(&o);
    }
  }
  json arr = json::array();
  for (int64_t i = offset; i < std::min<int64_t>(offset + limit, sel.size()); ++i)
    arr.push_back(order_json(*sel[static_cast<size_t>(i)]));
  std::string base = "/sell/fulfillment/v1/order?";
  if (req.has_param("filter")) base += "filter=" + url_encode(req.param("filter")) + "&";
  json out = {{"href", base + "limit=" + std::to_string(limit) + "&offset=" + std::to_string(offset)},
              {"total", sel.size()},
              {"limit", limit},
              {"offset", offset}};
  if (offset + limit < static_cast<int64_t>(sel.size()))
    out["next"] = base + "limit=" + std::to_string(limit) + "&offset=" + std::to_string(offset + limit);
  if (offset > 0)
    out["prev"] = base + "limit=" + std::to_string(limit) + "&offset=" + std::to_string(std::max<int64_t>(0, offset - limit));
  out["orders"] = arr;
  out["warnings"] = json::array();
  return json_response(200, dump(out));
}

json EbayChannel::offer_json(const Listing& l) const { return offer_json(l, l.offer_id, l.offer_quantity); }

// Offers besides the listing's own (other_offer_ids) share its listing fields.
json EbayChannel::offer_json(const Listing& l, const std::string& offer_id, int64_t quantity) const {
  return {{"offerId", offer_id},
          {"sku", l.sku},
          {"marketplaceId", cfg_.ebay_marketplace_id},
          {"format", "FIXED_PRICE"},
          {"availableQuantity", quantity},
          {"status", "PUBLISHED"},
          {"merchantLocationKey", "default"},
          {"listing", {{"listingId", l.listing_id}, {"listingStatus", "ACTIVE"}, {"soldQuantity", l.sold_quantity}}},
          {"pricingSummary", {{"price", {{"value", l.price}, {"currency", "EUR"}}}}}};
}

json EbayChannel::item_json(const Listing& l) const {
  return {{"sku", l.sku},
          {"locale", "de_DE"},
          {"condition", "NEW"},
          {"product", {{"title", l.title}}},
          {"availability", {{"shipToLocationAvailability", {{"quantity", l.total_quantity}}}}}};
}

std::string EbayChannel::new_order_id(int64_t) { return digits(rng_ids, 2) + "-" + digits(rng_ids, 5) + "-" + digits(rng_ids, 5); }

void EbayChannel::init_order(Order& o, const Listing&, double) {
  o.status = "NOT_STARTED";
  o.line_item_id = std::to_string(10000000000LL + o.number * 13);
}

void EbayChannel::on_order_placed(Order& o, Listing& l, double) {
  l.total_quantity = std::max<int64_t>(0, l.total_quantity - o.quantity);
  l.offer_quantity = std::max<int64_t>(0, l.offer_quantity - o.quantity);
  l.sold_quantity += o.quantity;
}

void EbayChannel::on_order_cancelled(Order& o, Listing& l, double) {
  l.total_quantity += o.quantity;
  l.offer_quantity += o.quantity;
  l.sold_quantity -= o.quantity;
}

void EbayChannel::manual_edit(Listing& l, int64_t q, bool silent, double now) {
  q = std::max<int64_t>(0, q);
  l.total_quantity = q;
  l.offer_quantity = q;
  Channel::manual_edit(l, q, silent, now);
}

json EbayChannel::order_json(const Order& o) const {
  const Listing* l = find(o.listing_id);
  std::string total = money(std::atof(o.price.c_str()) * static_cast<double>(o.quantity));
  json li = {{"lineItemId", o.line_item_id},
             {"legacyItemId", l ? l->listing_id : ""},
             {"sku", o.sku},
             {"title", l ? l->title : o.sku},
             {"quantity", o.quantity},
             {"lineItemFulfillmentStatus", "NOT_STARTED"},
             {"lineItemCost", {{"value", total}, {"currency", "EUR"}}}};
  return {{"orderId", o.id},
          {"legacyOrderId", o.id},
          {"creationDate", iso8601_ms(o.created)},
          {"lastModifiedDate", iso8601_ms(o.updated)},
          {"orderFulfillmentStatus", "NOT_STARTED"},
          {"orderPaymentStatus", o.cancelled ? "FULLY_REFUNDED" : "PAID"},
          {"sellerId", cfg_.name},
          {"buyer", {{"username", "buyer" + std::to_string(o.number)}}},
          {"pricingSummary", {{"total", {{"value", total}, {"currency", "EUR"}}}}},
          {"cancelStatus", {{"cancelState", o.cancelled ? "CANCELED" : "NONE_REQUESTED"}, {"cancelRequests", json::array()}}},
          {"lineItems", json::array({li})}};
}

void EbayChannel::inspect_extra(json& j) const {
  j["calls_today"] = calls_today_;
  j["daily_quota"] = cfg_.daily_quota;
}

}  // namespace sim
