#include "woocommerce.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "money.hpp"
#include "signing.hpp"
#include "timefmt.hpp"

namespace sim {

namespace {

Response wp_error(int status, const std::string& code, const std::string& message) {
  return json_response(status, dump({{"code", code}, {"message", message}, {"data", {{"status", status}}}}));
}

json wp_error_obj(int status, const std::string& code, const std::string& message) {
  return {{"code", code}, {"message", message}, {"data", {{"status", status}}}};
}

bool is_int(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Response WooChannel::server_error(int status) {
  return wp_error(status, "internal_server_error", "There has been a critical error on this website.");
}

Response WooChannel::throttled(double) {
  // WooCommerce core has no rate limit; hosts and WAFs answer 429 (§4.4, unverified shape).
  Response r = wp_error(429, "too_many_requests", "Too many requests. Please slow down.");
  r.set_header("Retry-After", "10");
  return r;
}

json WooChannel::product_json(const Listing& l) const {
  bool variation = !l.parent_id.empty();
  const char* stock_status = l.manage_stock ? (l.shown > 0 ? "instock" : "outofstock") : "instock";
  return {{"id", std::stoll(l.id)},
          {"name", l.title},
          {"type", variation ? "variation" : "simple"},
          {"status", "publish"},
          {"sku", l.sku},
          {"price", l.price},
          {"regular_price", l.price},
          {"date_modified", iso8601_naive(l.updated_at + site_offset_s())},
          {"date_modified_gmt", iso8601_naive(l.updated_at)},
          {"manage_stock", l.manage_stock},
          {"stock_quantity", l.manage_stock ? json(l.shown) : json(nullptr)},
          {"stock_status", stock_status},
          {"backorders", "no"},
          {"parent_id", variation ? std::stoll(l.parent_id) : 0}};
}

Response WooChannel::handle(const Request& req, const std::vector<std::string>& rest, double now, double) {
  if (rest.size() < 4 || rest[0] != "wp-json" || rest[1] != "wc" || rest[2] != "v3") {
    count("not_found");
    return wp_error(404, "rest_no_route", "No route was found matching the URL and request method.");
  }
  std::vector<std::string> r(rest.begin() + 3, rest.end());
  const std::string& m = req.method;
  std::string op = m + " " + r[0];
  if (r.size() >= 2) op += r.back() == "batch" ? "/batch" : "/{id}";
  if (r.size() >= 3 && r[2] == "variations") op = m + " variations" + (r.back() == "batch" ? "/batch" : "");
  count(op);

  // Auth: consumer key and secret, as HTTP Basic or as query parameters.
  std::string key, secret;
  std::string auth = req.header("Authorization");
  if (auth.rfind("Basic ", 0) == 0) {
    auto dec = base64_decode(auth.substr(6));
    if (dec) {
      auto colon = dec->find(':');
      key = dec->substr(0, colon);
      if (colon != std::string::npos) secret = dec->substr(colon + 1);
    }
  } else {
    key = req.param("consumer_key");
    secret = req.param("consumer_secret");
  }
  if (key.empty()) {
    ++stats.auth_failures;
    return wp_error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.");
  }
  if (!constant_time_equal(key, cfg_.consumer_key)) {
    ++stats.auth_failures;
    return wp_error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.");
  }
  if (!constant_time_equal(secret, cfg_.consumer_secret)) {
    ++stats.auth_failures;
    return wp_error(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.");
  }

  bool write = m == "POST" || m == "PUT" || m == "PATCH";
  if (r[0] == "products") {
    if (r.size() == 1 && m == "GET") return list_products(req, "");
    if (r.size() == 2 && r[1] == "batch" && write) return batch(req, "", now);
    if (r.size() == 2 && is_int(r[1])) {
      Listing* l = find(r[1]);
      if (!l || !l->parent_id.empty()) return wp_error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.");
      if (m == "GET") return json_response(200, dump(product_json(*l)));
      if (write) {
        json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object())
          return wp_error(400, "rest_invalid_json", "Invalid JSON body passed.");
        body["id"] = std::stoll(r[1]);
        int status = 200;
        json res = update_item(body, "", now, &status);
        if (res.contains("error")) return json_response(status, dump(res["error"]));
        return json_response(200, dump(res));
      }
    }
    if (r.size() >= 3 && is_int(r[1]) && r[2] == "variations") {
      const std::string& parent = r[1];
      if (r.size() == 3 && m == "GET") return list_products(req, parent);
      if (r.size() == 4 && r[3] == "batch" && write) return batch(req, parent, now);
      if (r.size() == 4 && is_int(r[3])) {
        Listing* l = find(r[3]);
        if (!l || l->parent_id != parent)
          return wp_error(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.");
        if (m == "GET") return json_response(200, dump(product_json(*l)));
        if (write) {
          json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
          if (body.is_discarded() || !body.is_object())
            return wp_error(400, "rest_invalid_json", "Invalid JSON body passed.");
          body["id"] = std::stoll(r[3]);
          int status = 200;
          json res = update_item(body, parent, now, &status);
          if (res.contains("error")) return json_response(status, dump(res["error"]));
          return json_response(200, dump(res));
        }
      }
    }
  }
  if (r[0] == "orders") {
    if (r.size() == 1 && m == "GET") return list_orders(req);
    if (r.size() == 2 && m == "GET") {
      if (Order* o = find_order(r[1])) return json_response(200, dump(order_json(*o)));
      return wp_error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.");
    }
  }
  return wp_error(404, "rest_no_route", "No route was found matching the URL and request method.");
}

json WooChannel::update_item(const json& item, const std::string& parent, double now, int* status) {
  *status = 200;
  json id = item.value("id", json(nullptr));
  std::string sid = id.is_number_integer() ? std::to_string(id.get<int64_t>()) : id.is_string() ? id.get<std::string>() : "";
  Listing* l = is_int(sid) ? find(sid) : nullptr;
  if (!l || l->parent_id != parent) {
    *status = 400;
    const char* code = parent.empty() ? "woocommerce_rest_product_invalid_id" : "woocommerce_rest_product_variation_invalid_id";
    return {{"id", id.is_null() ? json(0) : id}, {"error", wp_error_obj(400, code, "Invalid ID.")}};
  }
  if (item.contains("manage_stock")) {
    const json& ms = item["manage_stock"];
    if (!ms.is_boolean()) {
      *status = 400;
      return {{"id", id}, {"error", wp_error_obj(400, "rest_invalid_param", "Invalid parameter(s): manage_stock")}};
    }
    l->manage_stock = ms.get<bool>();
  }
  if (item.contains("stock_quantity") && !item["stock_quantity"].is_null()) {
    const json& q = item["stock_quantity"];
    int64_t v = 0;
    if (q.is_number_integer()) v = q.get<int64_t>();
    else if (q.is_string() && is_int(q.get<std::string>())) v = std::stoll(q.get<std::string>());
    else {
      *status = 400;
      return {{"id", id}, {"error", wp_error_obj(400, "rest_invalid_param", "Invalid parameter(s): stock_quantity")}};
    }
    // stock_quantity only means something when the product manages stock (§4.7).
    if (l->manage_stock) set_shown(*l, v, now, "push", parent.empty() ? "products" : "variations");
  }
  l->updated_at = now;
  return product_json(*l);
}

Response WooChannel::batch(const Request& req, const std::string& parent, double now) {
  json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return wp_error(400, "rest_invalid_json", "Invalid JSON body passed.");
  size_t n = 0;
  for (const char* k : {"create", "update", "delete"})
    if (body.contains(k) && body[k].is_array()) n += body[k].size();
  if (static_cast<int64_t>(n) > cfg_.batch_limit)
    return wp_error(413, "woocommerce_rest_request_entity_too_large",
                    "Unable to accept more than " + std::to_string(cfg_.batch_limit) + " items for this request.");
  json out = json::object();
  if (body.contains("create") && body["create"].is_array()) {
    out["create"] = json::array();
    for (size_t i = 0; i < body["create"].size(); ++i)
      out["create"].push_back({{"id", 0},
                               {"error", wp_error_obj(400, "woocommerce_rest_cannot_create",
                                                      "The simulator does not create products.")}});
  }
  if (body.contains("update") && body["update"].is_array()) {
    out["update"] = json::array();
    for (auto& item : body["update"]) {
      int st = 200;
      out["update"].push_back(item.is_object() ? update_item(item, parent, now, &st)
                                               : json{{"id", 0},
                                                      {"error", wp_error_obj(400, "rest_invalid_param", "Invalid item.")}});
    }
  }
  if (body.contains("delete") && body["delete"].is_array()) {
    out["delete"] = json::array();
    for (auto& id : body["delete"])
      out["delete"].push_back({{"id", id},
                               {"error", wp_error_obj(400, "woocommerce_rest_cannot_delete",
                                                      "The simulator does not delete products.")}});
  }
  return json_response(200, dump(out));
}

Response WooChannel::list_products(const Request& req, const std::string& parent) {
  int64_t per_page = req.has_param("per_page") ? std::atoll(req.param("per_page").c_str()) : 10;
  int64_t page = req.has_param("page") ? std::atoll(req.param("page").c_str()) : 1;
  if (per_page < 1 || per_page > 100)
    return wp_error(400, "rest_invalid_param", "Invalid parameter(s): per_page");
  if (page < 1) return wp_error(400, "rest_invalid_param", "Invalid parameter(s): page");
  std::string sku = req.param("sku");
  std::string include = req.param("include");
  std::vector<const Listing*> all;
  for (auto& l : listings_) {
    if (l.parent_id != parent) continue;
    if (!sku.empty() && l.sku != sku) continue;
    if (!include.empty() && ("," + include + ",").find("," + l.id + ",") == std::string::npos) continue;
    all.push_back(&l);
  }
  json arr = json::array();
  for (int64_t i = (page - 1) * per_page; i < std::min<int64_t>(page * per_page, all.size()); ++i)
    arr.push_back(product_json(*all[static_cast<size_t>(i)]));
  Response r = json_response(200, dump(arr));
  r.set_header("X-WP-Total", std::to_string(all.size()));
  r.set_header("X-WP-TotalPages", std::to_string((all.size() + per_page - 1) / per_page));
  return r;
}

// GET orders as WC_REST_Orders_Controller answers it: per_page 1..100
// (default 10), page >= 1, orderby one of date|id|include|title|slug|modified
// (default date; date and modified are followed by ID), order asc|desc
// (default desc), status (default any; a comma list), X-WP-Total /
// X-WP-TotalPages. modified_after / modified_before / after / before become a
// WP_Date_Query on post_modified / post_date, the site's local time, or with
// dates_are_gmt=true on post_modified_gmt / post_date_gmt; the value is taken
// as written when it has no zone, and converted to the site's zone when it
// has one (WP_Date_Query::build_mysql_datetime), in whole seconds as
// WordPress stores them, "after" and "before" strict: an order modified at
// 10:00:00.7 is not after 10:00:00. The site's zone is the scenario's
// gmt_offset (hours).
Response WooChannel::list_orders(const Request& req) {
  auto invalid = [](const std::string& p) {
    return wp_error(400, "rest_invalid_param", "Invalid parameter(s): " + p);
  };
  if (req.has_param("per_page") && !is_int(req.param("per_page"))) return invalid("per_page");
  if (req.has_param("page") && !is_int(req.param("page"))) return invalid("page");
  int64_t per_page = req.has_param("per_page") ? std::atoll(req.param("per_page").c_str()) : 10;
  int64_t page = req.has_param("page") ? std::atoll(req.param("page").c_str()) : 1;
  if (per_page < 1 || per_page > 100) return invalid("per_page");
  if (page < 1) return invalid("page");
  bool gmt = false;
  if (req.has_param("dates_are_gmt")) {
    const std::string g = req.param("dates_are_gmt");
    if (g != "true" && g != "false" && g != "1" && g != "0") return invalid("dates_are_gmt");
    gmt = g == "true" || g == "1";
  }
  const double off = site_offset_s();
  std::optional<double> bounds[4];  // modified_after, modified_before, after, before: the column's literal
  const char* names[4] = {"modified_after", "modified_before", "after", "before"};
  for (int i = 0; i < 4; ++i)
    if (req.has_param(names[i])) {
      const std::string v = req.param(names[i]);
      auto t = parse_iso8601(v);
      if (!t) return invalid(names[i]);
      bool zoned = v.find_first_of("Zz+", 19) != std::string::npos || v.find('-', 19) != std::string::npos;
      bounds[i] = std::floor(zoned ? *t + off : *t);
    }
  // The column compared: GMT, or the site's local time.
  auto column = [&](double t) { return std::floor(gmt ? t : t + off); };
  std::string orderby = req.has_param("orderby") ? req.param("orderby") : "date";
  static const std::vector<std::string> kOrderby = {"date", "id", "include", "title", "slug", "modified"};
  if (std::find(kOrderby.begin(), kOrderby.end(), orderby) == kOrderby.end()) return invalid("orderby");
  std::string order = req.has_param("order") ? req.param("order") : "desc";
  if (order != "asc" && order != "desc") return invalid("order");
  bool asc = order == "asc";
  std::string status = req.param("status");
  std::vector<const Order*> all;
  for (auto& o : orders_) {
    if (bounds[0] && !(column(o.updated) > *bounds[0])) continue;
    if (bounds[1] && !(column(o.updated) < *bounds[1])) continue;
    if (bounds[2] && !(column(o.created) > *bounds[2])) continue;
    if (bounds[3] && !(column(o.created) < *bounds[3])) continue;
    if (!status.empty() && status != "any" &&
        ("," + status + ",").find("," + o.status + ",") == std::string::npos)
      continue;
    all.push_back(&o);
  }
  // The sort key: times in whole seconds as WordPress stores them; the
  // other orderby values sort by number, as ID does here.
  auto key = [&](const Order* o) {
    return orderby == "modified" ? std::floor(o->updated)
           : orderby == "date"   ? std::floor(o->created)
                                 : static_cast<double>(o->number);
  };
  std::stable_sort(all.begin(), all.end(), [&](const Order* a, const Order* b) {
    double ka = key(a), kb = key(b);
    if (ka == kb) return asc ? a->number < b->number : a->number > b->number;
    return asc ? ka < kb : ka > kb;
  });
  json arr = json::array();
  for (int64_t i = (page - 1) * per_page; i < std::min<int64_t>(page * per_page, all.size()); ++i)
    arr.push_back(order_json(*all[static_cast<size_t>(i)]));
  Response r = json_response(200, dump(arr));
  r.set_header("X-WP-Total", std::to_string(all.size()));
  r.set_header("X-WP-TotalPages", std::to_string((all.size() + per_page - 1) / per_page));
  return r;
}

std::string WooChannel::new_order_id(int64_t n) { return std::to_string(700 + n); }

void WooChannel::init_order(Order& o, const Listing&, double) {
  o.status = "processing";
  o.line_item_id = std::to_string(300 + o.number);
}

json WooChannel::order_json(const Order& o) const {
  const Listing* l = find(o.listing_id);
  bool variation = l && !l->parent_id.empty();
  double price = std::atof(o.price.c_str());
  std::string total = money(price * static_cast<double>(o.quantity));
  json li = {{"id", std::stoll(o.line_item_id)},
             {"name", l ? l->title : o.sku},
             {"product_id", variation ? std::stoll(l->parent_id) : std::stoll(o.listing_id)},
             {"variation_id", variation ? std::stoll(o.listing_id) : 0},
             {"quantity", o.quantity},
             {"sku", o.sku},
             {"price", price},
             {"subtotal", total},
             {"total", total}};
  return {{"id", std::stoll(o.id)},
          {"parent_id", 0},
          {"status", o.status},
          {"currency", "EUR"},
          {"date_created", iso8601_naive(o.created + site_offset_s())},
          {"date_created_gmt", iso8601_naive(o.created)},
          {"date_modified", iso8601_naive(o.updated + site_offset_s())},
          {"date_modified_gmt", iso8601_naive(o.updated)},
          {"total", total},
          {"customer_id", 0},
          {"line_items", json::array({li})}};
}

void WooChannel::on_order_placed(Order& o, Listing&, double now) {
  if (disabled_) return;
  if (auto ev = emit("order.created", dump(order_json(o)), now, {})) ev->success_max = 302;
}

void WooChannel::on_order_cancelled(Order& o, Listing&, double now) {
  o.status = "cancelled";
  if (disabled_) return;
  if (auto ev = emit("order.updated", dump(order_json(o)), now, {})) ev->success_max = 302;
}

HeaderMap WooChannel::attempt_headers(const WebhookEvent& ev, const Attempt& a, double now) {
  (void)a;
  std::string topic = ev.topic;
  auto dot = topic.find('.');
  // Delivery-ID = wp_hash(webhook_id . strtotime('now')): one-second resolution, not an event id.
  std::string delivery = sha256_hex(std::to_string(cfg_.webhook_id) + std::to_string(static_cast<int64_t>(now)))
                             .substr(0, 32);
  return {{"content-type", "application/json"},
          {"user-agent", "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)"},
          {"x-wc-webhook-source", "http://" + cfg_.name + ".example/"},
          {"x-wc-webhook-topic", topic},
          {"x-wc-webhook-resource", topic.substr(0, dot)},
          {"x-wc-webhook-event", topic.substr(dot + 1)},
          {"x-wc-webhook-signature", body_hmac_b64(woocommerce_signing_key(cfg_.webhook_secret), ev.body)},
          {"x-wc-webhook-id", std::to_string(cfg_.webhook_id)},
          {"x-wc-webhook-delivery-id", delivery}};
}

void WooChannel::on_delivery_result(const Attempt&, int status) {
  if (status >= 200 && status <= 302) {
    failures_ = 0;
    return;
  }
  // No retry in core; the webhook is disabled once failures exceed the maximum (5).
  if (++failures_ > cfg_.max_delivery_failures) disabled_ = true;
}

void WooChannel::inspect_extra(json& j) const {
  j["webhook_status"] = disabled_ ? "disabled" : "active";
  j["webhook_consecutive_failures"] = failures_;
}

}  // namespace sim
