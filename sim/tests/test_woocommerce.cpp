// WooCommerce REST v3: batch limit, inline errors, auth, webhooks (channel-apis.md §4).
#include "fake_transport.hpp"
#include "helpers.hpp"
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
  Woo() : Harness(kWooScenario) {}
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
