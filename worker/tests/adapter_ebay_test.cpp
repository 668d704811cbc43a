// eBay adapter against a scripted HttpClient: the OAuth refresh request, the
// bulkUpdatePriceQuantity shape (both quantity levels), 200/207 per-entry
// mapping, offer lookup for plain SKUs, the 25-entry cap, 250 revisions a day,
// the daily quota 429 and a 401 token expiry. Bodies as channel-apis.md §3.
#include "adapter_test_support.hpp"
#include "adapters/ebay.hpp"
#include "fake_http_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stocksync::worker {
namespace {

using namespace testing;
using nlohmann::json;

EbayOptions ebay_options() {
  EbayOptions o;
  o.code = "eb";
  o.token_url = o.api_base + "/identity/v1/oauth2/token";
  o.client_id = "app";
  o.client_secret = "secret";
  o.refresh_token = "v^1.1#refresh";
  return o;
}

// Answers every entry 200, except SKUs starting with "BAD" (400, 25702).
HttpResponse bulk_answer(const HttpRequest &r) {
  json req = json::parse(r.body);
  json responses = json::array();
  bool all_ok = true;
  for (auto &e : req["requests"]) {
    std::string sku = e["sku"];
    std::string offer = e.contains("offers") ? e["offers"][0]["offerId"].get<std::string>() : "";
    if (sku.rfind("BAD", 0) == 0) {
      all_ok = false;
      responses.push_back({{"statusCode", 400}, {"sku", sku}, {"offerId", offer},
                           {"errors", json::array({{{"errorId", 25702}, {"domain", "API_INVENTORY"},
                                                    {"category", "REQUEST"},
                                                    {"message", "The SKU " + sku + " is not available in the system."}}})},
                           {"warnings", json::array()}});
    } else {
      responses.push_back({{"statusCode", 200}, {"sku", sku}, {"offerId", offer}, {"errors", json::array()},
                           {"warnings", json::array()}});
    }
  }
  return json_reply(all_ok ? 200 : 207, json{{"responses", responses}}.dump());
}

struct AdapterEbay : ::testing::Test {
  boost::asio::io_context io;
  FakeClock clock;
  int token_calls = 0, bulk_calls = 0, offer_calls = 0;
  std::function<HttpResponse(const HttpRequest &)> on_bulk = bulk_answer;
  FakeHttpClient http{io, [this](const HttpRequest &r) {
                        if (ends_with(r.url, "/identity/v1/oauth2/token")) {
                          ++token_calls;
                          return json_reply(200, json{{"access_token", "v^1.1#t" + std::to_string(token_calls)},
                                                      {"expires_in", 7200},
                                                      {"token_type", "User Access Token"}}
                                                     .dump());
                        }
                        if (contains(r.url, "/sell/inventory/v1/offer?sku=")) {
                          ++offer_calls;
                          return json_reply(200, R"({"href": "x", "limit": 25, "size": 1, "total": 1,
                            "offers": [{"offerId": "555", "marketplaceId": "EBAY_DE", "availableQuantity": 3, "status": "PUBLISHED"},
                                       {"offerId": "556", "marketplaceId": "EBAY_GB", "status": "UNPUBLISHED"}]})");
                        }
                        ++bulk_calls;
                        return on_bulk(r);
                      }};
  std::unique_ptr<EbayAdapter> adapter = std::make_unique<EbayAdapter>(ebay_options(), io, http, clock.clock());
};

TEST_F(AdapterEbay, RefreshesTokenAndSetsBothQuantityLevels) {
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|9876543210", 7)});
  ASSERT_EQ(http.requests.size(), 2u);
  const HttpRequest &tok = http.requests[0];
  EXPECT_EQ(tok.url, "https://api.ebay.com/identity/v1/oauth2/token");
  EXPECT_EQ(find_header(tok.headers, "Authorization").value_or(""), "Basic YXBwOnNlY3JldA==");  // app:secret
  EXPECT_EQ(tok.body, "grant_type=refresh_token&refresh_token=v%5E1.1%23refresh&scope=https%3A%2F%2Fapi.ebay.com%2F"
                      "oauth%2Fapi_scope%2Fsell.inventory");
  const HttpRequest &bulk = http.requests[1];
  EXPECT_EQ(bulk.method, "POST");
  EXPECT_EQ(bulk.url, "https://api.ebay.com/sell/inventory/v1/bulk_update_price_quantity");
  EXPECT_EQ(find_header(bulk.headers, "Authorization").value_or(""), "Bearer v^1.1#t1");
  EXPECT_EQ(json::parse(bulk.body), json::parse(R"({"requests": [
    {"sku": "SKU-1", "shipToLocationAvailability": {"quantity": 7},
     "offers": [{"offerId": "9876543210", "availableQuantity": 7}]}]})"));
  EXPECT_EQ(res["SKU-1|9876543210"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["SKU-1|9876543210"].acked_qty, 7);
}

TEST_F(AdapterEbay, MultiStatus207MapsEachEntry) {
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|1", 3), listing("BAD-2|2", 4), listing("SKU-3|3", 0)});
  EXPECT_EQ(bulk_calls, 1);
  EXPECT_EQ(res["SKU-1|1"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["SKU-3|3"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["SKU-3|3"].acked_qty, 0);
  EXPECT_EQ(res["BAD-2|2"].outcome, PushOutcome::permanent);
  EXPECT_TRUE(contains(res["BAD-2|2"].message, "25702")) << res["BAD-2|2"].message;
}

TEST_F(AdapterEbay, TwentyFiveEntriesPerCall) {
  EXPECT_EQ(adapter->max_batch(), 25u);
  std::vector<ListingPush> batch;
  for (int i = 0; i < 30; ++i)
    batch.push_back(listing("S" + std::to_string(i) + "|" + std::to_string(1000 + i), i));
  auto res = push_and_wait(io, *adapter, batch);
  EXPECT_EQ(bulk_calls, 2);
  for (auto &r : http.requests) {
    if (contains(r.url, "bulk_update")) {
      EXPECT_LE(json::parse(r.body)["requests"].size(), 25u);
    }
  }
  for (auto &[id, r] : res)
    EXPECT_EQ(r.outcome, PushOutcome::acked) << id;
}

TEST_F(AdapterEbay, PlainSkuLooksUpPublishedOffersOnce) {
  push_and_wait(io, *adapter, {listing("SKU-9", 2)});
  push_and_wait(io, *adapter, {listing("SKU-9", 3)});
  EXPECT_EQ(offer_calls, 1);
  const HttpRequest &bulk = http.requests.back();
  EXPECT_EQ(json::parse(bulk.body)["requests"][0]["offers"],
            json::parse(R"([{"offerId": "555", "availableQuantity": 3}])"));
}

TEST_F(AdapterEbay, DefersAfterDailyRevisionLimit) {
  auto o = ebay_options();
  o.revisions_per_day = 2;
  adapter = std::make_unique<EbayAdapter>(o, io, http, clock.clock());
  push_and_wait(io, *adapter, {listing("SKU-1|1", 1)});
  push_and_wait(io, *adapter, {listing("SKU-1|1", 2)});
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|1", 3), listing("SKU-2|2", 3)});
  EXPECT_EQ(bulk_calls, 3);
  EXPECT_EQ(json::parse(http.requests.back().body)["requests"].size(), 1u) << "the capped listing is not sent";
  const PushResult &r = res["SKU-1|1"];
  EXPECT_EQ(r.outcome, PushOutcome::retryable);
  ASSERT_TRUE(r.retry_after);
  // 1795000000 = 2026-11-18T03:06:40 Pacific (UTC-8): next midnight in 75,200 s.
  EXPECT_EQ(*r.retry_after, std::chrono::milliseconds(75200LL * 1000));
  EXPECT_EQ(res["SKU-2|2"].outcome, PushOutcome::acked);
  clock.wall += 75200;  // a new Pacific day
  auto next = push_and_wait(io, *adapter, {listing("SKU-1|1", 4)});
  EXPECT_EQ(next["SKU-1|1"].outcome, PushOutcome::acked);
}

TEST_F(AdapterEbay, RevisionLimitRefusalFromEbayDefers) {
  on_bulk = [](const HttpRequest &) {
    return json_reply(207, R"({"responses": [{"statusCode": 400, "sku": "SKU-1", "offerId": "1",
      "errors": [{"errorId": 25025, "domain": "API_INVENTORY", "category": "REQUEST",
                  "message": "The listing has reached the maximum number of revisions allowed for one day."}],
      "warnings": []}]})");
  };
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|1", 1)});
  EXPECT_EQ(res["SKU-1|1"].outcome, PushOutcome::retryable);
  EXPECT_TRUE(res["SKU-1|1"].retry_after);
  EXPECT_TRUE(adapter->revisions().exhausted("SKU-1|1", clock.wall));
}

TEST_F(AdapterEbay, DailyQuota429IsThrottled) {
  on_bulk = [](const HttpRequest &) {
    return json_reply(429, R"({"errors": [{"errorId": 2001, "domain": "ACCESS", "category": "REQUEST",
      "message": "Too many requests. The request limit has been reached for the resource."}]})");
  };
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|1", 1), listing("SKU-2|2", 1)});
  for (auto &[id, r] : res) {
    EXPECT_EQ(r.outcome, PushOutcome::retryable) << id;
    EXPECT_TRUE(r.throttled);
    EXPECT_TRUE(contains(r.message, "2001"));
  }
}

TEST_F(AdapterEbay, ExpiredToken401RefreshesOnce) {
  push_and_wait(io, *adapter, {listing("SKU-1|1", 1)});
  on_bulk = [](const HttpRequest &r) {
    if (find_header(r.headers, "Authorization").value_or("") == "Bearer v^1.1#t1")
      return json_reply(401, R"({"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST",
                                 "message": "Invalid access token"}]})");
    return bulk_answer(r);
  };
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|1", 2)});
  EXPECT_EQ(res["SKU-1|1"].outcome, PushOutcome::acked);
  EXPECT_EQ(token_calls, 2);
}

TEST(AdapterEbayIds, ParsesListingIds) {
  auto a = parse_ebay_listing_id("SKU-1|9876543210");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->sku, "SKU-1");
  EXPECT_EQ(a->offers, std::vector<std::string>{"9876543210"});
  auto b = parse_ebay_listing_id("SKU-1");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->offers_known);
  EXPECT_EQ(parse_ebay_listing_id("A|1,2")->offers.size(), 2u);
  EXPECT_FALSE(parse_ebay_listing_id("A|x1"));
  EXPECT_FALSE(parse_ebay_listing_id("|1"));
  EXPECT_FALSE(parse_ebay_listing_id(std::string(51, 'a')));
}

// The core keeps at most max_in_flight() push() calls outstanding: the
// adapter must report the configured value (default 4), not the base class's 1.
TEST(AdapterEbayConfig, MaxInFlightDefaultsToFourAndFollowsTheConfig) {
  boost::asio::io_context io;
  FakeHttpClient http{io, bulk_answer};
  AdapterEnv env{io, http};
  ChannelConfig cfg;
  cfg.code = "eb";
  cfg.kind = "ebay";
  cfg.base_url = "https://api.ebay.com";
  cfg.credentials = {{"access_token", "v^1.1#token"}};
  expect_max_in_flight(cfg, env, 4, {1, 2, 10});
}

}  // namespace
}  // namespace stocksync::worker
