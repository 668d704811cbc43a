// eBay adapter against a scripted HttpClient: the OAuth refresh request, the
// bulkUpdatePriceQuantity shape (both quantity levels), 200/207 per-entry
// mapping, offer lookup for plain SKUs, the 25-entry cap, 250 revisions a day,
// the daily quota 429 and a 401 token expiry, the per-offer answers gathered per
// listing, and the Pacific day with daylight saving time. Bodies as channel-apis.md §3.
#include "adapter_test_support.hpp"
#include "adapters/ebay.hpp"
#include "fake_http_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <ctime>
#include <unistd.h>

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

// Answers as eBay documents (PriceQuantityResponse): one response per offer of
// an entry, with its offerId; an entry without offers once, with the sku and
// no offerId. Every part 200, except for SKUs starting with "BAD" (400, 25702).
HttpResponse bulk_answer(const HttpRequest &r) {
  json req = json::parse(r.body);
  json responses = json::array();
  bool all_ok = true;
  for (auto &e : req["requests"]) {
    std::string sku = e["sku"];
    std::vector<std::string> parts;  // offer ids; "" for an entry without offers
    for (auto &o : e.value("offers", json::array()))
      parts.push_back(o["offerId"]);
    if (parts.empty())
      parts.push_back("");
    for (const auto &offer : parts) {
      json resp = {{"statusCode", 200}, {"sku", sku}, {"errors", json::array()}, {"warnings", json::array()}};
      if (!offer.empty())
        resp["offerId"] = offer;
      if (sku.rfind("BAD", 0) == 0) {
        all_ok = false;
        resp["statusCode"] = 400;
        resp["errors"] = json::array({{{"errorId", 25702}, {"domain", "API_INVENTORY"}, {"category", "REQUEST"},
                                       {"message", "The SKU " + sku + " is not available in the system."}}});
      }
      responses.push_back(resp);
    }
  }
  return json_reply(all_ok ? 200 : 207, json{{"responses", responses}}.dump());
}

// One PriceQuantityResponse.
json part(int status, const std::string &sku, const std::string &offer, long long error_id = 0) {
  json r = {{"statusCode", status}, {"sku", sku}, {"errors", json::array()}, {"warnings", json::array()}};
  if (!offer.empty())
    r["offerId"] = offer;
  if (error_id)
    r["errors"].push_back({{"errorId", error_id}, {"domain", "API_INVENTORY"}, {"category", "REQUEST"},
                           {"message", "error " + std::to_string(error_id)}});
  return r;
}

struct AdapterEbay : ::testing::Test {
  boost::asio::io_context io;
  FakeClock clock;
  int token_calls = 0, bulk_calls = 0, offer_calls = 0;
  std::function<HttpResponse(const HttpRequest &)> on_bulk = bulk_answer;
  std::string offer_answer = R"({"href": "x", "limit": 25, "size": 1, "total": 1,
    "offers": [{"offerId": "555", "marketplaceId": "EBAY_DE", "availableQuantity": 3, "status": "PUBLISHED"},
               {"offerId": "556", "marketplaceId": "EBAY_GB", "status": "UNPUBLISHED"}]})";
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
                          return json_reply(200, offer_answer);
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

// eBay answers each offer of an entry on its own. Offer 222 of a two-offer
// listing refused (25713) while offer 111 was applied: the listing is not
// acknowledged (the previous build looked at the first offer's answer only
// and acknowledged it).
TEST_F(AdapterEbay, OneRefusedOfferOfAnEntryIsNotAcknowledged) {
  on_bulk = [](const HttpRequest &) {
    return json_reply(207, json{{"responses", {part(200, "SKU-1", "111"), part(400, "SKU-1", "222", 25713)}}}.dump());
  };
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|111,222", 4)});
  const PushResult &r = res["SKU-1|111,222"];
  EXPECT_EQ(r.outcome, PushOutcome::permanent) << r.message;
  EXPECT_TRUE(contains(r.message, "offer 222") && contains(r.message, "25713")) << r.message;
  EXPECT_FALSE(contains(r.message, "offer 111")) << r.message;
  // eBay revised the listing (offer 111): the revision counts.
  EXPECT_EQ(adapter->revisions().count("SKU-1|111,222", clock.wall), 1);
}

// The same in either order of the answers, and with an answer for the
// inventory item beside the offers (not documented; taken into account).
TEST_F(AdapterEbay, RefusedOfferIsNotAcknowledgedInEitherOrder) {
  for (bool refused_first : {false, true})
    for (bool item_answer : {false, true}) {
      on_bulk = [refused_first, item_answer](const HttpRequest &) {
        json ok = part(200, "SKU-1", "111"), bad = part(400, "SKU-1", "222", 25713);
        json rs = refused_first ? json::array({bad, ok}) : json::array({ok, bad});
        if (item_answer)
          rs.push_back(part(200, "SKU-1", ""));
        return json_reply(207, json{{"responses", rs}}.dump());
      };
      auto res = push_and_wait(io, *adapter, {listing("SKU-1|111,222", 4)});
      EXPECT_EQ(res["SKU-1|111,222"].outcome, PushOutcome::permanent) << refused_first << item_answer;
    }
}

// A refused offer whose refusal is retryable (5xx) leaves the listing to be
// retried, not acknowledged, and "maybe applied" (the other offer was).
TEST_F(AdapterEbay, RetryableRefusalOfOneOfferIsRetried) {
  on_bulk = [](const HttpRequest &) {
    return json_reply(207, json{{"responses", {part(200, "SKU-1", "111"), part(500, "SKU-1", "222", 25001)}}}.dump());
  };
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|111,222", 4)});
  const PushResult &r = res["SKU-1|111,222"];
  EXPECT_EQ(r.outcome, PushOutcome::retryable) << r.message;
  EXPECT_FALSE(r.throttled);
  EXPECT_TRUE(r.maybe_applied);
  EXPECT_FALSE(r.retry_after);
  EXPECT_TRUE(contains(r.message, "offer 222") && contains(r.message, "25001")) << r.message;
}

// An entry without offers is answered once, without offerId; its refusal
// counts, and so does one for the inventory item sent beside offers.
TEST_F(AdapterEbay, RefusedInventoryItemIsNotAcknowledged) {
  on_bulk = [](const HttpRequest &) {
    return json_reply(207, json{{"responses", {part(500, "SKU-2", "", 25001)}}}.dump());
  };
  offer_answer = R"({"href": "x", "limit": 25, "size": 0, "total": 0, "offers": []})";
  auto res = push_and_wait(io, *adapter, {listing("SKU-2", 4)});
  EXPECT_EQ(json::parse(http.requests.back().body)["requests"][0].contains("offers"), false);
  EXPECT_EQ(res["SKU-2"].outcome, PushOutcome::retryable) << res["SKU-2"].message;
  EXPECT_TRUE(contains(res["SKU-2"].message, "inventory item")) << res["SKU-2"].message;

  on_bulk = [](const HttpRequest &) {
    return json_reply(207, json{{"responses", {part(200, "SKU-1", "111"), part(400, "SKU-1", "", 25709)}}}.dump());
  };
  res = push_and_wait(io, *adapter, {listing("SKU-1|111", 4)});
  EXPECT_EQ(res["SKU-1|111"].outcome, PushOutcome::permanent) << res["SKU-1|111"].message;
}

// The worst part decides: a retryable 5xx beside a permanent 4xx is
// permanent; a 5xx beside a 200 is retryable; the revision limit on one offer
// defers the listing to the next Pacific day; a 429 on one offer is throttled.
TEST_F(AdapterEbay, WorstPartDecides) {
  on_bulk = [](const HttpRequest &) {
    return json_reply(207, json{{"responses",
                                 {part(500, "A", "1", 25001), part(400, "A", "2", 25713), part(200, "B", "3"),
                                  part(503, "B", "4", 25001), part(200, "C", "5"), part(400, "C", "6", 25025),
                                  part(200, "D", "7"), part(429, "D", "8", 2001)}}}
                               .dump());
  };
  auto res = push_and_wait(io, *adapter,
                           {listing("A|1,2", 1), listing("B|3,4", 1), listing("C|5,6", 1), listing("D|7,8", 1)});
  EXPECT_EQ(res["A|1,2"].outcome, PushOutcome::permanent) << res["A|1,2"].message;
  EXPECT_TRUE(contains(res["A|1,2"].message, "offer 1") && contains(res["A|1,2"].message, "offer 2"));
  EXPECT_EQ(res["B|3,4"].outcome, PushOutcome::retryable) << res["B|3,4"].message;
  EXPECT_FALSE(res["B|3,4"].retry_after);
  EXPECT_EQ(res["C|5,6"].outcome, PushOutcome::retryable) << res["C|5,6"].message;
  ASSERT_TRUE(res["C|5,6"].retry_after);
  EXPECT_EQ(*res["C|5,6"].retry_after, std::chrono::milliseconds(75260LL * 1000));  // 00:01 PST
  EXPECT_TRUE(adapter->revisions().exhausted("C|5,6", clock.wall));
  EXPECT_EQ(res["D|7,8"].outcome, PushOutcome::retryable) << res["D|7,8"].message;
  EXPECT_TRUE(res["D|7,8"].throttled);
}

// An offer eBay did not answer for may or may not have been applied: retry.
TEST_F(AdapterEbay, MissingOfferAnswerIsRetryable) {
  on_bulk = [](const HttpRequest &) {
    return json_reply(200, json{{"responses", {part(200, "SKU-1", "111")}}}.dump());
  };
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|111,222", 4)});
  const PushResult &r = res["SKU-1|111,222"];
  EXPECT_EQ(r.outcome, PushOutcome::retryable) << r.message;
  EXPECT_TRUE(r.maybe_applied);
  EXPECT_TRUE(contains(r.message, "offer 222")) << r.message;
}

// An offer's answer is found by its offerId; a missing sku does not lose it,
// another SKU's answer with the same offerId is not taken.
TEST_F(AdapterEbay, OfferAnswersAreFoundByOfferId) {
  on_bulk = [](const HttpRequest &) {
    json no_sku = part(400, "", "222", 25713);
    no_sku.erase("sku");
    return json_reply(207, json{{"responses", {part(200, "OTHER", "111"), no_sku, part(200, "SKU-1", "111")}}}.dump());
  };
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|111,222", 4)});
  const PushResult &r = res["SKU-1|111,222"];
  EXPECT_EQ(r.outcome, PushOutcome::permanent) << r.message;
  EXPECT_TRUE(contains(r.message, "offer 222")) << r.message;
  EXPECT_FALSE(contains(r.message, "offer 111")) << r.message;
}

// Two listings of one SKU in one call: each takes its own offers' answers and
// one inventory item answer.
TEST_F(AdapterEbay, ListingsSharingASkuTakeTheirOwnAnswers) {
  on_bulk = [](const HttpRequest &) {
    return json_reply(207, json{{"responses", {part(200, "S", "1"), part(400, "S", "2", 25713)}}}.dump());
  };
  auto res = push_and_wait(io, *adapter, {listing("S|1", 1), listing("S|2", 1)});
  EXPECT_EQ(res["S|1"].outcome, PushOutcome::acked) << res["S|1"].message;
  EXPECT_EQ(res["S|2"].outcome, PushOutcome::permanent) << res["S|2"].message;
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

// A plain SKU's offers are cached; when eBay refuses a cached offer (ended,
// relisted under a new id), the offers are looked up again and the push
// retried, instead of failing that listing for good.
TEST_F(AdapterEbay, RefusedCachedOfferIsLookedUpAgain) {
  EXPECT_EQ(push_and_wait(io, *adapter, {listing("SKU-9", 2)})["SKU-9"].outcome, PushOutcome::acked);
  offer_answer = R"({"total": 1, "offers": [{"offerId": "777", "marketplaceId": "EBAY_DE", "status": "PUBLISHED"}]})";
  on_bulk = [](const HttpRequest &r) {
    json req = json::parse(r.body);
    std::string offer = req["requests"][0]["offers"][0]["offerId"];
    if (offer == "555")  // ended
      return json_reply(207, json{{"responses", {part(400, "SKU-9", "555", 25713)}}}.dump());
    return bulk_answer(r);
  };
  auto stale = push_and_wait(io, *adapter, {listing("SKU-9", 3)})["SKU-9"];
  EXPECT_EQ(stale.outcome, PushOutcome::retryable) << stale.message;
  EXPECT_TRUE(contains(stale.message, "25713")) << stale.message;
  EXPECT_EQ(offer_calls, 1);
  auto fresh = push_and_wait(io, *adapter, {listing("SKU-9", 3)})["SKU-9"];
  EXPECT_EQ(offer_calls, 2);
  EXPECT_EQ(fresh.outcome, PushOutcome::acked) << fresh.message;
  EXPECT_EQ(json::parse(http.requests.back().body)["requests"][0]["offers"],
            json::parse(R"([{"offerId": "777", "availableQuantity": 3}])"));
  // A refusal of offers just looked up is permanent as before.
  offer_answer = R"({"total": 1, "offers": [{"offerId": "555", "status": "PUBLISHED"}]})";
  on_bulk = [](const HttpRequest &) {
    return json_reply(207, json{{"responses", {part(400, "SKU-8", "555", 25713)}}}.dump());
  };
  EXPECT_EQ(push_and_wait(io, *adapter, {listing("SKU-8", 1)})["SKU-8"].outcome, PushOutcome::permanent);
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
  // 1795000000 = 2026-11-18T03:06:40 Pacific (UTC-8): next midnight in 75,200 s,
  // and the count starts over a minute later.
  EXPECT_EQ(*r.retry_after, std::chrono::milliseconds(75260LL * 1000));
  EXPECT_EQ(res["SKU-2|2"].outcome, PushOutcome::acked);
  clock.wall += 75200;  // Pacific midnight: not yet
  EXPECT_EQ(push_and_wait(io, *adapter, {listing("SKU-1|1", 4)})["SKU-1|1"].outcome, PushOutcome::retryable);
  EXPECT_EQ(bulk_calls, 3);
  clock.wall += 60;  // 00:01 PST
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

// In daylight saving time the Pacific day starts at 07:00 UTC: a listing at
// its limit is deferred to then, not to 08:00 UTC (the previous build).
TEST_F(AdapterEbay, DefersToPacificMidnightInSummer) {
  auto o = ebay_options();
  o.revisions_per_day = 1;
  adapter = std::make_unique<EbayAdapter>(o, io, http, clock.clock());
  clock.wall = 1782907200;  // 2026-07-01T12:00:00Z = 05:00 PDT
  push_and_wait(io, *adapter, {listing("SKU-1|1", 1)});
  auto res = push_and_wait(io, *adapter, {listing("SKU-1|1", 2)});
  ASSERT_TRUE(res["SKU-1|1"].retry_after);
  // 2026-07-02T07:01:00Z: Pacific midnight and the minute's margin.
  EXPECT_EQ(*res["SKU-1|1"].retry_after, std::chrono::milliseconds(68460LL * 1000));
  clock.wall += 68460;
  EXPECT_EQ(push_and_wait(io, *adapter, {listing("SKU-1|1", 3)})["SKU-1|1"].outcome, PushOutcome::acked);
}

// US Pacific offsets on both sides of both transitions (values from tzdata's
// America/Los_Angeles), in 2024 (leap year), 2025 and 2026.
TEST(AdapterEbayPacificDay, OffsetAroundTheTransitions) {
  struct Case {
    std::int64_t t;
    std::int64_t offset;
    std::int64_t to_midnight;
  };
  const Case cases[] = {
      {1772963999, -28800, 75601},  // 2026-03-08T01:59:59-08:00
      {1772964000, -25200, 75600},  // 2026-03-08T03:00:00-07:00 (a 23-hour day)
      {1793523599, -25200, 82801},  // 2026-11-01T01:59:59-07:00
      {1793523600, -28800, 82800},  // 2026-11-01T01:00:00-08:00 (a 25-hour day)
      {1741514399, -28800, 75601},  // 2025-03-09T01:59:59-08:00
      {1741514400, -25200, 75600},  // 2025-03-09T03:00:00-07:00
      {1762073999, -25200, 82801},  // 2025-11-02T01:59:59-07:00
      {1762074000, -28800, 82800},  // 2025-11-02T01:00:00-08:00
      {1710064799, -28800, 75601},  // 2024-03-10T01:59:59-08:00
      {1710064800, -25200, 75600},  // 2024-03-10T03:00:00-07:00
      {1730624399, -25200, 82801},  // 2024-11-03T01:59:59-07:00
      {1730624400, -28800, 82800},  // 2024-11-03T01:00:00-08:00
      {1795000000, -28800, 75200},  // 2026-11-18T03:06:40-08:00
      {1782907200, -25200, 68400},  // 2026-07-01T05:00:00-07:00
      {1767254399, -28800, 1},      // 2025-12-31T23:59:59-08:00 (a new year)
  };
  for (const auto &c : cases) {
    EXPECT_EQ(EbayRevisionCounter::pacific_utc_offset_s(c.t), c.offset) << c.t;
    EXPECT_EQ(EbayRevisionCounter::seconds_to_next_day(c.t), c.to_midnight) << c.t;
    // The next midnight starts a new day, one second before it does not.
    std::int64_t midnight = c.t + c.to_midnight;
    EXPECT_EQ(EbayRevisionCounter::pacific_day(midnight), EbayRevisionCounter::pacific_day(c.t) + 1) << c.t;
    EXPECT_EQ(EbayRevisionCounter::pacific_day(midnight - 1), EbayRevisionCounter::pacific_day(c.t)) << c.t;
  }
  // The day number is the local date's (days since 1970-01-01): 2026-07-01,
  // day 20635, starts at 07:00 UTC.
  EXPECT_EQ(EbayRevisionCounter::pacific_day(1782889200), 20635);  // 2026-07-01T07:00:00Z, 00:00 PDT
  EXPECT_EQ(EbayRevisionCounter::pacific_day(1782889199), 20634);  // 23:59:59 PDT the day before
}

// Noon and 23:00 the day before each transition, midnight and noon of its
// day, midnight and noon the day after (tzdata's America/Los_Angeles, 2024 to
// 2027): offset, seconds to the next midnight (23- and 25-hour days) and the
// day number (days since 1970-01-01 of the local date).
TEST(AdapterEbayPacificDay, DaysAroundTheTransitions) {
  struct Case {
    std::int64_t t, offset, to_midnight;
    long long day;
  };
  const Case cases[] = {
      {1710014400, -28800, 43200, 19791},  // 2024-03-09T12:00:00-08:00
      {1710054000, -28800, 3600, 19791},  // 2024-03-09T23:00:00-08:00
      {1710057600, -28800, 82800, 19792},  // 2024-03-10T00:00:00-08:00
      {1710097200, -25200, 43200, 19792},  // 2024-03-10T12:00:00-07:00
      {1710140400, -25200, 86400, 19793},  // 2024-03-11T00:00:00-07:00
      {1710183600, -25200, 43200, 19793},  // 2024-03-11T12:00:00-07:00
      {1730574000, -25200, 43200, 20029},  // 2024-11-02T12:00:00-07:00
      {1730613600, -25200, 3600, 20029},  // 2024-11-02T23:00:00-07:00
      {1730617200, -25200, 90000, 20030},  // 2024-11-03T00:00:00-07:00
      {1730664000, -28800, 43200, 20030},  // 2024-11-03T12:00:00-08:00
      {1730707200, -28800, 86400, 20031},  // 2024-11-04T00:00:00-08:00
      {1730750400, -28800, 43200, 20031},  // 2024-11-04T12:00:00-08:00
      {1741464000, -28800, 43200, 20155},  // 2025-03-08T12:00:00-08:00
      {1741503600, -28800, 3600, 20155},  // 2025-03-08T23:00:00-08:00
      {1741507200, -28800, 82800, 20156},  // 2025-03-09T00:00:00-08:00
      {1741546800, -25200, 43200, 20156},  // 2025-03-09T12:00:00-07:00
      {1741590000, -25200, 86400, 20157},  // 2025-03-10T00:00:00-07:00
      {1741633200, -25200, 43200, 20157},  // 2025-03-10T12:00:00-07:00
      {1762023600, -25200, 43200, 20393},  // 2025-11-01T12:00:00-07:00
      {1762063200, -25200, 3600, 20393},  // 2025-11-01T23:00:00-07:00
      {1762066800, -25200, 90000, 20394},  // 2025-11-02T00:00:00-07:00
      {1762113600, -28800, 43200, 20394},  // 2025-11-02T12:00:00-08:00
      {1762156800, -28800, 86400, 20395},  // 2025-11-03T00:00:00-08:00
      {1762200000, -28800, 43200, 20395},  // 2025-11-03T12:00:00-08:00
      {1772913600, -28800, 43200, 20519},  // 2026-03-07T12:00:00-08:00
      {1772953200, -28800, 3600, 20519},  // 2026-03-07T23:00:00-08:00
      {1772956800, -28800, 82800, 20520},  // 2026-03-08T00:00:00-08:00
      {1772996400, -25200, 43200, 20520},  // 2026-03-08T12:00:00-07:00
      {1773039600, -25200, 86400, 20521},  // 2026-03-09T00:00:00-07:00
      {1773082800, -25200, 43200, 20521},  // 2026-03-09T12:00:00-07:00
      {1793473200, -25200, 43200, 20757},  // 2026-10-31T12:00:00-07:00
      {1793512800, -25200, 3600, 20757},  // 2026-10-31T23:00:00-07:00
      {1793516400, -25200, 90000, 20758},  // 2026-11-01T00:00:00-07:00
      {1793563200, -28800, 43200, 20758},  // 2026-11-01T12:00:00-08:00
      {1793606400, -28800, 86400, 20759},  // 2026-11-02T00:00:00-08:00
      {1793649600, -28800, 43200, 20759},  // 2026-11-02T12:00:00-08:00
      {1804968000, -28800, 43200, 20890},  // 2027-03-13T12:00:00-08:00
      {1805007600, -28800, 3600, 20890},  // 2027-03-13T23:00:00-08:00
      {1805011200, -28800, 82800, 20891},  // 2027-03-14T00:00:00-08:00
      {1805050800, -25200, 43200, 20891},  // 2027-03-14T12:00:00-07:00
      {1805094000, -25200, 86400, 20892},  // 2027-03-15T00:00:00-07:00
      {1805137200, -25200, 43200, 20892},  // 2027-03-15T12:00:00-07:00
      {1825527600, -25200, 43200, 21128},  // 2027-11-06T12:00:00-07:00
      {1825567200, -25200, 3600, 21128},  // 2027-11-06T23:00:00-07:00
      {1825570800, -25200, 90000, 21129},  // 2027-11-07T00:00:00-07:00
      {1825617600, -28800, 43200, 21129},  // 2027-11-07T12:00:00-08:00
      {1825660800, -28800, 86400, 21130},  // 2027-11-08T00:00:00-08:00
      {1825704000, -28800, 43200, 21130},  // 2027-11-08T12:00:00-08:00
  };
  for (const auto &c : cases) {
    EXPECT_EQ(EbayRevisionCounter::pacific_utc_offset_s(c.t), c.offset) << c.t;
    EXPECT_EQ(EbayRevisionCounter::seconds_to_next_day(c.t), c.to_midnight) << c.t;
    EXPECT_EQ(EbayRevisionCounter::pacific_day(c.t), c.day) << c.t;
    EXPECT_EQ(EbayRevisionCounter::pacific_day(c.t + c.to_midnight), c.day + 1) << c.t;
    EXPECT_EQ(EbayRevisionCounter::pacific_day(c.t + c.to_midnight - 1), c.day) << c.t;
  }
}

// Every quarter hour of 2020 to 2030 against the system's time zone database,
// when it has America/Los_Angeles.
TEST(AdapterEbayPacificDay, AgreesWithTheTimeZoneDatabase) {
  if (access("/usr/share/zoneinfo/America/Los_Angeles", R_OK) != 0)
    GTEST_SKIP() << "no tzdata for America/Los_Angeles";
  const char *old_tz = std::getenv("TZ");
  std::string saved = old_tz ? old_tz : "";
  setenv("TZ", ":America/Los_Angeles", 1);
  tzset();
  int mismatches = 0;
  for (std::int64_t t = 1577836800; t < 1924992000 && mismatches < 5; t += 900) {  // 2020-01-01..2031-01-01
    time_t tt = static_cast<time_t>(t);
    struct tm local {};
    localtime_r(&tt, &local);
    struct tm date {};
    date.tm_year = local.tm_year;
    date.tm_mon = local.tm_mon;
    date.tm_mday = local.tm_mday;
    long long day = static_cast<long long>(timegm(&date) / 86400);
    if (EbayRevisionCounter::pacific_utc_offset_s(t) != local.tm_gmtoff || EbayRevisionCounter::pacific_day(t) != day) {
      ++mismatches;
      ADD_FAILURE() << t << ": offset " << EbayRevisionCounter::pacific_utc_offset_s(t) << " vs " << local.tm_gmtoff
                    << ", day " << EbayRevisionCounter::pacific_day(t) << " vs " << day;
    }
  }
  if (old_tz)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
}

// A counter at its limit in the evening of the spring-forward day starts over
// a minute after the next local midnight (07:00 UTC), one hour earlier than at
// UTC-8.
TEST(AdapterEbayPacificDay, CounterResetsAfterLocalMidnight) {
  EbayRevisionCounter c(1);
  std::int64_t evening = 1772964000 + 18 * 3600;  // 2026-03-08T21:00:00-07:00
  c.add("L", evening);
  EXPECT_TRUE(c.exhausted("L", evening));
  std::int64_t midnight = evening + EbayRevisionCounter::seconds_to_next_day(evening);
  EXPECT_EQ(midnight, 1773039600);  // 2026-03-09T07:00:00Z
  EXPECT_EQ(evening + EbayRevisionCounter::seconds_to_reset(evening), midnight + 60);
  EXPECT_TRUE(c.exhausted("L", midnight));
  EXPECT_EQ(EbayRevisionCounter::seconds_to_reset(midnight), 60);
  EXPECT_TRUE(c.exhausted("L", midnight + 59));
  EXPECT_FALSE(c.exhausted("L", midnight + 60));
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
