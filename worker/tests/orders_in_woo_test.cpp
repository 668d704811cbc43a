// WooCommerce's catch-up order poll (channel-apis.md §4.5, §4.7): a listed
// order goes through the webhook path's own mapping (same event, same event
// id, so stocksync.ingest_webhook() applies an order seen both ways once),
// a malformed order is refused alone, the list's paging rule, the
// modified_after form, and the config keys.
#include "config.hpp"
#include "orders_in/order_mapping.hpp"
#include "orders_in/poll_cursor.hpp"
#include "util/crypto.hpp"
#include "webhooks/inbound.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stocksync::worker {
namespace {

using namespace orders_in;
using nlohmann::json;

json order(const std::string &status, json lines, const std::string &modified = "2026-11-22T10:00:05") {
  return {{"id", 727}, {"status", status}, {"currency", "EUR"}, {"date_modified_gmt", modified},
          {"line_items", std::move(lines)}};
}

json simple_lines() {
  return json::array({{{"id", 315}, {"product_id", 799}, {"variation_id", 0}, {"sku", "SKU-1"}, {"quantity", 2}},
                      {{"id", 316}, {"product_id", 810}, {"variation_id", 812}, {"sku", "SKU-3"}, {"quantity", 1}},
                      {{"id", 317}, {"product_id", 820}, {"variation_id", 0}, {"sku", nullptr}, {"quantity", 0}},
                      {{"id", 318}, {"product_id", "830"}, {"sku", ""}, {"quantity", 4}}});
}

// What the webhook path decides for the same order body, delivered as a
// signed order.updated.
webhooks::Decision webhook_decision(const json &body) {
  webhooks::Source src;
  src.name = "woo";
  src.kind = webhooks::SourceKind::woocommerce;
  src.key = "wc-hush";
  src.channel = "woo";
  webhooks::Delivery d;
  d.body = body.dump();
  d.headers["x-wc-webhook-topic"] = "order.updated";
  d.headers["x-wc-webhook-signature"] = base64_encode(hmac_sha256(src.key, d.body));
  d.now = static_cast<std::int64_t>(*parse_iso8601_utc("2026-11-22T10:01:00Z"));
  webhooks::Limits lim;
  lim.unpaid_order_ttl_s = 86400;
  return webhooks::decide(src, d, lim);
}

// What each status does, through the poll's parsing of a page.
TEST(WorkerWooOrders, StatusesMapAsTheWebhookDoes) {
  auto event_of = [](const std::string &status) {
    std::string error;
    auto orders = parse_woo_orders(json::array({order(status, simple_lines())}).dump(), "woo", 3600, error);
    EXPECT_TRUE(orders && orders->size() == 1) << error;
    const auto &o = orders->front();
    EXPECT_FALSE(o.refused);
    return o.event_json.empty() ? json() : json::parse(o.event_json);
  };
  for (const char *s : {"pending", "on-hold"}) {
    EXPECT_EQ(event_of(s)["action"], "order") << s;
    EXPECT_EQ(event_of(s)["paid"], false) << s;  // a soft hold
  }
  for (const char *s : {"processing", "completed"}) {
    EXPECT_EQ(event_of(s)["action"], "order") << s;
    EXPECT_EQ(event_of(s)["paid"], true) << s;
  }
  for (const char *s : {"cancelled", "failed"})
    EXPECT_EQ(event_of(s), json({{"action", "cancel"}, {"channel", "woo"}, {"order_ref", "727"}})) << s;
  for (const char *s : {"refunded", "checkout-draft", "trash"})
    EXPECT_TRUE(event_of(s).is_null()) << s;  // no stock effect, as the webhook
}

TEST(WorkerWooOrders, PageMapsOrdersToIngestEvents) {
  json page = json::array({order("processing", simple_lines()), order("pending", simple_lines()),
                           order("cancelled", json::array()), order("refunded", simple_lines())});
  page[1]["id"] = 728;
  page[2]["id"] = "729";
  page[3]["id"] = 730;
  std::string error;
  auto orders = parse_woo_orders(page.dump(), "woo", 3600, error);
  ASSERT_TRUE(orders) << error;
  ASSERT_EQ(orders->size(), 4u);
  const auto &paid = (*orders)[0];
  EXPECT_EQ(paid.order_ref, "727");
  EXPECT_EQ(paid.event_id, "order:727:2026-11-22T10:00:05:processing");
  json ev = json::parse(paid.event_json);
  EXPECT_EQ(ev["action"], "order");
  EXPECT_EQ(ev["channel"], "woo");
  EXPECT_EQ(ev["paid"], true);
  EXPECT_EQ(ev["ttl_s"], 3600);
  // Product, variation (parent/variation and the bare variation id), a line
  // of 0 left out, an id given as a string; the SKU rides along when there is one.
  ASSERT_EQ(ev["lines"].size(), 3u);
  EXPECT_EQ(ev["lines"][0], json({{"ids", {"799"}}, {"sku", "SKU-1"}, {"qty", 2}}));
  EXPECT_EQ(ev["lines"][1], json({{"ids", {"810/812", "812"}}, {"sku", "SKU-3"}, {"qty", 1}}));
  EXPECT_EQ(ev["lines"][2], json({{"ids", {"830"}}, {"qty", 4}}));
  EXPECT_EQ(json::parse((*orders)[1].event_json)["paid"], false);
  EXPECT_EQ(json::parse((*orders)[2].event_json),
            json({{"action", "cancel"}, {"channel", "woo"}, {"order_ref", "729"}}));
  EXPECT_TRUE((*orders)[3].event_json.empty());  // refunded: no stock effect, as the webhook
  EXPECT_FALSE((*orders)[3].refused);
  EXPECT_EQ((*orders)[3].order_ref, "730");

  auto empty = parse_woo_orders("[]", "woo", 3600, error);
  ASSERT_TRUE(empty) << error;
  EXPECT_TRUE(empty->empty());
}

// An order the webhook path would answer 400 is refused alone: the rest of
// the page is applied, so one bad order cannot hold the cursor back. Only a
// body that is not a list ends the round.
TEST(WorkerWooOrders, RefusesWhatTheWebhookRefusesOrderByOrder) {
  std::string error;
  EXPECT_FALSE(parse_woo_orders(R"({"code": "woocommerce_rest_cannot_view"})", "woo", 60, error));
  EXPECT_FALSE(parse_woo_orders("not json", "woo", 60, error));
  auto page = parse_woo_orders(R"([
    {"status": "processing", "date_modified_gmt": "2026-11-22T10:00:05", "line_items": []},
    {"id": 2, "status": "processing", "line_items": []},
    {"id": 3, "status": "processing", "date_modified_gmt": "2026-11-22T10:00:05", "line_items": [{"product_id": 1, "quantity": -1}]},
    {"id": 4, "status": "processing", "date_modified_gmt": "2026-11-22T10:00:05", "line_items": [{"product_id": 1, "quantity": "2"}]},
    "not an order",
    {"id": 6, "status": "cancelled", "date_modified_gmt": "2026-11-22T10:00:05"},
    {"id": 7, "status": "processing", "date_modified_gmt": "2026-11-22T10:00:05", "line_items": [{"product_id": 1, "quantity": 2}]}
  ])", "woo", 60, error);
  ASSERT_TRUE(page) << error;
  ASSERT_EQ(page->size(), 7u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE((*page)[i].refused) << i;
    EXPECT_TRUE((*page)[i].event_json.empty()) << i;
  }
  EXPECT_NE((*page)[0].problem.find("id"), std::string::npos);
  EXPECT_NE((*page)[1].problem.find("date_modified_gmt"), std::string::npos);
  EXPECT_EQ((*page)[1].order_ref, "2");
  EXPECT_NE((*page)[2].problem.find("quantity"), std::string::npos);
  // A cancellation needs no lines; the last order is applied.
  EXPECT_FALSE((*page)[5].refused);
  EXPECT_EQ(json::parse((*page)[5].event_json)["action"], "cancel");
  EXPECT_FALSE((*page)[6].refused);
  EXPECT_EQ(json::parse((*page)[6].event_json)["lines"][0]["qty"], 2);
}

// A delivery modified before the de-duplication window is refused as a
// replay; the poll fetched the order itself and applies it (a worker down for
// days catches up).
TEST(WorkerWooOrders, NoFreshnessCheckForPolledOrders) {
  json old = order("processing", simple_lines(), "2026-11-18T10:00:05");
  EXPECT_EQ(webhook_decision(old).reason, "stale");
  std::string error;
  auto polled = parse_woo_orders(json::array({old}).dump(), "woo", 86400, error);
  ASSERT_TRUE(polled) << error;
  EXPECT_FALSE(polled->front().refused);
  EXPECT_EQ(polled->front().event_id, "order:727:2026-11-18T10:00:05:processing");
}

TEST(WorkerWooOrders, ParityWithTheWebhookPath) {
  std::vector<json> bodies;
  for (const char *status : {"pending", "on-hold", "processing", "completed", "cancelled", "failed", "refunded",
                             "checkout-draft", "trash", ""})
    bodies.push_back(order(status, simple_lines()));
  bodies.push_back(order("processing", json::array()));
  bodies.push_back(order("processing", json::array({{{"product_id", 5}, {"variation_id", "0"}, {"quantity", 1}}})));
  bodies.push_back(order("processing", json::array({{{"variation_id", 9}, {"sku", "X"}, {"quantity", 1}}})));
  bodies.push_back(order("on-hold", simple_lines(), "2026-11-22T10:00:05.250Z"));
  bodies.push_back(order("processing", json::array({{{"product_id", 5}, {"quantity", 1.5}}})));
  bodies.push_back(order("processing", json::array({{{"product_id", 5}, {"sku", 7}, {"quantity", 1}}})));
  bodies.push_back(order("processing", "not lines"));
  for (const auto &body : bodies) {
    SCOPED_TRACE(body.dump());
    auto hook = webhook_decision(body);
    std::string error;
    auto polled = parse_woo_orders(json::array({body}).dump(), "woo", 86400, error);
    ASSERT_TRUE(polled) << error;
    ASSERT_EQ(polled->size(), 1u);
    const auto &p = polled->front();
    if (hook.kind == webhooks::Decision::Kind::reject) {
      EXPECT_TRUE(p.refused) << "the webhook refused it: " << hook.detail;
      EXPECT_EQ(p.problem, hook.detail);
      continue;
    }
    EXPECT_FALSE(p.refused);
    if (hook.kind == webhooks::Decision::Kind::ignore) {
      EXPECT_TRUE(p.event_json.empty());
      continue;
    }
    ASSERT_TRUE(hook.ingest);
    EXPECT_EQ(p.event_id, hook.ingest->event_id);
    EXPECT_EQ(json::parse(p.event_json), hook.ingest->event);
    webhooks::Source src;
    src.name = "woo";
    EXPECT_EQ(p.event_json, webhooks::ingest_params(src, *hook.ingest)[3]);
  }
}

TEST(WorkerWooOrders, LastPage) {
  // Fewer items than per_page: last, whatever the header says.
  EXPECT_TRUE(woo_last_page(99, 100, 1, std::string("3")));
  EXPECT_TRUE(woo_last_page(0, 100, 4, std::nullopt));
  // A full page: X-WP-TotalPages of this answer decides.
  EXPECT_FALSE(woo_last_page(100, 100, 1, std::string("2")));
  EXPECT_TRUE(woo_last_page(100, 100, 2, std::string("2")));
  EXPECT_FALSE(woo_last_page(100, 100, 2, std::string("3")));  // orders came in meanwhile
  // Without a readable header a full page asks for the next one.
  EXPECT_FALSE(woo_last_page(100, 100, 1, std::nullopt));
  EXPECT_FALSE(woo_last_page(100, 100, 1, std::string("x")));
  EXPECT_FALSE(woo_last_page(2, 2, 1, std::string("")));
}

// Naive GMT (sent with dates_are_gmt=true), one whole second before the
// window: WordPress compares whole seconds with a strict "after".
TEST(WorkerWooOrders, ModifiedAfterIsNaiveGmtOneSecondEarly) {
  EXPECT_EQ(woo_modified_after(*parse_iso8601_utc("2026-11-22T09:58:00.900Z")), "2026-11-22T09:57:59");
  EXPECT_EQ(woo_modified_after(*parse_iso8601_utc("2026-11-22T09:58:00Z")), "2026-11-22T09:57:59");
  EXPECT_EQ(woo_modified_after(*parse_iso8601_utc("2026-11-22T10:58:00+01:00")), "2026-11-22T09:57:59");
  EXPECT_EQ(woo_modified_after(*parse_iso8601_utc("2026-11-23T00:00:00.000Z")), "2026-11-22T23:59:59");
}

TEST(WorkerWooOrders, HeaderCount) {
  EXPECT_EQ(woo_header_count(std::string("42")), 42);
  EXPECT_EQ(woo_header_count(std::string("0")), 0);
  EXPECT_FALSE(woo_header_count(std::nullopt));
  EXPECT_FALSE(woo_header_count(std::string("")));
  EXPECT_FALSE(woo_header_count(std::string("-1")));
  EXPECT_FALSE(woo_header_count(std::string("12345678901234567890")));
}

TEST(WorkerWooOrders, ConfigKeys) {
  std::string base = R"(
[database]
conninfo = "dbname=x"
[channels.woo]
kind = "woocommerce"
base_url = "https://shop.example"
)";
  std::string error;
  auto d = parse_config(base, "t.toml", error);
  ASSERT_TRUE(d) << error;
  EXPECT_EQ(d->polling.woocommerce_page_size, 100);
  EXPECT_EQ(d->polling.woocommerce_unpaid_order_ttl_s, 86400);
  auto c = parse_config(base + "[polling]\nwoocommerce_page_size = 25\n[webhooks]\nunpaid_order_ttl_s = 7200\n",
                        "t.toml", error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->polling.woocommerce_page_size, 25);
  // The poll holds an unpaid order as long as the webhook path would.
  EXPECT_EQ(c->polling.woocommerce_unpaid_order_ttl_s, 7200);
  EXPECT_FALSE(parse_config(base + "[polling]\nwoocommerce_page_size = 101\n", "t.toml", error));
  EXPECT_NE(error.find("polling.woocommerce_page_size"), std::string::npos);
}

}  // namespace
}  // namespace stocksync::worker
