// Shopify adapter against a scripted HttpClient: the inventorySetQuantities
// request shape (@idempotent key literal, changeFromQuantity on every
// quantity), success, CHANGE_FROM_QUANTITY_STALE with the level read back,
// THROTTLED as HTTP 200, 250-quantity calls, 401, lost answers replayed under
// the same key. Answer bodies as channel-apis.md §1.2 and §1.5 show them.
#include "adapter_test_support.hpp"
#include "adapters/shopify.hpp"
#include "fake_http_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

namespace stocksync::worker {
namespace {

using namespace testing;
using nlohmann::json;

constexpr const char *kKey = "5f0c6c1e-2b7e-4d7e-9d53-2f1b6a9f0c11";
constexpr const char *kEndpoint = "https://example.myshopify.com/admin/api/2026-04/graphql.json";

// §1.2 constructed success response (for item 30322695 at 124656943, now 7).
constexpr const char *kSuccess = R"({
  "data": {"inventorySetQuantities": {
    "inventoryAdjustmentGroup": {
      "createdAt": "2026-11-22T10:00:00Z", "reason": "correction",
      "referenceDocumentUri": "gid://stocksync/Push/8812",
      "changes": [
        {"name": "available", "delta": -2, "quantityAfterChange": 7,
         "item": {"id": "gid://shopify/InventoryItem/30322695"},
         "location": {"id": "gid://shopify/Location/124656943"}},
        {"name": "on_hand", "delta": -2, "quantityAfterChange": 11,
         "item": {"id": "gid://shopify/InventoryItem/30322695"},
         "location": {"id": "gid://shopify/Location/124656943"}}]},
    "userErrors": []}},
  "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
    "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}}}
})";

// §1.2 constructed stale response.
constexpr const char *kStale = R"({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": null,
  "userErrors": [{"code": "CHANGE_FROM_QUANTITY_STALE",
                  "field": ["input", "quantities", "0", "changeFromQuantity"],
                  "message": "The changeFromQuantity value does not match persisted value."}]}},
 "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
   "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}}}})";

// §1.5 throttled response.
constexpr const char *kThrottled = R"({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
   "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
 "extensions": {"cost": {"requestedQueryCost": 70, "actualQueryCost": null,
   "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 66, "restoreRate": 100.0}}}})";

constexpr const char *k401 = R"J({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})J";

ShopifyOptions shopify_options() {
  ShopifyOptions o;
  o.code = "shop";
  o.base_url = "https://example.myshopify.com";
  o.access_token = "shpat_secret_token";
  o.location_id = "124656943";
  return o;
}

ListingPush keyed(std::string id, int qty, std::optional<int> prev, std::string key) {
  ListingPush p = listing(std::move(id), qty, prev);
  p.idempotency_key = std::move(key);
  return p;
}

// Success for whatever was sent: every quantity applied, no changes listed.
HttpResponse apply_all(const HttpRequest &) {
  return json_reply(200, R"({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": {"createdAt":
    "2026-11-22T10:00:00Z", "reason": "correction", "referenceDocumentUri": "gid://stocksync/Push/x", "changes": []},
    "userErrors": []}}, "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
    "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}}}})");
}

bool is_mutation(const HttpRequest &r) { return contains(json::parse(r.body).value("query", ""), "inventorySetQuantities"); }

struct AdapterShopify : ::testing::Test {
  boost::asio::io_context io;
  FakeHttpClient http{io, apply_all};
  ShopifyAdapter adapter{shopify_options(), io, http};
  json body(std::size_t i) { return json::parse(http.requests.at(i).body); }
};

TEST_F(AdapterShopify, RequestShapeHasIdempotentKeyAndChangeFromOnEveryQuantity) {
  auto res = push_and_wait(io, adapter, {keyed("30322695", 7, 9, kKey)});
  ASSERT_EQ(http.requests.size(), 1u);
  const HttpRequest &r = http.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, kEndpoint);
  EXPECT_EQ(find_header(r.headers, "X-Shopify-Access-Token").value_or(""), "shpat_secret_token");
  EXPECT_EQ(find_header(r.headers, "Content-Type").value_or(""), "application/json");
  json b = body(0);
  std::string q = b["query"];
  EXPECT_TRUE(contains(q, "inventorySetQuantities(input: $input) @idempotent(key: \"" + std::string(kKey) + "\")")) << q;
  EXPECT_TRUE(contains(q, "userErrors { code field message }")) << q;
  EXPECT_EQ(b["variables"]["input"], json::parse(R"({"name": "available", "reason": "correction",
    "referenceDocumentUri": "gid://stocksync/Push/5f0c6c1e-2b7e-4d7e-9d53-2f1b6a9f0c11",
    "quantities": [{"inventoryItemId": "gid://shopify/InventoryItem/30322695",
                    "locationId": "gid://shopify/Location/124656943", "quantity": 7, "changeFromQuantity": 9}]})"));
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["30322695"].acked_qty, 7);
}

TEST_F(AdapterShopify, NullChangeFromIsSentExplicitlyAndLocationsComeFromTheId) {
  push_and_wait(io, adapter,
                {keyed("1", 3, std::nullopt, "k-1"), keyed("2@77", 0, 4, "k-2"),
                 keyed("gid://shopify/InventoryItem/3@gid://shopify/Location/78", 5, 5, "k-3")});
  ASSERT_EQ(http.requests.size(), 1u);
  // The raw text has the explicit null (2026-04 requires the field present).
  EXPECT_TRUE(contains(http.requests[0].body, "\"changeFromQuantity\":null")) << http.requests[0].body;
  json qs = body(0)["variables"]["input"]["quantities"];
  ASSERT_EQ(qs.size(), 3u);
  for (const auto &q : qs)
    EXPECT_TRUE(q.contains("changeFromQuantity")) << q;
  EXPECT_EQ(qs[0]["locationId"], "gid://shopify/Location/124656943");
  EXPECT_TRUE(qs[0]["changeFromQuantity"].is_null());
  EXPECT_EQ(qs[1]["inventoryItemId"], "gid://shopify/InventoryItem/2");
  EXPECT_EQ(qs[1]["locationId"], "gid://shopify/Location/77");
  EXPECT_EQ(qs[1]["changeFromQuantity"], 4);
  EXPECT_EQ(qs[2]["inventoryItemId"], "gid://shopify/InventoryItem/3");
  EXPECT_EQ(qs[2]["locationId"], "gid://shopify/Location/78");
  // Several listings: one key for the call, derived from all of them, and stable.
  std::vector<ListingPush> ms = {keyed("1", 3, std::nullopt, "k-1"), keyed("2@77", 0, 4, "k-2"),
                                 keyed("gid://shopify/InventoryItem/3@gid://shopify/Location/78", 5, 5, "k-3")};
  std::string key = shopify_call_key(ms);
  EXPECT_TRUE(contains(body(0)["query"], "@idempotent(key: \"" + key + "\")"));
  std::reverse(ms.begin(), ms.end());
  EXPECT_EQ(shopify_call_key(ms), key) << "order does not matter";
  ms[0].desired_qty = 6;
  EXPECT_NE(shopify_call_key(ms), key) << "a different quantity is a different operation";
}

TEST_F(AdapterShopify, SuccessUsesQuantityAfterChange) {
  http.set_handler([](const HttpRequest &) { return json_reply(200, kSuccess); });
  auto res = push_and_wait(io, adapter, {keyed("30322695", 7, 9, kKey)});
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["30322695"].acked_qty, 7);
  EXPECT_NEAR(adapter.bucket().available(AdapterClock::real().mono()), 1990, 5) << "cost adopted from the answer";
}

TEST_F(AdapterShopify, StaleReadsTheLevelBackAndReportsTheChannelQuantity) {
  http.set_handler([](const HttpRequest &r) {
    if (is_mutation(r))
      return json_reply(200, kStale);
    // The read: alias l0 for the stale listing only.
    return json_reply(200, R"({"data": {"l0": {"inventoryLevel": {"quantities": [{"name": "available", "quantity": 8}]}}},
      "extensions": {"cost": {"requestedQueryCost": 3, "actualQueryCost": 3,
      "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1987.0, "restoreRate": 100.0}}}})");
  });
  auto res = push_and_wait(io, adapter, {keyed("30322695", 12, 9, "k-a"), keyed("555", 3, 2, "k-b")});
  ASSERT_EQ(http.requests.size(), 2u);
  std::string read = body(1)["query"];
  EXPECT_TRUE(contains(read, "l0: inventoryItem(id: \"gid://shopify/InventoryItem/30322695\") { inventoryLevel(locationId: "
                             "\"gid://shopify/Location/124656943\") { quantities(names: [\"available\"])"))
      << read;
  EXPECT_FALSE(contains(read, "InventoryItem/555")) << "only the stale listing is read";
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::stale);
  EXPECT_EQ(res["30322695"].channel_qty, 8);
  EXPECT_TRUE(contains(res["30322695"].message, "CHANGE_FROM_QUANTITY_STALE")) << res["30322695"].message;
  // Nothing in the call was applied; the other listing was not the cause.
  EXPECT_EQ(res["555"].outcome, PushOutcome::retryable);
  EXPECT_FALSE(res["555"].counts_as_attempt);
}

TEST_F(AdapterShopify, StaleWithUnreadableLevelHasNoChannelQuantity) {
  http.set_handler([](const HttpRequest &r) {
    return is_mutation(r) ? json_reply(200, kStale) : json_reply(200, kThrottled);
  });
  auto res = push_and_wait(io, adapter, {keyed("30322695", 12, 9, "k-a")});
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::stale);
  EXPECT_FALSE(res["30322695"].channel_qty) << "the core turns this into a retry";
}

TEST_F(AdapterShopify, ThrottledIsRetryableWithTheBucketsWait) {
  http.set_handler([](const HttpRequest &) { return json_reply(200, kThrottled); });
  auto res = push_and_wait(io, adapter, {keyed("30322695", 7, 9, kKey), keyed("2", 1, 1, "k2")});
  for (auto id : {"30322695", "2"}) {
    EXPECT_EQ(res[id].outcome, PushOutcome::retryable);
    EXPECT_TRUE(res[id].throttled);
    // ceil((70 - 66) / 100) = 1 s (at least 1 s).
    EXPECT_EQ(res[id].retry_after, std::chrono::milliseconds(1000));
  }
  EXPECT_GT(adapter.bucket().wait_seconds(AdapterClock::real().mono(), 10), 0.5) << "the bucket pauses too";
}

TEST_F(AdapterShopify, CallsWaitForTheCostBucket) {
  // The answer says 0 points left at 100/s: the next call (10 points) waits ~0.1 s.
  http.set_handler([](const HttpRequest &) {
    return json_reply(200, R"({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": {"changes": []},
      "userErrors": []}}, "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
      "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 0.0, "restoreRate": 100.0}}}})");
  });
  push_and_wait(io, adapter, {keyed("1", 1, 0, "k1")});
  auto t0 = std::chrono::steady_clock::now();
  auto res = push_and_wait(io, adapter, {keyed("2", 1, 0, "k2")});
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(res["2"].outcome, PushOutcome::acked);
  EXPECT_GE(waited, std::chrono::milliseconds(80));
  EXPECT_EQ(http.requests.size(), 2u);
}

TEST_F(AdapterShopify, AtMost250QuantitiesPerCall) {
  EXPECT_EQ(adapter.max_batch(), 250u);
  EXPECT_TRUE(adapter.compare_and_set());
  std::vector<ListingPush> batch;
  for (int i = 1; i <= 251; ++i)
    batch.push_back(keyed(std::to_string(i), i, i - 1, "k-" + std::to_string(i)));
  auto res = push_and_wait(io, adapter, batch);
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(body(0)["variables"]["input"]["quantities"].size(), 250u);
  EXPECT_EQ(body(1)["variables"]["input"]["quantities"].size(), 1u);
  EXPECT_EQ(res.size(), 251u);
  for (auto &[id, r] : res)
    EXPECT_EQ(r.outcome, PushOutcome::acked) << id;
  // batch_size lowers it, never raises it.
  ChannelConfig cfg;
  cfg.code = "shop";
  cfg.kind = "shopify";
  cfg.base_url = "https://example.myshopify.com";
  cfg.credentials = {{"access_token", "t"}};
  cfg.batch_size = 1000;
  std::string err;
  EXPECT_EQ(ShopifyOptions::from_config(cfg, err)->batch, 250u);
  cfg.batch_size = 50;
  EXPECT_EQ(ShopifyOptions::from_config(cfg, err)->batch, 50u);
}

TEST_F(AdapterShopify, UnauthorizedIsPermanentWithoutTheToken) {
  http.set_handler([](const HttpRequest &) { return json_reply(401, k401); });
  auto res = push_and_wait(io, adapter, {keyed("30322695", 7, 9, kKey)});
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::permanent);
  EXPECT_TRUE(contains(res["30322695"].message, "HTTP 401")) << res["30322695"].message;
  EXPECT_TRUE(contains(res["30322695"].message, "access_token")) << res["30322695"].message;
  EXPECT_FALSE(contains(res["30322695"].message, "shpat_secret_token"));
}

TEST_F(AdapterShopify, UserErrorsArePerQuantityOrForTheWholeCall) {
  http.set_handler([](const HttpRequest &) {
    return json_reply(200, R"({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": null, "userErrors": [
      {"code": "INVALID_INVENTORY_ITEM", "field": ["input", "quantities", "1", "inventoryItemId"],
       "message": "The specified inventory item could not be found."}]}},
      "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
      "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}}}})");
  });
  auto res = push_and_wait(io, adapter, {keyed("1", 1, 0, "k1"), keyed("2", 1, 0, "k2")});
  EXPECT_EQ(res["2"].outcome, PushOutcome::permanent);
  EXPECT_TRUE(contains(res["2"].message, "INVALID_INVENTORY_ITEM")) << res["2"].message;
  EXPECT_EQ(res["1"].outcome, PushOutcome::retryable);
  EXPECT_FALSE(res["1"].counts_as_attempt);

  http.set_handler([](const HttpRequest &) {
    return json_reply(200, R"({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": null, "userErrors": [
      {"code": "INVALID_REASON", "field": ["input", "reason"], "message": "The specified reason is invalid."}]}}})");
  });
  res = push_and_wait(io, adapter, {keyed("1", 1, 0, "k3"), keyed("2", 1, 0, "k4")});
  EXPECT_EQ(res["1"].outcome, PushOutcome::permanent);
  EXPECT_EQ(res["2"].outcome, PushOutcome::permanent);
}

TEST_F(AdapterShopify, ServerErrorsAndTransportAreRetryable) {
  http.set_handler([](const HttpRequest &) { return json_reply(503, R"({"errors": "Service Unavailable"})"); });
  auto res = push_and_wait(io, adapter, {keyed("1", 1, 0, "k1")});
  EXPECT_EQ(res["1"].outcome, PushOutcome::retryable);
  http.set_handler([](const HttpRequest &) {
    HttpResponse r;
    r.error = "Timeout was reached";
    r.timed_out = true;
    return r;
  });
  res = push_and_wait(io, adapter, {keyed("2", 1, 0, "k2")});
  EXPECT_EQ(res["2"].outcome, PushOutcome::retryable);
  EXPECT_TRUE(res["2"].maybe_applied);
}

TEST_F(AdapterShopify, LostAnswerIsRepeatedAsTheSameCall) {
  // {A, B} times out; A's true retry comes alone: the adapter re-sends the
  // very same call (same key, same body), so Shopify answers with the
  // original result; B's retry later gets that answer without a new call.
  http.set_handler([](const HttpRequest &) {
    HttpResponse r;
    r.error = "Timeout was reached";
    r.timed_out = true;
    return r;
  });
  ListingPush a = keyed("1", 5, 2, "key-a"), b = keyed("2", 6, 3, "key-b");
  push_and_wait(io, adapter, {a, b});
  EXPECT_EQ(adapter.remembered_calls(), 2u);
  http.set_handler(apply_all);
  auto res = push_and_wait(io, adapter, {a});
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(http.requests[1].body, http.requests[0].body);
  EXPECT_EQ(res["1"].outcome, PushOutcome::acked);
  res = push_and_wait(io, adapter, {b});
  EXPECT_EQ(http.requests.size(), 2u) << "answered from the recorded result";
  EXPECT_EQ(res["2"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["2"].acked_qty, 6);
  EXPECT_EQ(adapter.remembered_calls(), 0u);
  // A distinct push (new key) is a new call.
  push_and_wait(io, adapter, {keyed("1", 4, 5, "key-c")});
  EXPECT_EQ(http.requests.size(), 3u);
}

TEST_F(AdapterShopify, RefusedKeyIsReplacedOnTheNextAttempt) {
  http.set_handler([](const HttpRequest &) {
    return json_reply(200, R"({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": null, "userErrors": [
      {"code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", "field": null,
       "message": "The idempotency key was used with different parameters."}]}}})");
  });
  auto res = push_and_wait(io, adapter, {keyed("1", 5, 2, kKey)});
  EXPECT_EQ(res["1"].outcome, PushOutcome::retryable);
  http.set_handler(apply_all);
  res = push_and_wait(io, adapter, {keyed("1", 5, 2, kKey)});
  EXPECT_EQ(res["1"].outcome, PushOutcome::acked);
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_FALSE(contains(body(1)["query"], kKey)) << "the retry uses a new key";
}

TEST_F(AdapterShopify, ConcurrentRequestIsRetryableLater) {
  http.set_handler([](const HttpRequest &) {
    return json_reply(200, R"({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": null, "userErrors": [
      {"code": "IDEMPOTENCY_CONCURRENT_REQUEST", "field": null, "message": "A request with this key is in progress."}]}}})");
  });
  auto res = push_and_wait(io, adapter, {keyed("1", 5, 2, kKey)});
  EXPECT_EQ(res["1"].outcome, PushOutcome::retryable);
  EXPECT_EQ(res["1"].retry_after, std::chrono::milliseconds(1000));
}

TEST_F(AdapterShopify, BadListingIdsArePermanent) {
  auto res = push_and_wait(io, adapter, {keyed("abc", 1, 0, "k1"), keyed("1@x", 1, 0, "k2"), keyed("9", 1, 0, "k3"),
                                         keyed("9@124656943", 1, 0, "k4")});
  EXPECT_EQ(res["abc"].outcome, PushOutcome::permanent);
  EXPECT_EQ(res["1@x"].outcome, PushOutcome::permanent);
  EXPECT_EQ(res["9"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["9@124656943"].outcome, PushOutcome::permanent) << "same level twice in one call";
  std::string err;
  EXPECT_FALSE(parse_shopify_listing_id("5", "", err));
  EXPECT_TRUE(contains(err, "options.location_id")) << err;
}

TEST_F(AdapterShopify, ReadLevels) {
  ASSERT_TRUE(adapter.can_read_levels());
  http.set_handler([](const HttpRequest &) {
    return json_reply(200, R"({"data": {
      "l0": {"inventoryLevel": {"quantities": [{"name": "available", "quantity": 4}]}},
      "l1": {"inventoryLevel": null},
      "l2": null}})");
  });
  std::optional<std::vector<LevelReading>> got;
  adapter.read_levels({"1", "2@5", "3", "bad"}, [&](std::vector<LevelReading> r) { got = std::move(r); });
  for (int i = 0; i < 200 && !got; ++i) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 4u);
  EXPECT_EQ((*got)[0].quantity, 4);
  EXPECT_FALSE((*got)[1].quantity);
  EXPECT_TRUE(contains((*got)[1].error, "not stocked")) << (*got)[1].error;
  EXPECT_FALSE((*got)[2].quantity);
  EXPECT_FALSE((*got)[3].quantity);
  EXPECT_FALSE((*got)[3].error.empty());
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_TRUE(contains(body(0)["query"], "l1: inventoryItem(id: \"gid://shopify/InventoryItem/2\") { inventoryLevel("
                                         "locationId: \"gid://shopify/Location/5\")"));
}

TEST(AdapterShopifyConfig, FactoryChecksTheConfig) {
  boost::asio::io_context io;
  FakeHttpClient http{io, apply_all};
  AdapterEnv env{io, http};
  ChannelConfig cfg;
  cfg.code = "shop";
  cfg.kind = "shopify";
  cfg.base_url = "https://example.myshopify.com/";
  std::string err;
  EXPECT_FALSE(make_adapter(cfg, env, err));
  EXPECT_TRUE(contains(err, "access_token")) << err;
  cfg.credentials = {{"access_token", "shpat_x"}};
  cfg.options = {{"location_id", "gid://shopify/Location/124656943"}};
  err.clear();
  auto a = make_adapter(cfg, env, err);
  ASSERT_TRUE(a) << err;
  EXPECT_TRUE(a->compare_and_set());
  cfg.base_url = "http://example.myshopify.com";
  EXPECT_FALSE(make_adapter(cfg, env, err));
  EXPECT_TRUE(contains(err, "https")) << err;
  cfg.base_url = "http://127.0.0.1:8080/shopify/s";
  cfg.options = {{"location_id", "x"}};
  EXPECT_FALSE(make_adapter(cfg, env, err));
  EXPECT_TRUE(contains(err, "location_id")) << err;
}

}  // namespace
}  // namespace stocksync::worker
