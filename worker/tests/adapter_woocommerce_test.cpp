// WooCommerce adapter against a scripted HttpClient: Basic auth, the
// products/batch and variations/batch shapes, inline per-item errors in a 200,
// 413 above the site's limit, 429 with Retry-After. Bodies as channel-apis.md §4.
#include "adapter_test_support.hpp"
#include "adapters/woocommerce.hpp"
#include "fake_http_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stocksync::worker {
namespace {

using namespace testing;
using nlohmann::json;

WooOptions woo_options() {
  WooOptions o;
  o.code = "woo";
  o.base_url = "https://shop.example.com";
  o.consumer_key = "ck_1";
  o.consumer_secret = "cs_2";
  return o;
}

// Products echo back; id 999 does not exist.
HttpResponse batch_answer(const HttpRequest &r) {
  json req = json::parse(r.body);
  json out = json::array();
  for (auto &u : req["update"]) {
    if (u["id"] == 999)
      out.push_back({{"id", 999},
                     {"error", {{"code", "woocommerce_rest_product_invalid_id"}, {"message", "Invalid ID."},
                                {"data", {{"status", 400}}}}}});
    else
      out.push_back({{"id", u["id"]}, {"sku", "S"}, {"manage_stock", true}, {"stock_quantity", u["stock_quantity"]},
                     {"stock_status", u["stock_quantity"] > 0 ? "instock" : "outofstock"}});
  }
  return json_reply(200, json{{"update", out}}.dump());
}

struct AdapterWooCommerce : ::testing::Test {
  boost::asio::io_context io;
  FakeClock clock;
  FakeHttpClient http{io, batch_answer};
  WooCommerceAdapter adapter{woo_options(), io, http, clock.clock()};
  double adapter_wait() { return adapter.gate().bucket().wait_seconds(clock.mono); }
};

TEST_F(AdapterWooCommerce, BatchShapeAndInlineErrors) {
  auto res = push_and_wait(io, adapter, {listing("799", 7), listing("801", 0), listing("999", 1)});
  ASSERT_EQ(http.requests.size(), 1u);
  const HttpRequest &r = http.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://shop.example.com/wp-json/wc/v3/products/batch");
  EXPECT_EQ(find_header(r.headers, "Authorization").value_or(""), "Basic Y2tfMTpjc18y");  // ck_1:cs_2
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"update": [
    {"id": 799, "stock_quantity": 7, "manage_stock": true},
    {"id": 801, "stock_quantity": 0, "manage_stock": true},
    {"id": 999, "stock_quantity": 1, "manage_stock": true}]})"));
  EXPECT_EQ(res["799"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["799"].acked_qty, 7);
  EXPECT_EQ(res["801"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["999"].outcome, PushOutcome::permanent);
  EXPECT_TRUE(contains(res["999"].message, "woocommerce_rest_product_invalid_id")) << res["999"].message;
}

TEST_F(AdapterWooCommerce, VariationsGoToTheirParentsBatch) {
  auto res = push_and_wait(io, adapter, {listing("810/812", 4), listing("799", 2), listing("x/1", 1)});
  ASSERT_EQ(http.requests.size(), 2u);
  bool saw_variation = false;
  for (auto &r : http.requests)
    if (r.url == "https://shop.example.com/wp-json/wc/v3/products/810/variations/batch") {
      saw_variation = true;
      EXPECT_EQ(json::parse(r.body)["update"][0]["id"], 812);
    }
  EXPECT_TRUE(saw_variation);
  EXPECT_EQ(res["810/812"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["x/1"].outcome, PushOutcome::permanent);
}

TEST_F(AdapterWooCommerce, At413AdoptsTheSitesLimit) {
  http.set_handler([](const HttpRequest &r) {
    if (json::parse(r.body)["update"].size() > 10)
      return json_reply(413, R"({"code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 10 items for this request.", "data": {"status": 413}})");
    return batch_answer(r);
  });
  EXPECT_EQ(adapter.max_batch(), 100u);
  std::vector<ListingPush> batch;
  for (int i = 0; i < 20; ++i)
    batch.push_back(listing(std::to_string(100 + i), i));
  auto res = push_and_wait(io, adapter, batch);
  for (auto &[id, r] : res) {
    EXPECT_EQ(r.outcome, PushOutcome::retryable) << id;
    EXPECT_TRUE(contains(r.message, "413"));
  }
  EXPECT_EQ(adapter.max_batch(), 10u);
  res = push_and_wait(io, adapter, batch);
  for (auto &[id, r] : res)
    EXPECT_EQ(r.outcome, PushOutcome::acked) << id;
}

TEST_F(AdapterWooCommerce, ThrottledAndServerErrors) {
  http.set_handler([](const HttpRequest &) {
    return json_reply(429, R"({"code": "too_many_requests", "message": "Too many requests.", "data": {"status": 429}})",
                      {{"Retry-After", "10"}});
  });
  auto res = push_and_wait(io, adapter, {listing("799", 1)});
  EXPECT_EQ(res["799"].outcome, PushOutcome::retryable);
  EXPECT_TRUE(res["799"].throttled);
  EXPECT_EQ(res["799"].retry_after, std::chrono::milliseconds(10000));
  EXPECT_GT(adapter_wait(), 9.9) << "the gate honours Retry-After";
  clock.mono += 10;
  http.set_handler([](const HttpRequest &) { return json_reply(500, R"({"code": "internal_server_error"})"); });
  res = push_and_wait(io, adapter, {listing("799", 1)});
  EXPECT_EQ(res["799"].outcome, PushOutcome::retryable);
  EXPECT_FALSE(res["799"].throttled);
  clock.mono += 1;  // the next token at 2/s
  http.set_handler([](const HttpRequest &) {
    return json_reply(401, R"({"code": "woocommerce_rest_authentication_error", "message": "Consumer key is invalid.",
                               "data": {"status": 401}})");
  });
  res = push_and_wait(io, adapter, {listing("799", 1)});
  EXPECT_EQ(res["799"].outcome, PushOutcome::permanent);
  EXPECT_FALSE(contains(res["799"].message, "cs_2"));
}

TEST(AdapterWooCommerceConfig, RequiresHttpsExceptLoopback) {
  ChannelConfig cfg;
  cfg.code = "woo";
  cfg.kind = "woocommerce";
  cfg.credentials = {{"consumer_key", "ck"}, {"consumer_secret", "cs"}};
  std::string err;
  cfg.base_url = "http://shop.example.com";
  EXPECT_FALSE(WooOptions::from_config(cfg, err));
  EXPECT_TRUE(contains(err, "https")) << err;
  cfg.base_url = "http://127.0.0.1:8900/woo/demo";
  EXPECT_TRUE(WooOptions::from_config(cfg, err)) << err;
  cfg.base_url = "https://shop.example.com/";
  cfg.batch_size = 500;
  auto o = WooOptions::from_config(cfg, err);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->batch, 100u);
  EXPECT_EQ(o->base_url, "https://shop.example.com");
}

// The core keeps at most max_in_flight() push() calls outstanding: the
// adapter must report the configured value (default 2), not the base class's 1.
TEST(AdapterWooCommerceConfig, MaxInFlightDefaultsToTwoAndFollowsTheConfig) {
  boost::asio::io_context io;
  FakeHttpClient http{io, batch_answer};
  AdapterEnv env{io, http};
  ChannelConfig cfg;
  cfg.code = "woo";
  cfg.kind = "woocommerce";
  cfg.base_url = "https://shop.example.com";
  cfg.credentials = {{"consumer_key", "ck_1"}, {"consumer_secret", "cs_2"}};
  expect_max_in_flight(cfg, env, 2, {1, 3, 8});
}

}  // namespace
}  // namespace stocksync::worker
