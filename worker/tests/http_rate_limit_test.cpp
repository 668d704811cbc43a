// Limiter arithmetic: token bucket, Shopify cost bucket,
// Retry-After and x-amzn-RateLimit-Limit parsing, classification,
// bounded JSON, and the RateGate on a real io_context.
#include "http/bounded_json.hpp"
#include "http/classify.hpp"
#include "http/rate_defaults.hpp"
#include "http/rate_gate.hpp"
#include "http/shopify_cost_bucket.hpp"
#include "http/token_bucket.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace stocksync::worker {
namespace {

using namespace std::chrono_literals;

TEST(HttpTokenBucket, BurstThenRate) {
  TokenBucket b(5, 5, 100.0);  // Amazon patchListingsItem: 5/s, burst 5
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(b.try_take(100.0)) << i;
  EXPECT_FALSE(b.try_take(100.0));
  EXPECT_NEAR(b.wait_seconds(100.0), 0.2, 1e-9);
  EXPECT_FALSE(b.try_take(100.19));
  EXPECT_TRUE(b.try_take(100.2));
  // Over 10 s at most burst + 10 * rate calls are admitted.
  int admitted = 0;
  for (double t = 100.2; t < 110.2; t += 0.001)
    admitted += b.try_take(t) ? 1 : 0;
  EXPECT_LE(admitted, 50 + 1);
  EXPECT_GE(admitted, 49);
}

TEST(HttpTokenBucket, RefillStopsAtBurst) {
  TokenBucket b(2, 4, 0);
  for (int i = 0; i < 4; ++i)
    b.try_take(0);
  EXPECT_DOUBLE_EQ(b.available(1000), 4);
}

TEST(HttpTokenBucket, LiveRateSignalChangesRefill) {
  TokenBucket b(5, 5, 0);
  for (int i = 0; i < 5; ++i)
    b.try_take(0);
  b.set_rate(0.5, 0);  // x-amzn-RateLimit-Limit: 0.5
  EXPECT_NEAR(b.wait_seconds(0), 2.0, 1e-9);
  b.set_rate(-1, 0);  // nonsense is ignored
  EXPECT_DOUBLE_EQ(b.rate(), 0.5);
}

TEST(HttpTokenBucket, RetryAfterPausesThenAdmitsOne) {
  TokenBucket b(5, 5, 0);
  b.pause_until(10, 0);
  EXPECT_FALSE(b.try_take(9.99));
  EXPECT_NEAR(b.wait_seconds(0), 10, 1e-9);
  EXPECT_TRUE(b.try_take(10));
  EXPECT_FALSE(b.try_take(10));
  EXPECT_NEAR(b.wait_seconds(10), 0.2, 1e-9);
}

TEST(HttpTokenBucket, DrainAfter429) {
  TokenBucket b(5, 5, 0);
  b.drain(0);
  EXPECT_FALSE(b.try_take(0));
  EXPECT_NEAR(b.wait_seconds(0), 0.2, 1e-9);
}

TEST(HttpShopifyCostBucket, ParsesThrottledResponse) {
  // The THROTTLED shape of channel-apis.md §1.5, verbatim.
  auto body = nlohmann::json::parse(R"({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
   "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
 "extensions": {"cost": {"requestedQueryCost": 70, "actualQueryCost": null,
   "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 66, "restoreRate": 100.0}}}})");
  auto c = parse_shopify_query_cost(body);
  EXPECT_TRUE(c.throttled);
  ASSERT_TRUE(c.requested);
  EXPECT_EQ(*c.requested, 70);
  EXPECT_FALSE(c.actual);
  ASSERT_TRUE(c.status);
  EXPECT_EQ(c.status->currently_available, 66);
  EXPECT_EQ(c.status->maximum_available, 2000);
  EXPECT_EQ(c.status->restore_rate, 100);
  // ceil((70 - 66) / 100) = 1 s
  EXPECT_EQ(ShopifyCostBucket::throttled_wait_seconds(70, *c.status), 1);
  EXPECT_EQ(ShopifyCostBucket::throttled_wait_seconds(760, {2000, 10, 50}), 15);  // ceil(750/50)
}

TEST(HttpShopifyCostBucket, FollowsThrottleStatusAndPausesAfterThrottled) {
  ShopifyCostBucket b(2000, 100, 0);
  EXPECT_EQ(b.wait_seconds(0, 500), 0);
  b.reserve(0, 500);
  EXPECT_EQ(b.available(0), 1500);
  // The server says only 300 are left (other apps share the bucket? no: the
  // per-app bucket, but our estimate was stale): adopt it.
  ShopifyQueryCost ok;
  ok.requested = 500;
  ok.actual = 120;
  ok.status = ShopifyThrottleStatus{2000, 300, 100};
  b.complete(1, 500, ok);
  EXPECT_NEAR(b.available(1), 300, 1e-9);
  EXPECT_NEAR(b.wait_seconds(1, 500), 2.0, 1e-9);  // 200 points at 100/s
  // THROTTLED: wait ceil((requested - currentlyAvailable)/restoreRate).
  b.reserve(1, 700);
  ShopifyQueryCost th;
  th.throttled = true;
  th.requested = 700;
  th.status = ShopifyThrottleStatus{2000, 300, 100};
  b.complete(1, 700, th);
  EXPECT_NEAR(b.wait_seconds(1, 1), 4.0, 1e-9);  // ceil(400/100) = 4 s pause
  EXPECT_EQ(b.available(4.9), 0);
  EXPECT_GE(b.available(5.1), 700);
}

TEST(HttpShopifyCostBucket, FollowsPlanFromResponses) {
  ShopifyCostBucket b;  // Standard defaults until told otherwise
  ShopifyQueryCost plus;
  plus.status = ShopifyThrottleStatus{20000, 20000, 1000};  // Plus plan (§1.5)
  b.complete(0, 0, plus);
  EXPECT_EQ(b.maximum(), 20000);
  EXPECT_EQ(b.restore_rate(), 1000);
}

TEST(HttpClassify, StatusClasses) {
  auto with = [](long status) {
    HttpResponse r;
    r.status = status;
    return classify(r);
  };
  EXPECT_EQ(with(200), ResponseClass::ok);
  EXPECT_EQ(with(207), ResponseClass::ok);
  EXPECT_EQ(with(429), ResponseClass::retryable);
  EXPECT_EQ(with(500), ResponseClass::retryable);
  EXPECT_EQ(with(503), ResponseClass::retryable);
  EXPECT_EQ(with(408), ResponseClass::retryable);
  EXPECT_EQ(with(400), ResponseClass::permanent);
  EXPECT_EQ(with(403), ResponseClass::permanent);
  EXPECT_EQ(with(404), ResponseClass::permanent);
  EXPECT_EQ(with(413), ResponseClass::permanent);
  HttpResponse t;
  t.error = "timeout after 10 ms";
  t.timed_out = true;
  EXPECT_EQ(classify(t), ResponseClass::retryable);
}

TEST(HttpClassify, RetryAfterForms) {
  std::time_t now = 1795000000;
  EXPECT_EQ(parse_retry_after("10", now), 10000ms);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0ms);
  EXPECT_EQ(parse_retry_after("99999999999", now), std::chrono::milliseconds(24 * 3600 * 1000));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after(std::string(200, '1'), now));
  // HTTP-date 30 s in the future (1795000030 = Wed, 18 Nov 2026 11:07:10 GMT).
  EXPECT_EQ(parse_retry_after("Wed, 18 Nov 2026 11:07:10 GMT", 1795000000), 30000ms);
  EXPECT_EQ(parse_retry_after("Wed, 18 Nov 2026 11:07:10 GMT", 1795000100), 0ms) << "past dates mean now";
}

TEST(HttpClassify, AmazonRateLimitHeader) {
  EXPECT_EQ(parse_amzn_rate_limit("5.0"), 5.0);
  EXPECT_EQ(parse_amzn_rate_limit("0.0167"), 0.0167);
  EXPECT_FALSE(parse_amzn_rate_limit("0"));
  EXPECT_FALSE(parse_amzn_rate_limit("fast"));
  EXPECT_FALSE(parse_amzn_rate_limit("5x"));
  HttpResponse r;
  r.headers = {{"X-Amzn-RateLimit-Limit", "2.5"}};
  EXPECT_EQ(amzn_rate_limit(r), 2.5);
}

TEST(HttpRateDefaults, DocumentedTable) {
  auto p = documented_rate("amazon", "patchListingsItem");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rate, 5);
  EXPECT_EQ(p->burst, 5);
  EXPECT_STREQ(p->source, "documented");
  EXPECT_EQ(documented_rate("amazon", "getOrders")->burst, 20);
  EXPECT_EQ(documented_rate("shopify", "graphql")->burst, 2000);
  EXPECT_EQ(documented_rate("shopify_rest", "anything")->rate, 2);
  EXPECT_FALSE(documented_rate("amazon", "noSuchOperation"));
}

TEST(HttpBoundedJson, RejectsDeepAndLargeInput) {
  EXPECT_TRUE(parse_bounded_json(R"({"a":[1,{"b":"[[[[[[["}]})"));
  std::string deep(100, '[');
  deep += std::string(100, ']');
  std::string err;
  EXPECT_FALSE(parse_bounded_json(deep, &err));
  EXPECT_NE(err.find("nesting"), std::string::npos);
  EXPECT_FALSE(parse_bounded_json(std::string(100, ' '), &err, JsonLimits{10, 32}));
  EXPECT_FALSE(parse_bounded_json("{nope", &err));
  EXPECT_EQ(json_depth(R"({"s":"\"{{{{"})", 10), 1);
}

TEST(HttpRateGate, AdmitsInOrderAtTheRate) {
  boost::asio::io_context io;
  RateGate gate(io, 50, 2);  // 50/s, burst 2: 10 calls take about (10-2)/50 = 160 ms
  std::vector<int> order;
  auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration last{};
  for (int i = 0; i < 10; ++i)
    gate.acquire([&, i](bool ok) {
      EXPECT_TRUE(ok);
      order.push_back(i);
      last = std::chrono::steady_clock::now() - t0;
    });
  EXPECT_TRUE(order.empty()) << "never called inside acquire()";
  io.run_for(2s);
  ASSERT_EQ(order.size(), 10u);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(order[i], i);
  EXPECT_GE(last, 150ms);
  EXPECT_LT(last, 1000ms);
}

TEST(HttpRateGate, PauseAndCancel) {
  boost::asio::io_context io;
  RateGate gate(io, 1000, 1000);
  gate.pause_for(200ms);
  int admitted = 0, refused = 0;
  auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration at{};
  gate.acquire([&](bool ok) {
    ok ? ++admitted : ++refused;
    at = std::chrono::steady_clock::now() - t0;
  });
  io.run_for(1s);
  EXPECT_EQ(admitted, 1);
  EXPECT_GE(at, 195ms);
  gate.pause_for(10s);
  gate.acquire([&](bool ok) { ok ? ++admitted : ++refused; });
  gate.cancel();
  io.restart();
  io.run_for(100ms);
  EXPECT_EQ(refused, 1);
}

}  // namespace
}  // namespace stocksync::worker
