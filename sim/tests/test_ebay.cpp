// eBay: OAuth, bulkUpdatePriceQuantity (25 cap, 200/207), reads, getOrders, quota (channel-apis.md §3).
#include "helpers.hpp"

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
  EXPECT_EQ(b["responses"][0]["statusCode"], 200);
  EXPECT_EQ(b["responses"][0]["sku"], "SKU-1");
  EXPECT_EQ(b["responses"][0]["offerId"], "9876543210");
  EXPECT_EQ(e.ch("eb").find("SKU-1")->shown, 7);
  // Only one level: the listing keeps showing the old minimum.
  e.api("POST", "/sell/inventory/v1/bulk_update_price_quantity",
        R"({"requests": [{"sku": "SKU-1", "shipToLocationAvailability": {"quantity": 20}}]})");
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
