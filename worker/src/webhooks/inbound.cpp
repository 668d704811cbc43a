// Signature checks and mapping of inbound webhooks; see inbound.hpp and
// docs/webhooks.md for the normalized events.
#include "webhooks/inbound.hpp"

#include "util/crypto.hpp"

#include <boost/algorithm/string/predicate.hpp>

#include <ctime>
#include <set>

namespace stocksync::worker::webhooks {

using nlohmann::json;

const char *to_string(SourceKind k) {
  switch (k) {
  case SourceKind::shopify: return "shopify";
  case SourceKind::woocommerce: return "woocommerce";
  case SourceKind::standard: return "standard";
  }
  return "unknown";
}

std::optional<SourceKind> source_kind(std::string_view s) {
  if (s == "shopify")
    return SourceKind::shopify;
  if (s == "woocommerce")
    return SourceKind::woocommerce;
  if (s == "standard")
    return SourceKind::standard;
  return std::nullopt;
}

const std::string *Delivery::header(const std::string &lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? nullptr : &it->second;
}

namespace {

constexpr std::size_t kMaxIdLength = 256;  // event ids, order references, SKUs

Decision reject(int status, std::string reason, std::string detail) {
  Decision d;
  d.kind = Decision::Kind::reject;
  d.status = status;
  d.reason = std::move(reason);
  d.detail = std::move(detail);
  return d;
}

Decision ignore(std::string reason, std::string detail) {
  Decision d;
  d.kind = Decision::Kind::ignore;
  d.status = 200;
  d.reason = std::move(reason);
  d.detail = std::move(detail);
  return d;
}

Decision ingest(std::string event_id, std::string topic, json event) {
  Decision d;
  d.kind = Decision::Kind::ingest;
  d.status = 200;
  d.reason = "accepted";
  d.ingest = Ingest{std::move(event_id), std::move(topic), std::move(event), std::nullopt};
  return d;
}

// Thrown by the payload readers below; becomes a 400 with its message.
struct BadPayload {
  std::string message;
};

[[noreturn]] void bad(std::string message) { throw BadPayload{std::move(message)}; }

// Runs a mapping; a payload it could not read is a 400 invalid_payload.
template <class Map>
Decision rejecting_bad_payload(Map map) {
  try {
    return map();
  } catch (const BadPayload &e) {
    return reject(400, "invalid_payload", e.message);
  } catch (const nlohmann::json::exception &e) {
    return reject(400, "invalid_payload", e.what());
  }
}

bool usable_id(const std::string &s) {
  if (s.empty() || s.size() > kMaxIdLength)
    return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}

// An identifier given as a JSON integer or string (Shopify ids are numbers).
std::optional<std::string> id_of(const json &v) {
  std::string s;
  if (v.is_number_unsigned())
    s = std::to_string(v.get<std::uint64_t>());
  else if (v.is_number_integer())
    s = std::to_string(v.get<std::int64_t>());
  else if (v.is_string())
    s = v.get<std::string>();
  else
    return std::nullopt;
  if (!usable_id(s))
    return std::nullopt;
  return s;
}

std::string required_id(const json &obj, const char *field) {
  auto it = obj.find(field);
  if (it == obj.end())
    bad(std::string("missing \"") + field + "\"");
  auto s = id_of(*it);
  if (!s)
    bad(std::string("\"") + field + "\" must be a non-empty id (integer or string of at most 256 characters)");
  return *s;
}

// A positive quantity within what reserve() takes (an int4).
std::int64_t quantity_of(const json &v, const char *field) {
  if (!v.is_number_integer())
    bad(std::string("\"") + field + "\" must be an integer");
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > 1000000000u)
    bad(std::string("\"") + field + "\" out of range");
  std::int64_t q = v.get<std::int64_t>();
  if (q < 0 || q > 1000000000)
    bad(std::string("\"") + field + "\" out of range");
  return q;
}

const json &array_field(const json &obj, const char *field) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_array())
    bad(std::string("\"") + field + "\" must be an array");
  return *it;
}

std::string optional_string(const json &obj, const char *field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null())
    return {};
  if (!it->is_string())
    bad(std::string("\"") + field + "\" must be a string");
  std::string s = it->get<std::string>();
  if (s.size() > kMaxIdLength)
    bad(std::string("\"") + field + "\" is too long");
  return s;
}

// One order line of the normalized event: the channel's ids for it (looked
// up as listing.external_id), its SKU (looked up as the listing's SKU when no
// id matches) and the quantity. Lines of quantity 0 are left out.
void add_line(json &lines, json ids, const std::string &sku, std::int64_t qty) {
  if (qty == 0)
    return;
  json line = {{"ids", std::move(ids)}, {"qty", qty}};
  if (!sku.empty())
    line["sku"] = sku;
  lines.push_back(std::move(line));
}

json order_event(const std::string &channel, const std::string &ref, bool paid, std::int64_t ttl_s, json lines) {
  return {{"action", "order"}, {"channel", channel}, {"order_ref", ref}, {"paid", paid}, {"ttl_s", ttl_s},
          {"lines", std::move(lines)}};
}

json cancel_event(const std::string &channel, const std::string &ref) {
  return {{"action", "cancel"}, {"channel", channel}, {"order_ref", ref}};
}

// ---- Shopify (fact sheet §1.7, §1.8) ----

json shopify_line_ids(const json &li) {
  json ids = json::array();
  if (auto it = li.find("variant_id"); it != li.end() && !it->is_null()) {
    auto v = id_of(*it);
    if (!v)
      bad("\"variant_id\" must be an id");
    ids.push_back(*v);
    ids.push_back("gid://shopify/ProductVariant/" + *v);
  }
  return ids;
}

Decision map_shopify(const Source &src, const std::string &topic, const std::string &event_id, const json &body,
                     const Limits &lim) {
  // orders/paid carries the whole order too: for an order created unpaid it
  // is the payment, which commits the hold (ingest_webhook()).
  if (topic == "orders/create" || topic == "orders/paid") {
    std::string ref = required_id(body, "id");
    json lines = json::array();
    for (const auto &li : array_field(body, "line_items")) {
      if (!li.is_object())
        bad("line_items must be objects");
      add_line(lines, shopify_line_ids(li), optional_string(li, "sku"), quantity_of(li.value("quantity", json()), "quantity"));
    }
    static const std::set<std::string> paid_states{"paid", "partially_paid", "authorized", "partially_refunded"};
    bool paid = paid_states.count(optional_string(body, "financial_status")) > 0;
    Decision d = ingest(event_id, topic, order_event(src.channel, ref, paid, lim.unpaid_order_ttl_s, std::move(lines)));
    d.ingest->taken_at = parse_iso8601(optional_string(body, "created_at"));  // nullopt: never counted
    return d;
  }
  if (topic == "orders/cancelled")
    return ingest(event_id, topic, cancel_event(src.channel, required_id(body, "id")));
  if (topic == "refunds/create") {
    std::string ref = required_id(body, "order_id");
    std::string refund = required_id(body, "id");
    json lines = json::array();
    auto it = body.find("refund_line_items");
    if (it != body.end() && !it->is_null()) {
      if (!it->is_array())
        bad("\"refund_line_items\" must be an array");
      for (const auto &rli : *it) {
        if (!rli.is_object())
          bad("refund_line_items must be objects");
        // Only units that come back into stock: "cancel" lines were never
        // shipped (orders/cancelled releases them), "no_restock" stay out.
        std::string restock = optional_string(rli, "restock_type");
        if (restock != "return" && restock != "legacy_restock")
          continue;
        json li = rli.value("line_item", json::object());
        if (!li.is_object())
          bad("\"line_item\" must be an object");
        add_line(lines, shopify_line_ids(li), optional_string(li, "sku"),
                 quantity_of(rli.value("quantity", json()), "quantity"));
      }
    }
    return ingest(event_id, topic,
                  {{"action", "refund"}, {"channel", src.channel}, {"order_ref", ref}, {"refund_ref", "refund:" + refund},
                   {"lines", std::move(lines)}});
  }
  return ignore("ignored_topic", "topic " + topic + " has no stock effect");
}

// ---- WooCommerce (fact sheet §4.5, §4.6) ----

// One order body (an order.created/order.updated payload, or one element of
// GET /wc/v3/orders: the same JSON) to its event. not_before: the freshness
// check of a delivery; the catch-up poll fetched the order itself and has none.
Decision map_woocommerce_order_body(const std::string &channel, const json &body, std::int64_t unpaid_order_ttl_s,
                                    const std::string &topic, std::optional<std::int64_t> not_before) {
  std::string ref = required_id(body, "id");
  std::string status = optional_string(body, "status");
  std::string modified = optional_string(body, "date_modified_gmt");
  auto modified_at = parse_iso8601(modified);
  if (!modified_at)
    bad("\"date_modified_gmt\" must be an ISO 8601 time");
  // WooCommerce signs no timestamp and has no event id: the event is the
  // order's state at date_modified, so (id, date_modified, status) is its
  // id, and one older than the de-duplication window is a replay we could
  // no longer recognise.
  if (not_before && *modified_at < *not_before)
    return reject(401, "stale", "order modified " + modified + ", before the de-duplication window");
  std::string event_id = "order:" + ref + ":" + modified + ":" + status;
  if (status == "cancelled" || status == "failed")
    return ingest(event_id, topic, cancel_event(channel, ref));
  bool paid = status == "processing" || status == "completed";
  if (!paid && status != "pending" && status != "on-hold")
    return ignore("ignored_status", "order status " + status + " has no stock effect");
  json lines = json::array();
  for (const auto &li : array_field(body, "line_items")) {
    if (!li.is_object())
      bad("line_items must be objects");
    json ids = json::array();
    auto pid = li.contains("product_id") ? id_of(li["product_id"]) : std::nullopt;
    auto vid = li.contains("variation_id") ? id_of(li["variation_id"]) : std::nullopt;
    if (pid && vid && *vid != "0") {
      ids.push_back(*pid + "/" + *vid);
      ids.push_back(*vid);
    } else if (pid) {
      ids.push_back(*pid);
    }
    add_line(lines, std::move(ids), optional_string(li, "sku"), quantity_of(li.value("quantity", json()), "quantity"));
  }
  return ingest(event_id, topic, order_event(channel, ref, paid, unpaid_order_ttl_s, std::move(lines)));
}

Decision map_woocommerce(const Source &src, const std::string &topic, const json &body, const Limits &lim,
                         std::int64_t now) {
  if (topic != "order.created" && topic != "order.updated")
    return ignore("ignored_topic", "topic " + topic + " has no stock effect");
  return map_woocommerce_order_body(src.channel, body, lim.unpaid_order_ttl_s, topic, now - lim.dedupe_window_s);
}

// ---- Standard Webhooks (fact sheet §6): custom sources such as an ERP ----

Decision map_standard(const Source &src, const std::string &event_id, const json &body, const Limits &lim) {
  std::string type = optional_string(body, "type");
  if (type.empty())
    bad("missing \"type\"");
  auto dit = body.find("data");
  if (dit == body.end() || !dit->is_object())
    bad("\"data\" must be an object");
  const json &data = *dit;
  if (type == "stock.updated") {
    std::string sku = required_id(data, "sku");
    const json &qty = data.contains("on_hand") ? data["on_hand"] : data.value("quantity", json());
    auto vit = data.find("version");
    if (vit == data.end() || !vit->is_number_integer() || (vit->is_number_unsigned() && vit->get<std::uint64_t>() > INT64_MAX))
      bad("\"version\" must be an integer (the source's own version of this figure)");
    std::string location = optional_string(data, "location");
    return ingest(event_id, type,
                  {{"action", "set_on_hand"}, {"sku", sku}, {"qty", quantity_of(qty, "on_hand")},
                   {"version", vit->get<std::int64_t>()}, {"location", location.empty() ? src.location : location}});
  }
  if (type != "order.created" && type != "order.cancelled" && type != "order.refunded")
    return ignore("ignored_topic", "event type " + type + " has no stock effect");
  if (src.channel.empty())
    return reject(422, "no_channel", "source " + src.name + " has no channel for order events (webhooks.sources." +
                                         src.name + ".channel)");
  std::string ref = required_id(data, "order_ref");
  if (type == "order.cancelled")
    return ingest(event_id, type, cancel_event(src.channel, ref));
  json lines = json::array();
  for (const auto &li : array_field(data, "lines")) {
    if (!li.is_object())
      bad("lines must be objects");
    std::string sku = required_id(li, "sku");
    add_line(lines, json::array({sku}), sku, quantity_of(li.value("qty", json()), "qty"));
  }
  if (type == "order.refunded")
    return ingest(event_id, type,
                  {{"action", "refund"}, {"channel", src.channel}, {"order_ref", ref},
                   {"refund_ref", required_id(data, "refund_ref")}, {"lines", std::move(lines)}});
  auto pit = data.find("paid");
  if (pit != data.end() && !pit->is_boolean())
    bad("\"paid\" must be true or false");
  bool paid = pit == data.end() || pit->get<bool>();
  return ingest(event_id, type, order_event(src.channel, ref, paid, lim.unpaid_order_ttl_s, std::move(lines)));
}

// Base64 HMAC-SHA256 of the raw body in a header (Shopify, WooCommerce).
std::optional<Decision> check_body_hmac(const Source &src, const Delivery &d, const std::string &header_name) {
  const std::string *sig = d.header(header_name);
  if (!sig || sig->empty())
    return reject(401, "missing_signature", "no " + header_name + " header");
  auto given = base64_decode(*sig);
  // Compare fixed-size digests in constant time; a header that does not
  // decode compares against zeros so the time taken does not tell.
  std::string expected = hmac_sha256(src.key, d.body);
  std::string candidate = given && given->size() == expected.size() ? *given : std::string(expected.size(), '\0');
  bool ok = constant_time_equal(candidate, expected) && given && given->size() == expected.size();
  if (!ok)
    return reject(401, "bad_signature", header_name + " does not match the body");
  return std::nullopt;
}

std::string required_header(const Delivery &d, const char *name) {
  const std::string *h = d.header(name);
  if (!h || !usable_id(*h))
    bad(std::string("missing or unusable ") + name + " header");
  return *h;
}

}  // namespace

std::optional<std::int64_t> parse_iso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM|-HH:MM]
  if (s.size() < 19 || s.size() > 40)
    return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9')
        return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  auto Y = num(0, 4), M = num(5, 2), D = num(8, 2), h = num(11, 2), m = num(14, 2), sec = num(17, 2);
  if (!Y || !M || !D || !h || !m || !sec || *M < 1 || *M > 12 || *D < 1 || *D > 31 || *h > 23 || *m > 59 || *sec > 60)
    return std::nullopt;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i;
    if (i == start)
      return std::nullopt;
  }
  std::int64_t offset = 0;
  if (i < s.size()) {
    if (s[i] == 'Z') {
      ++i;
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == s.size() && s[i + 3] == ':') {
      auto oh = num(i + 1, 2), om = num(i + 4, 2);
      if (!oh || !om || *oh > 23 || *om > 59)
        return std::nullopt;
      offset = (*oh * 3600 + *om * 60) * (s[i] == '+' ? 1 : -1);
      i += 6;
    } else {
      return std::nullopt;
    }
  }
  if (i != s.size())
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = *Y - 1900;
  tm.tm_mon = *M - 1;
  tm.tm_mday = *D;
  tm.tm_hour = *h;
  tm.tm_min = *m;
  tm.tm_sec = *sec;
  return static_cast<std::int64_t>(timegm(&tm)) - offset;
}

std::optional<Decision> check_signature(const Source &src, const Delivery &d, const Limits &lim) {
  switch (src.kind) {
  case SourceKind::shopify:
    return check_body_hmac(src, d, "x-shopify-hmac-sha256");
  case SourceKind::woocommerce:
    return check_body_hmac(src, d, "x-wc-webhook-signature");
  case SourceKind::standard: {
    static const std::string none;
    auto h = [&](const char *n) -> const std::string & {
      const std::string *v = d.header(n);
      return v ? *v : none;
    };
    switch (verify_std_webhook(src.key, h("webhook-id"), h("webhook-timestamp"), h("webhook-signature"), d.body, d.now,
                               lim.tolerance_s)) {
    case StdWebhookVerdict::ok: return std::nullopt;
    case StdWebhookVerdict::missing_header:
      return reject(401, "missing_signature", "webhook-id, webhook-timestamp or webhook-signature missing");
    case StdWebhookVerdict::bad_timestamp: return reject(401, "bad_timestamp", "webhook-timestamp is not unix seconds");
    case StdWebhookVerdict::too_old:
    case StdWebhookVerdict::too_new:
      return reject(401, "stale", "webhook-timestamp outside the tolerance of " + std::to_string(lim.tolerance_s) + " s");
    case StdWebhookVerdict::bad_signature:
      return reject(401, "bad_signature", "no v1 signature in webhook-signature matches");
    }
  }
  }
  return reject(401, "bad_signature", "unknown source kind");
}

Decision decide(const Source &src, const Delivery &d, const Limits &lim) {
  // WooCommerce pings a new webhook with an unsigned form body; it needs a
  // 200 and changes nothing (the body is not parsed beyond its shape).
  if (src.kind == SourceKind::woocommerce && !d.header("x-wc-webhook-signature") &&
      d.body.rfind("webhook_id=", 0) == 0 && d.body.size() < 64 &&
      d.body.find_first_not_of("0123456789", 11) == std::string::npos)
    return ignore("ping", "WooCommerce webhook ping");

  if (auto rejected = check_signature(src, d, lim))
    return *rejected;

  return rejecting_bad_payload([&]() -> Decision {
    std::string topic, event_id;
    if (src.kind == SourceKind::shopify) {
      // One app's installs share its client secret: a delivery signed for
      // another shop must not be applied to this channel's orders.
      const std::string *shop = d.header("x-shopify-shop-domain");
      if (!shop || src.shop_domain.empty() || !boost::algorithm::iequals(*shop, src.shop_domain))
        return reject(401, "wrong_shop",
                      "X-Shopify-Shop-Domain " + (shop ? "\"" + shop->substr(0, 255) + "\"" : std::string("missing")) +
                          " is not this channel's shop \"" + src.shop_domain + "\"");
      topic = required_header(d, "x-shopify-topic");
      // X-Shopify-Event-Id is stable across Shopify's retries (Webhook-Id is
      // new per attempt); the de-duplication key is the event id.
      const std::string *ev = d.header("x-shopify-event-id");
      event_id = ev ? required_header(d, "x-shopify-event-id") : required_header(d, "x-shopify-webhook-id");
      // Triggered-At is not signed; Shopify retries with the original one for
      // 4 h. Older than the de-duplication window: a replay we could no
      // longer recognise.
      if (const std::string *t = d.header("x-shopify-triggered-at")) {
        auto at = parse_iso8601(*t);
        if (!at)
          bad("X-Shopify-Triggered-At is not an ISO 8601 time");
        if (*at < d.now - lim.dedupe_window_s)
          return reject(401, "stale", "X-Shopify-Triggered-At " + *t + " is before the de-duplication window");
      }
    } else if (src.kind == SourceKind::woocommerce) {
      topic = required_header(d, "x-wc-webhook-topic");
    } else {
      event_id = *d.header("webhook-id");  // verified present and bounded
    }
    std::string error;
    auto body = parse_bounded_json(d.body, &error, lim.json);
    if (!body)
      return reject(400, "malformed_json", error);
    if (!body->is_object())
      return reject(400, "malformed_json", "the body is not a JSON object");
    switch (src.kind) {
    case SourceKind::shopify: return map_shopify(src, topic, event_id, *body, lim);
    case SourceKind::woocommerce: return map_woocommerce(src, topic, *body, lim, d.now);
    case SourceKind::standard: return map_standard(src, event_id, *body, lim);
    }
    return reject(400, "invalid_payload", "unknown source kind");
  });
}

Decision map_woocommerce_order(const std::string &channel, const nlohmann::json &order,
                               std::int64_t unpaid_order_ttl_s, const std::string &topic) {
  return rejecting_bad_payload([&] {
    if (!order.is_object())
      return reject(400, "invalid_payload", "an order that is not a JSON object");
    return map_woocommerce_order_body(channel, order, unpaid_order_ttl_s, topic, std::nullopt);
  });
}

std::array<std::string, 4> ingest_params(const Source &src, const Ingest &in) {
  return {src.name, in.event_id, in.topic, in.event.dump(-1, ' ', false, json::error_handler_t::replace)};
}

std::optional<RecordedSale> order_sale(const Source &src, const Ingest &in) {
  if (src.kind != SourceKind::shopify || in.event.value("action", "") != "order" || !in.taken_at)
    return std::nullopt;
  RecordedSale sale;
  sale.channel = src.channel;
  sale.order_ref = in.event.value("order_ref", "");
  sale.taken_at = WallTime(std::chrono::seconds(*in.taken_at));
  for (const auto &l : in.event.value("lines", json::array()))
    sale.lines.push_back({"", static_cast<int>(l.value("qty", std::int64_t{0}))});  // bounded by quantity_of()
  return sale;
}

bool kept_refusal(const std::string &sqlstate) {
  return sqlstate.rfind("SS", 0) == 0 || sqlstate.rfind("22", 0) == 0;
}

bool new_reservation(const std::string &outcome) {
  return outcome == "reserved" || outcome == "committed" || outcome == "reserved_partly_unmatched" ||
         outcome == "committed_partly_unmatched";
}

bool may_restock(const Ingest &in) {
  std::string action = in.event.value("action", "");
  // A refund's lines are the units restocked (a refund without any is money only).
  return action == "cancel" || (action == "refund" && !in.event.value("lines", json::array()).empty());
}

}  // namespace stocksync::worker::webhooks
