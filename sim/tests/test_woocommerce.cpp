// WooCommerce REST v3: batch limit, inline errors, auth, webhooks (channel-apis.md §4).
#include "fake_transport.hpp"
#include "helpers.hpp"
#include "timefmt.hpp"
#include "woocommerce.hpp"

using namespace simtest;

namespace {

const char* kWooScenario = R"(
[[channels]]
name = "woo"
kind = "woocommerce"
consumer_key = "ck_1"
consumer_secret = "cs_1"
webhook_secret = "hush"
webhook_id = 7
webhook_url = "http://127.0.0.1:9/woo"
  [[channels.listings]]
  id = "799"
  sku = "SKU-1"
  quantity = 10
  [[channels.listings]]
  id = "801"
  sku = "SKU-2"
  quantity = 3
  manage_stock = false
  [[channels.listings]]
  id = "812"
  parent_id = "810"
  sku = "SKU-3"
  quantity = 4
)";

const std::string kBase = "/woo/woo/wp-json/wc/v3/";

struct Woo : Harness {
  explicit Woo(const std::string& scenario = kWooScenario) : Harness(scenario) {}
  sim::HeaderMap auth() { return {{"Authorization", "Basic " + sim::base64_encode("ck_1:cs_1")}}; }
  sim::Response send(const std::string& m, const std::string& path, const std::string& body = {}) {
    auto h = auth();
    h["Content-Type"] = "application/json";
    return call(m, kBase + path, h, body);
  }
};

}  // namespace

TEST(SimWoo, BatchUpdateWithInlineErrors) {
  Woo w;
  auto r = w.send("POST", "products/batch",
                  R"({"update": [{"id": 799, "stock_quantity": 7}, {"id": 999, "stock_quantity": 1}, {"id": 801, "stock_quantity": 5}]})");
  EXPECT_EQ(r.status, 200);  // errors hide inside a 200
  json b = json::parse(r.body);
  ASSERT_EQ(b["update"].size(), 3u);
  EXPECT_EQ(b["update"][0]["id"], 799);
  EXPECT_EQ(b["update"][0]["stock_quantity"], 7);
  EXPECT_EQ(b["update"][0]["stock_status"], "instock");
  EXPECT_EQ(b["update"][1]["id"], 999);
  EXPECT_EQ(b["update"][1]["error"]["code"], "woocommerce_rest_product_invalid_id");
  EXPECT_EQ(b["update"][1]["error"]["data"]["status"], 400);
  // manage_stock false: stock_quantity means nothing.
  EXPECT_TRUE(b["update"][2]["stock_quantity"].is_null());
  EXPECT_EQ(w.ch("woo").find("799")->shown, 7);
  EXPECT_EQ(w.ch("woo").find("801")->shown, 3);
}

TEST(SimWoo, BatchOver100Is413) {
  Woo w;
  json upd = json::array();
  for (int i = 0; i < 101; ++i) upd.push_back({{"id", 799}, {"stock_quantity", i}});
  auto r = w.send("POST", "products/batch", json{{"update", upd}}.dump());
  EXPECT_EQ(r.status, 413);
  json b = json::parse(r.body);
  EXPECT_EQ(b["code"], "woocommerce_rest_request_entity_too_large");
  EXPECT_EQ(b["message"], "Unable to accept more than 100 items for this request.");
  EXPECT_EQ(b["data"]["status"], 413);
  EXPECT_EQ(w.ch("woo").find("799")->shown, 10);
  // create + update + delete count together.
  upd.erase(upd.begin());
  r = w.send("POST", "products/batch", json{{"update", upd}, {"delete", json::array({1})}}.dump());
  EXPECT_EQ(r.status, 413);
  r = w.send("POST", "products/batch", json{{"update", upd}}.dump());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(w.ch("woo").find("799")->shown, 100);
}

TEST(SimWoo, AuthFailures) {
  Woo w;
  auto r = w.call("GET", kBase + "products/799");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["code"], "woocommerce_rest_cannot_view");
  r = w.call("GET", kBase + "products/799", {{"Authorization", "Basic " + sim::base64_encode("ck_1:nope")}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["code"], "woocommerce_rest_authentication_error");
  r = w.call("GET", kBase + "products/799?consumer_key=ck_1&consumer_secret=cs_1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["sku"], "SKU-1");
}

TEST(SimWoo, ReadsVariationsAndSingleUpdate) {
  Woo w;
  auto r = w.send("PUT", "products/799", R"({"stock_quantity": 2})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["stock_quantity"], 2);
  r = w.send("GET", "products/12345");
  EXPECT_EQ(r.status, 404);
  r = w.send("POST", "products/810/variations/batch", R"({"update": [{"id": 812, "stock_quantity": 0}]})");
  EXPECT_EQ(json::parse(r.body)["update"][0]["stock_status"], "outofstock");
  r = w.send("GET", "products/810/variations/812");
  EXPECT_EQ(json::parse(r.body)["stock_quantity"], 0);
  r = w.send("GET", "products?per_page=1&page=2");
  EXPECT_EQ(r.header("X-WP-Total"), "2");
  EXPECT_EQ(json::parse(r.body)[0]["id"], 801);
}

TEST(SimWoo, OrderCreatedWebhookNoRetryDisabledAfterFiveFailures) {
  Woo w;
  FakeTransport t;
  t.default_status = 500;
  w.sim->set_transport(&t);
  auto r = w.call("POST", "/_sim/channels/woo/orders", {}, R"({"listing": "799", "quantity": 2})");
  ASSERT_EQ(r.status, 201);
  ASSERT_EQ(t.sent.size(), 1u);
  auto& h = t.sent[0].headers;
  EXPECT_EQ(h.at("x-wc-webhook-topic"), "order.created");
  EXPECT_EQ(h.at("x-wc-webhook-resource"), "order");
  EXPECT_EQ(h.at("x-wc-webhook-event"), "created");
  EXPECT_EQ(h.at("x-wc-webhook-id"), "7");
  EXPECT_FALSE(h.at("x-wc-webhook-delivery-id").empty());
  std::string cli = shell("printf '%s' " + sq(t.sent[0].body) + " | openssl dgst -sha256 -hmac hush -binary | base64");
  EXPECT_EQ(h.at("x-wc-webhook-signature"), cli);
  json order = json::parse(t.sent[0].body);
  EXPECT_EQ(order["line_items"][0]["product_id"], 799);
  EXPECT_EQ(order["status"], "processing");
  w.advance(3600);
  EXPECT_EQ(t.sent.size(), 1u);  // no retry in core
  for (int i = 0; i < 5; ++i) w.call("POST", "/_sim/channels/woo/orders", {}, R"({"listing": "799"})");
  EXPECT_EQ(t.sent.size(), 6u);
  auto& woo = dynamic_cast<sim::WooChannel&>(w.ch("woo"));
  EXPECT_TRUE(woo.webhook_disabled());  // more than 5 consecutive failures
  w.call("POST", "/_sim/channels/woo/orders", {}, R"({"listing": "799"})");
  EXPECT_EQ(t.sent.size(), 6u);
  // The orders are still there for the catch-up poll.
  r = w.send("GET", "orders?modified_after=2000-01-01T00:00:00&per_page=100&orderby=modified&order=asc");
  EXPECT_EQ(json::parse(r.body).size(), 7u);
  EXPECT_EQ(w.ch("woo").find("799")->shown, 2);
}

TEST(SimWoo, SuccessUpTo302ResetsFailures) {
  Woo w;
  FakeTransport t;
  t.script = {500, 500, 302, 500};
  w.sim->set_transport(&t);
  for (int i = 0; i < 4; ++i) w.call("POST", "/_sim/channels/woo/orders", {}, R"({"listing": "799"})");
  EXPECT_EQ(w.sim->state()["channels"][0]["webhook_consecutive_failures"], 1);
}

// The catch-up poll's list (§4.5): modified_after on whole seconds,
// orderby=modified newest first by default, per_page/page and the paging
// headers; unknown orderby/order values and per_page above 100 are refused.
TEST(SimWoo, ListOrdersModifiedAfterPagingAndHeaders) {
  Woo w;
  FakeTransport t;
  w.sim->set_transport(&t);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = w.call("POST", "/_sim/channels/woo/orders", {}, R"({"listing": "799"})");
    ASSERT_EQ(r.status, 201);
    ids.push_back(std::to_string(json::parse(r.body)["id"].get<int64_t>()));
    w.advance(10.4);
  }
  // Order 0 modified last (cancelled): first when sorting by modified, newest first.
  ASSERT_EQ(w.call("POST", "/_sim/channels/woo/orders/" + ids[0] + "/cancel", {}, "").status, 200);
  auto r = w.send("GET", "orders?modified_after=2000-01-01T00:00:00&orderby=modified&per_page=2&page=1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("X-WP-Total"), "5");
  EXPECT_EQ(r.header("X-WP-TotalPages"), "3");
  json page = json::parse(r.body);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(std::to_string(page[0]["id"].get<int64_t>()), ids[0]);
  EXPECT_EQ(page[0]["status"], "cancelled");
  EXPECT_EQ(std::to_string(page[1]["id"].get<int64_t>()), ids[4]);
  r = w.send("GET", "orders?modified_after=2000-01-01T00:00:00&orderby=modified&per_page=2&page=3");
  EXPECT_EQ(json::parse(r.body).size(), 1u);
  EXPECT_EQ(std::to_string(json::parse(r.body)[0]["id"].get<int64_t>()), ids[1]);
  // modified_after is strict and on whole seconds: the order modified at
  // start+20.8 shows date_modified_gmt ...:20 and is not after ...:20.
  json third = json::parse(w.send("GET", "orders/" + ids[2]).body);
  std::string at = third["date_modified_gmt"];
  r = w.send("GET", "orders?modified_after=" + at + "&dates_are_gmt=true&orderby=modified&order=asc&per_page=100");
  ASSERT_EQ(r.status, 200);
  json after = json::parse(r.body);
  ASSERT_EQ(after.size(), 3u);  // orders 3, 4 and the cancelled 0
  EXPECT_EQ(std::to_string(after[0]["id"].get<int64_t>()), ids[3]);
  EXPECT_EQ(w.send("GET", "orders?orderby=modifed").status, 400);
  EXPECT_EQ(w.send("GET", "orders?order=up").status, 400);
  EXPECT_EQ(w.send("GET", "orders?per_page=101").status, 400);
  EXPECT_EQ(w.send("GET", "orders?modified_after=yesterday").status, 400);
  EXPECT_EQ(w.send("GET", "orders?dates_are_gmt=maybe").status, 400);
}

// A site at GMT-5 (WordPress's gmt_offset): modified_after without
// dates_are_gmt is compared with post_modified, the site's local time; with
// dates_are_gmt=true a zone-less time is compared as written with
// post_modified_gmt; a time with a zone is converted to the site's zone
// first (WP_Date_Query), so it only means GMT without dates_are_gmt. The
// order shows date_modified in local time and date_modified_gmt in GMT.
TEST(SimWoo, ListOrdersModifiedAfterInTheSiteTimezone) {
  std::string scenario = kWooScenario;
  scenario.insert(scenario.find("  [[channels.listings]]"), "gmt_offset = -5\n");
  Woo w(scenario);
  FakeTransport t;
  w.sim->set_transport(&t);
  ASSERT_EQ(w.call("POST", "/_sim/channels/woo/orders", {}, R"({"listing": "799"})").status, 201);
  json order = json::parse(w.send("GET", "orders?per_page=1").body)[0];
  std::string gmt = order["date_modified_gmt"];
  auto at = sim::parse_iso8601(gmt);
  ASSERT_TRUE(at);
  EXPECT_EQ(order["date_modified"], sim::iso8601_naive(*at - 5 * 3600));
  std::string before = sim::iso8601_naive(*at - 60);  // GMT, a minute before the order
  auto listed = [&](const std::string& query) {
    auto r = w.send("GET", "orders?" + query);
    EXPECT_EQ(r.status, 200) << query;
    return json::parse(r.body).size();
  };
  EXPECT_EQ(listed("modified_after=" + before + "&dates_are_gmt=true"), 1u);
  EXPECT_EQ(listed("modified_after=" + before + "&dates_are_gmt=1"), 1u);
  // The same GMT text read as the site's time is five hours later: missed.
  EXPECT_EQ(listed("modified_after=" + before), 0u);
  EXPECT_EQ(listed("modified_after=" + before + "&dates_are_gmt=false"), 0u);
  // With a zone: converted to the site's time, right without dates_are_gmt...
  EXPECT_EQ(listed("modified_after=" + before + "Z"), 1u);
  EXPECT_EQ(listed("modified_after=" + sim::iso8601_naive(*at - 5 * 3600 - 60) + "-05:00"), 1u);
  // ...and wrong with it: T + 1 h with a zone becomes the site's T - 4 h,
  // compared with the GMT column, so the order at T is "after" it.
  EXPECT_EQ(listed("modified_after=" + sim::iso8601_naive(*at + 3600) + "Z&dates_are_gmt=true"), 1u);
  // Strict and on whole seconds: not after its own second, after the one before.
  EXPECT_EQ(listed("modified_after=" + gmt + "&dates_are_gmt=true"), 0u);
  EXPECT_EQ(listed("modified_after=" + sim::iso8601_naive(*at - 1) + "&dates_are_gmt=true"), 1u);
}
