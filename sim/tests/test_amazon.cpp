// Amazon SP-API: LWA, listings PATCH/GET with delayed apply, rate limits, getOrders (channel-apis.md §2).
#include "helpers.hpp"

using namespace simtest;

namespace {

const char* kAmazonScenario = R"(
[[channels]]
name = "amz"
kind = "amazon"
client_id = "cid"
client_secret = "csec"
refresh_token = "Atzr|r"
seller_id = "SELLER1"
processing_delay_min_s = 60
processing_delay_max_s = 60
  [[channels.listings]]
  id = "SKU-1"
  product_type = "LUGGAGE"
  quantity = 10
)";

const std::string kListing = "/amazon/amz/listings/2021-08-01/items/SELLER1/SKU-1?marketplaceIds=ATVPDKIKX0DER";

struct Amz : Harness {
  Amz() : Harness(kAmazonScenario) {}
  std::string token;
  void login() {
    auto r = call("POST", "/amazon/amz/auth/o2/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
                  "grant_type=refresh_token&refresh_token=Atzr%7Cr&client_id=cid&client_secret=csec");
    ASSERT_EQ(r.status, 200);
    json b = json::parse(r.body);
    EXPECT_EQ(b["token_type"], "bearer");
    EXPECT_EQ(b["expires_in"], 3600);
    token = b["access_token"];
  }
  sim::Response api(const std::string& m, const std::string& target, const std::string& body = {}) {
    return call(m, target, {{"x-amz-access-token", token}, {"Content-Type", "application/json"}}, body);
  }
  std::string patch(int q, const std::string& op = "merge") {
    return json{{"productType", "LUGGAGE"},
                {"patches", json::array({{{"op", op}, {"path", "/attributes/fulfillment_availability"},
                                          {"value", json::array({{{"fulfillment_channel_code", "DEFAULT"}, {"quantity", q}}})}}})}}
        .dump();
  }
};

}  // namespace

TEST(SimAmazon, PatchIsAcceptedThenAppliedAfterProcessingDelay) {
  Amz a;
  a.login();
  auto r = a.api("PATCH", kListing, a.patch(7));
  ASSERT_EQ(r.status, 200);
  json b = json::parse(r.body);
  EXPECT_EQ(b["status"], "ACCEPTED");
  EXPECT_EQ(b["sku"], "SKU-1");
  EXPECT_FALSE(b["submissionId"].get<std::string>().empty());
  EXPECT_TRUE(b["issues"].empty());
  EXPECT_FALSE(r.header("x-amzn-RateLimit-Limit").empty());
  EXPECT_FALSE(r.header("x-amzn-RequestId").empty());
  EXPECT_EQ(a.ch("amz").find("SKU-1")->shown, 10);  // not yet applied
  a.advance(59);
  EXPECT_EQ(a.ch("amz").find("SKU-1")->shown, 10);
  a.advance(2);
  EXPECT_EQ(a.ch("amz").find("SKU-1")->shown, 7);
  // Read model is camelCase.
  r = a.api("GET", kListing + "&includedData=fulfillmentAvailability,summaries");
  b = json::parse(r.body);
  EXPECT_EQ(b["fulfillmentAvailability"][0]["fulfillmentChannelCode"], "DEFAULT");
  EXPECT_EQ(b["fulfillmentAvailability"][0]["quantity"], 7);
  EXPECT_EQ(b["summaries"][0]["productType"], "LUGGAGE");
}

TEST(SimAmazon, InvalidPatchesAndValidationPreview) {
  Amz a;
  a.login();
  json b = json::parse(a.api("PATCH", kListing,
                             R"({"productType": "LUGGAGE", "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability", "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": -1}]}]})")
                           .body);
  EXPECT_EQ(b["status"], "INVALID");
  EXPECT_EQ(b["issues"][0]["severity"], "ERROR");
  auto r = a.api("PATCH", kListing, R"({"patches": []})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["errors"][0]["code"], "InvalidInput");
  b = json::parse(a.api("PATCH", kListing + "&mode=VALIDATION_PREVIEW", a.patch(3)).body);
  EXPECT_EQ(b["status"], "VALID");
  a.advance(3600);
  EXPECT_EQ(a.ch("amz").find("SKU-1")->shown, 10);
  a.login();  // the access token expired meanwhile
  r = a.api("PATCH", "/amazon/amz/listings/2021-08-01/items/SELLER1/NOPE?marketplaceIds=ATVPDKIKX0DER", a.patch(3));
  EXPECT_EQ(r.status, 404);
}

TEST(SimAmazon, PerOperationRateLimitIs429WithHeader) {
  Amz a;
  a.login();
  int ok = 0;
  sim::Response last;
  for (int i = 0; i < 6; ++i) {
    last = a.api("PATCH", kListing, a.patch(i));
    ok += last.status == 200;
  }
  EXPECT_EQ(ok, 5);  // patchListingsItem: rate 5, burst 5
  EXPECT_EQ(last.status, 429);
  json b = json::parse(last.body);
  EXPECT_EQ(b["errors"][0]["code"], "QuotaExceeded");
  EXPECT_EQ(b["errors"][0]["message"], "You exceeded your quota for the requested resource.");
  EXPECT_EQ(last.header("x-amzn-RateLimit-Limit"), "5.0");
  a.advance(0.2);  // one token back
  EXPECT_EQ(a.api("PATCH", kListing, a.patch(1)).status, 200);
  // getOrders: burst 20 then 1 per minute.
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(a.api("GET", "/amazon/amz/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER&LastUpdatedAfter=2026-11-22T00:00:00Z").status, 200);
  last = a.api("GET", "/amazon/amz/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER&LastUpdatedAfter=2026-11-22T00:00:00Z");
  EXPECT_EQ(last.status, 429);
  EXPECT_EQ(last.header("x-amzn-RateLimit-Limit"), "0.0167");
}

TEST(SimAmazon, LwaExpiryAndAuthFailuresAre403) {
  Amz a;
  auto r = a.call("POST", "/amazon/amz/auth/o2/token", {}, "grant_type=refresh_token&refresh_token=bad&client_id=cid&client_secret=csec");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"], "invalid_grant");
  r = a.call("POST", "/amazon/amz/auth/o2/token", {}, "grant_type=refresh_token&refresh_token=Atzr%7Cr&client_id=cid&client_secret=x");
  EXPECT_EQ(r.status, 401);
  r = a.api("GET", kListing);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(json::parse(r.body)["errors"][0]["code"], "Unauthorized");
  EXPECT_EQ(json::parse(r.body)["errors"][0]["message"], "Access to requested resource is denied.");
  a.login();
  EXPECT_EQ(a.api("GET", kListing).status, 200);
  a.advance(3601);
  r = a.api("GET", kListing);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(json::parse(r.body)["errors"][0]["code"], "Unauthorized");
  // JSON body (Java client) works too.
  r = a.call("POST", "/amazon/amz/auth/o2/token", {{"Content-Type", "application/json"}},
             R"({"grant_type":"refresh_token","refresh_token":"Atzr|r","client_id":"cid","client_secret":"csec"})");
  EXPECT_EQ(r.status, 200);
}

TEST(SimAmazon, GetOrdersPollingByTime) {
  Amz a;
  a.login();
  a.call("POST", "/_sim/channels/amz/orders", {}, R"({"listing": "SKU-1", "quantity": 3})");
  EXPECT_EQ(a.ch("amz").find("SKU-1")->shown, 7);
  const std::string base = "/amazon/amz/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER";
  // Within two minutes of now the order is not visible yet (LastUpdatedBefore defaults to now - 2 min).
  json b = json::parse(a.api("GET", base + "&LastUpdatedAfter=2026-11-22T09:00:00Z").body);
  EXPECT_TRUE(b["payload"]["Orders"].empty());
  EXPECT_EQ(b["payload"]["LastUpdatedBefore"], "2026-11-22T09:58:00Z");
  a.advance(180);
  b = json::parse(a.api("GET", base + "&LastUpdatedAfter=2026-11-22T09:00:00Z").body);
  ASSERT_EQ(b["payload"]["Orders"].size(), 1u);
  auto order = b["payload"]["Orders"][0];
  EXPECT_EQ(order["OrderStatus"], "Unshipped");
  EXPECT_EQ(order["NumberOfItemsUnshipped"], 3);
  std::string id = order["AmazonOrderId"];
  b = json::parse(a.api("GET", "/amazon/amz/orders/v0/orders/" + id + "/orderItems").body);
  EXPECT_EQ(b["payload"]["OrderItems"][0]["SellerSKU"], "SKU-1");
  EXPECT_EQ(b["payload"]["OrderItems"][0]["QuantityOrdered"], 3);
  // Exactly one of CreatedAfter / LastUpdatedAfter.
  auto r = a.api("GET", base);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["errors"][0]["code"], "InvalidInput");
  r = a.api("GET", base + "&CreatedAfter=2026-11-22T09:00:00Z&LastUpdatedAfter=2026-11-22T09:00:00Z");
  EXPECT_EQ(r.status, 400);
}

TEST(SimAmazon, UpdatesToOneSkuApplyInSubmissionOrder) {
  Harness h(std::string(kAmazonScenario).replace(std::string(kAmazonScenario).find("processing_delay_max_s = 60"), 27,
                                           "processing_delay_max_s = 300"));
  auto r = h.call("POST", "/amazon/amz/auth/o2/token", {}, "grant_type=refresh_token&refresh_token=Atzr%7Cr&client_id=cid&client_secret=csec");
  std::string tok = json::parse(r.body)["access_token"];
  for (int q : {5, 4, 3}) {
    json body = {{"productType", "LUGGAGE"},
                 {"patches", json::array({{{"op", "merge"}, {"path", "/attributes/fulfillment_availability"},
                                           {"value", json::array({{{"fulfillment_channel_code", "DEFAULT"}, {"quantity", q}}})}}})}};
    h.call("PATCH", kListing, {{"x-amz-access-token", tok}}, body.dump());
  }
  h.advance(301);
  auto& hist = h.sim->channel("amz")->find("SKU-1")->history;
  ASSERT_EQ(hist.size(), 4u);
  EXPECT_EQ(hist[1].quantity, 5);
  EXPECT_EQ(hist[2].quantity, 4);
  EXPECT_EQ(hist[3].quantity, 3);
}
