// eBay: OAuth, bulkUpdatePriceQuantity (25 cap, 200/207), reads, getOrders, quota (channel-apis.md §3).
#include "helpers.hpp"
#include "timefmt.hpp"

using namespace simtest;

namespace {

const char* kEbayScenario = R"(
[[channels]]
name = "eb"
kind = "ebay"
client_id = "app"
client_secret = "sec"
refresh_token = "v^1.1#r"
daily_quota = 20
revisions_per_day = 3
  [[channels.listings]]
  id = "SKU-1"
  offer_id = "9876543210"
  quantity = 8
  [[channels.listings]]
  id = "SKU-2"
  offer_id = "9876543211"
  quantity = 5
)";

struct Ebay : Harness {
  Ebay() : Harness(kEbayScenario) {}
  std::string token;
  void login() {
    auto r = call("POST", "/ebay/eb/identity/v1/oauth2/token",
                  {{"Authorization", "Basic " + sim::base64_encode("app:sec")},
                   {"Content-Type", "application/x-www-form-urlencoded"}},
                  "grant_type=refresh_token&refresh_token=v%5E1.1%23r&scope=https%3A%2F%2Fapi.ebay.com%2Foauth%2Fapi_scope%2Fsell.inventory");
    ASSERT_EQ(r.status, 200);
    json b = json::parse(r.body);
    EXPECT_EQ(b["expires_in"], 7200);
    token = b["access_token"];
  }
  sim::Response api(const std::string& m, const std::string& path, const std::string& body = {}) {
    return call(m, "/ebay/eb" + path, {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, body);
  }
};

}  // namespace

TEST(SimEbay, BulkUpdateSetsBothLevelsAndShowsMinimum) {
  Ebay e;
  e.login();
  auto r = e.api("POST", "/sell/inventory/v1/bulk_update_price_quantity",
                 R"({"requests": [{"sku": "SKU-1", "shipToLocationAvailability": {"quantity": 7}, "offers": [{"offerId": "9876543210", "availableQuantity": 7}]}]})");
  EXPECT_EQ(r.status, 200);
  json b = json::parse(r.body);
  // One answer per offer, with its offerId; none of its own for the inventory item.
  ASSERT_EQ(b["responses"].size(), 1u);
  EXPECT_EQ(b["responses"][0]["statusCode"], 200);
  EXPECT_EQ(b["responses"][0]["sku"], "SKU-1");
  EXPECT_EQ(b["responses"][0]["offerId"], "9876543210");
  EXPECT_EQ(e.ch("eb").find("SKU-1")->shown, 7);
  // Only one level: the listing keeps showing the old minimum. Without offers
  // the entry is answered once, with the sku and no offerId.
  r = e.api("POST", "/sell/inventory/v1/bulk_update_price_quantity",
            R"({"requests": [{"sku": "SKU-1", "shipToLocationAvailability": {"quantity": 20}}]})");
  b = json::parse(r.body);
  ASSERT_EQ(b["responses"].size(), 1u);
  EXPECT_EQ(b["responses"][0]["statusCode"], 200);
  EXPECT_EQ(b["responses"][0]["sku"], "SKU-1");
  EXPECT_FALSE(b["responses"][0].contains("offerId"));
  EXPECT_EQ(e.ch("eb").find("SKU-1")->shown, 7);
  json offers = json::parse(e.api("GET", "/sell/inventory/v1/offer?sku=SKU-1").body);
  EXPECT_EQ(offers["offers"][0]["availableQuantity"], 7);
  json item = json::parse(e.api("GET", "/sell/inventory/v1/inventory_item/SKU-1").body);
  EXPECT_EQ(item["availability"]["shipToLocationAvailability"]["quantity"], 20);
}

TEST(SimEbay, MixedResultsAre207) {
  Ebay e;
  e.login();
  auto r = e.api("POST", "/sell/inventory/v1/bulk_update_price_quantity",
                 R"({"requests": [{"sku": "SKU-2", "offers": [{"offerId": "9876543211", "availableQuantity": 1}]}, {"sku": "NOPE", "shipToLocationAvailability": {"quantity": 1}}, {"sku": "SKU-1", "offers": [{"offerId": "9876543211", "availableQuantity": 1}]}]})");
  EXPECT_EQ(r.status, 207);
  json b = json::parse(r.body);
  EXPECT_EQ(b["responses"][0]["statusCode"], 200);
  EXPECT_NE(b["responses"][1]["statusCode"], 200);
  EXPECT_FALSE(b["responses"][1]["errors"].empty());
  EXPECT_NE(b["responses"][2]["statusCode"], 200);  // offer of another SKU
  EXPECT_EQ(e.ch("eb").find("SKU-2")->shown, 1);
}


TEST(SimEbay, AtMost25RequestsPerCall) {
  Ebay e;
  e.login();
  json reqs = json::array();
  for (int i = 0; i < 26; ++i) reqs.push_back({{"sku", "SKU-1"}, {"shipToLocationAvailability", {{"quantity", i}}}});
  auto r = e.api("POST", "/sell/inventory/v1/bulk_update_price_quantity", json{{"requests", reqs}}.dump());
  EXPECT_EQ(r.status, 400);
  json b = json::parse(r.body);
  EXPECT_EQ(b["errors"][0]["domain"], "API_INVENTORY");
  EXPECT_TRUE(b["errors"][0]["errorId"].is_number_integer());
  EXPECT_EQ(e.ch("eb").find("SKU-1")->shown, 8);
}

TEST(SimEbay, RevisionsPerDayAreCapped) {
  Ebay e;
  e.login();
  int last = 0;
  for (int i = 0; i < 4; ++i)
    last = e.api("POST", "/sell/inventory/v1/bulk_update_price_quantity",
                 json{{"requests", json::array({{{"sku", "SKU-2"}, {"shipToLocationAvailability", {{"quantity", i}}},
                                                 {"offers", json::array({{{"offerId", "9876543211"}, {"availableQuantity", i}}})}}})}}.dump())
               .status;
  EXPECT_EQ(last, 207);
  EXPECT_EQ(e.ch("eb").find("SKU-2")->shown, 2);
  e.advance(86400);
  e.login();
  EXPECT_EQ(e.api("POST", "/sell/inventory/v1/bulk_update_price_quantity",
                  R"({"requests": [{"sku": "SKU-2", "shipToLocationAvailability": {"quantity": 9}, "offers": [{"offerId": "9876543211", "availableQuantity": 9}]}]})")
                .status,
            200);
}

TEST(SimEbay, AuthFailuresAndDailyQuota) {
  Ebay e;
  auto r = e.call("POST", "/ebay/eb/identity/v1/oauth2/token", {{"Authorization", "Basic " + sim::base64_encode("app:bad")}},
                  "grant_type=refresh_token&refresh_token=x");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["error"], "invalid_client");
  r = e.api("GET", "/sell/inventory/v1/inventory_item/SKU-1");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["errors"][0]["errorId"], 1001);
  e.login();
  e.advance(7201);  // user tokens live two hours
  EXPECT_EQ(e.api("GET", "/sell/inventory/v1/inventory_item/SKU-1").status, 401);
  e.login();
  int ok = 0, throttled = 0;
  for (int i = 0; i < 25; ++i) {
    int st = e.api("GET", "/sell/inventory/v1/inventory_item/SKU-1").status;
    ok += st == 200;
    throttled += st == 429;
  }
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(throttled, 5);
  r = e.api("GET", "/sell/inventory/v1/inventory_item/SKU-1");
  EXPECT_EQ(json::parse(r.body)["errors"][0]["errorId"], 2001);
}

TEST(SimEbay, GetOrdersByLastModified) {
  Ebay e;
  e.login();
  e.call("POST", "/_sim/channels/eb/orders", {}, R"({"listing": "SKU-1", "quantity": 2})");
  e.advance(600);
  e.call("POST", "/_sim/channels/eb/orders", {}, R"({"listing": "SKU-2", "quantity": 1})");
  EXPECT_EQ(e.ch("eb").find("SKU-1")->shown, 6);
  auto r = e.api("GET", "/sell/fulfillment/v1/order?filter=lastmodifieddate:%5B2026-11-22T10:05:00.000Z..%5D&limit=200");
  ASSERT_EQ(r.status, 200);
  json b = json::parse(r.body);
  EXPECT_EQ(b["total"], 1);
  EXPECT_EQ(b["orders"][0]["lineItems"][0]["sku"], "SKU-2");
  EXPECT_EQ(b["orders"][0]["orderFulfillmentStatus"], "NOT_STARTED");
  r = e.api("GET", "/sell/fulfillment/v1/order?filter=lastmodifieddate:%5B2026-11-22T09:00:00.000Z..%5D&limit=1");
  b = json::parse(r.body);
  EXPECT_EQ(b["total"], 2);
  EXPECT_EQ(b["orders"].size(), 1u);
  EXPECT_TRUE(b.contains("next"));
  r = e.api("GET", "/sell/fulfillment/v1/order?limit=201");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["errors"][0]["errorId"], 31100);
  r = e.api("GET", "/sell/fulfillment/v1/order?filter=foo:%5Bx..%5D");
  EXPECT_EQ(json::parse(r.body)["errors"][0]["errorId"], 30700);
}

namespace {

const char* kEbayOffersScenario = R"(
[[channels]]
name = "eb"
kind = "ebay"
client_id = "app"
client_secret = "sec"
refresh_token = "v^1.1#r"
  [channels.faults]
  refused_offers = ["333"]
  [[channels.listings]]
  id = "SKU-1"
  offer_id = "111"
  other_offer_ids = ["222"]
  quantity = 8
  [[channels.listings]]
  id = "SKU-3"
  offer_id = "333"
  quantity = 4
)";

struct EbayOffers : Ebay {
  explicit EbayOffers(const std::string& toml = kEbayOffersScenario, double start = kStart) {
    clock->set(start);
    sim = std::make_unique<sim::Sim>(sim::parse_scenario(toml), clock);
  }
  sim::Response push(const std::string& sku, const std::vector<std::string>& offers, int q) {
    json entry = {{"sku", sku}, {"shipToLocationAvailability", {{"quantity", q}}}, {"offers", json::array()}};
    for (auto& o : offers) entry["offers"].push_back({{"offerId", o}, {"availableQuantity", q}});
    return api("POST", "/sell/inventory/v1/bulk_update_price_quantity", json{{"requests", json::array({entry})}}.dump());
  }
};

}  // namespace

// A SKU with two offers: one answer per offer (none for the inventory item),
// and getOffers lists both.
TEST(SimEbay, AnswersEachOfferOfAnEntry) {
  EbayOffers e;
  e.login();
  json offers = json::parse(e.api("GET", "/sell/inventory/v1/offer?sku=SKU-1").body);
  ASSERT_EQ(offers["offers"].size(), 2u);
  EXPECT_EQ(offers["offers"][1]["offerId"], "222");
  auto r = e.push("SKU-1", {"111", "222"}, 5);
  EXPECT_EQ(r.status, 200);
  json b = json::parse(r.body);
  ASSERT_EQ(b["responses"].size(), 2u);
  EXPECT_EQ(b["responses"][0]["offerId"], "111");
  EXPECT_EQ(b["responses"][1]["offerId"], "222");
  for (auto& resp : b["responses"]) {
    EXPECT_EQ(resp["statusCode"], 200);
    EXPECT_EQ(resp["sku"], "SKU-1");
  }
  EXPECT_EQ(e.ch("eb").find("SKU-1")->other_offers.at("222"), 5);
  EXPECT_EQ(e.ch("eb").find("SKU-1")->shown, 5);
  EXPECT_EQ(e.ch("eb").find("SKU-1")->revisions_today, 1);  // one revision for the entry
  EXPECT_EQ(json::parse(e.api("GET", "/sell/inventory/v1/offer/222").body)["availableQuantity"], 5);
}

// An offer refused through /_sim (or faults.refused_offers) fails alone: the
// other offer and the inventory item are applied, the refused one keeps its
// old quantity, and the answer is a 207.
TEST(SimEbay, OneOfferRefusedOnDemand) {
  EbayOffers e;
  e.login();
  auto c = e.call("POST", "/_sim/channels/eb/offers/222/refuse", {}, R"({"active": true})");
  ASSERT_EQ(c.status, 200);
  auto r = e.push("SKU-1", {"111", "222"}, 5);
  EXPECT_EQ(r.status, 207);
  json b = json::parse(r.body);
  ASSERT_EQ(b["responses"].size(), 2u);
  EXPECT_EQ(b["responses"][0]["statusCode"], 200);
  EXPECT_EQ(b["responses"][0]["offerId"], "111");
  EXPECT_EQ(b["responses"][1]["statusCode"], 400);
  EXPECT_EQ(b["responses"][1]["offerId"], "222");
  EXPECT_EQ(b["responses"][1]["errors"][0]["errorId"], 25713);
  const sim::Listing& l = *e.ch("eb").find("SKU-1");
  EXPECT_EQ(l.offer_quantity, 5);
  EXPECT_EQ(l.total_quantity, 5);
  EXPECT_EQ(l.other_offers.at("222"), 8);
  // A 5xx refusal answers errorId 25001; switched off, the offer is applied.
  EXPECT_EQ(e.call("POST", "/_sim/channels/eb/offers/222/refuse", {}, R"({"active": true, "status": 500})").status, 200);
  b = json::parse(e.push("SKU-1", {"111", "222"}, 4).body);
  EXPECT_EQ(b["responses"][1]["statusCode"], 500);
  EXPECT_EQ(b["responses"][1]["errors"][0]["errorId"], 25001);
  EXPECT_EQ(e.call("POST", "/_sim/channels/eb/offers/222/refuse", {}, R"({"status": 302})").status, 400);
  e.call("POST", "/_sim/channels/eb/offers/222/refuse", {}, R"({"active": false})");
  EXPECT_EQ(e.push("SKU-1", {"111", "222"}, 3).status, 200);
  EXPECT_EQ(e.ch("eb").find("SKU-1")->other_offers.at("222"), 3);
  // From the scenario: offer 333 is refused, SKU-3's total still changes.
  r = e.push("SKU-3", {"333"}, 1);
  EXPECT_EQ(r.status, 207);
  b = json::parse(r.body);
  ASSERT_EQ(b["responses"].size(), 1u);
  EXPECT_EQ(b["responses"][0]["statusCode"], 400);
  EXPECT_EQ(b["responses"][0]["offerId"], "333");
  EXPECT_EQ(e.ch("eb").find("SKU-3")->total_quantity, 1);
  EXPECT_EQ(e.ch("eb").find("SKU-3")->offer_quantity, 4);
  EXPECT_EQ(e.ch("eb").find("SKU-3")->shown, 1);  // min(1, 4)
}

// What concerns the whole entry is answered on each of its offers, and
// nothing of the entry is applied: an invalid total, the daily revision limit.
TEST(SimEbay, EntryErrorsAreAnsweredOnEveryOffer) {
  EbayOffers e;
  e.login();
  auto r = e.api("POST", "/sell/inventory/v1/bulk_update_price_quantity",
                 R"({"requests": [{"sku": "SKU-1", "shipToLocationAvailability": {"quantity": -1}, "offers": [{"offerId": "111", "availableQuantity": 2}, {"offerId": "222", "availableQuantity": 2}]}]})");
  EXPECT_EQ(r.status, 207);
  json b = json::parse(r.body);
  ASSERT_EQ(b["responses"].size(), 2u);
  for (auto& resp : b["responses"]) {
    EXPECT_EQ(resp["statusCode"], 400);
    EXPECT_EQ(resp["errors"][0]["errorId"], 25709);
  }
  EXPECT_EQ(e.ch("eb").find("SKU-1")->offer_quantity, 8);
  EXPECT_EQ(e.ch("eb").find("SKU-1")->revisions_today, 0);
  // An unknown SKU: 404 on each offer.
  b = json::parse(e.push("NOPE", {"111", "222"}, 1).body);
  ASSERT_EQ(b["responses"].size(), 2u);
  EXPECT_EQ(b["responses"][1]["statusCode"], 404);
  EXPECT_EQ(b["responses"][1]["offerId"], "222");
  EXPECT_EQ(b["responses"][1]["errors"][0]["errorId"], 25702);
}

// eBay's day is the US Pacific day: PST (UTC-8), PDT (UTC-7) from the second
// Sunday of March 02:00 to the first Sunday of November 02:00.
TEST(SimEbay, PacificDayFollowsDaylightSavingTime) {
  EXPECT_EQ(sim::pacific_utc_offset_s(1772963999), -28800);  // 2026-03-08T01:59:59-08:00
  EXPECT_EQ(sim::pacific_utc_offset_s(1772964000), -25200);  // 2026-03-08T03:00:00-07:00
  EXPECT_EQ(sim::pacific_utc_offset_s(1793523599), -25200);  // 2026-11-01T01:59:59-07:00
  EXPECT_EQ(sim::pacific_utc_offset_s(1793523600), -28800);  // 2026-11-01T01:00:00-08:00
  EXPECT_EQ(sim::pacific_utc_offset_s(1741514399), -28800);  // 2025-03-09T01:59:59-08:00
  EXPECT_EQ(sim::pacific_utc_offset_s(1741514400), -25200);
  EXPECT_EQ(sim::pacific_utc_offset_s(1730624399), -25200);  // 2024-11-03T01:59:59-07:00
  EXPECT_EQ(sim::pacific_utc_offset_s(1730624400), -28800);
  // 2026-07-02 starts at 07:00 UTC; 2026-11-23 at 08:00 UTC.
  EXPECT_EQ(sim::pacific_day(1782975600) - sim::pacific_day(1782975599), 1);
  EXPECT_EQ(sim::pacific_day(1795420800) - sim::pacific_day(1795420799), 1);
  EXPECT_EQ(sim::pacific_day(1782975600), 20636);
}

// The daily revision limit ends at Pacific midnight, which in summer is 07:00
// UTC (the previous build held the listing until 08:00 UTC). Every offer of a
// capped entry is refused with 25025, and nothing of it is applied.
TEST(SimEbay, RevisionLimitResetsAtPacificMidnightInSummer) {
  std::string toml = kEbayOffersScenario;
  toml.insert(toml.find("  [channels.faults]"), "revisions_per_day = 1\n");
  EbayOffers e(toml, 1782973800);  // 2026-07-01T06:30:00Z = 23:30 PDT
  e.login();
  EXPECT_EQ(e.push("SKU-1", {"111", "222"}, 5).status, 200);
  auto r = e.push("SKU-1", {"111", "222"}, 4);
  EXPECT_EQ(r.status, 207);
  json b = json::parse(r.body);
  ASSERT_EQ(b["responses"].size(), 2u);
  for (auto& resp : b["responses"]) EXPECT_EQ(resp["errors"][0]["errorId"], 25025);
  EXPECT_EQ(e.ch("eb").find("SKU-1")->total_quantity, 5);
  e.advance(1799);  // 06:59:59Z, still 23:59:59 PDT
  EXPECT_EQ(e.push("SKU-1", {"111", "222"}, 4).status, 207);
  e.advance(1);  // 07:00:00Z = 00:00 PDT
  EXPECT_EQ(e.push("SKU-1", {"111", "222"}, 4).status, 200);
  EXPECT_EQ(e.ch("eb").find("SKU-1")->shown, 4);
}
