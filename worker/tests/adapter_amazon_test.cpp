// Amazon adapter against a scripted HttpClient: LWA refresh request, the
// patchListingsItem shape, ACCEPTED / INVALID mapping, 403 token expiry,
// 429 QuotaExceeded with x-amzn-RateLimit-Limit, 5xx and transport errors.
// Bodies as channel-apis.md §2 documents them.
#include "adapter_test_support.hpp"
#include "adapters/amazon.hpp"
#include "fake_http_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stocksync::worker {
namespace {

using namespace testing;
using nlohmann::json;

constexpr const char *kLwaOk =
    R"({"access_token": "Atza|IwEB-first", "refresh_token": "Atzr|IwEB", "token_type": "bearer", "expires_in": 3600})";
constexpr const char *kAccepted =
    R"({"sku": "SKU-1", "status": "ACCEPTED", "submissionId": "f1dc2914-75dd-11ea-bc55-0242ac130003", "issues": []})";

AmazonOptions amazon_options() {
  AmazonOptions o;
  o.code = "amz";
  o.api_base = "https://sellingpartnerapi-na.amazon.com";
  o.client_id = "amzn1.application-oa2-client.x";
  o.client_secret = "s3cret";
  o.refresh_token = "Atzr|refresh";
  o.seller_id = "A1B2C3D4E5";
  return o;
}

struct AdapterAmazon : ::testing::Test {
  boost::asio::io_context io;
  FakeClock clock;
  int lwa_calls = 0;
  std::function<HttpResponse(const HttpRequest &)> on_patch = [](const HttpRequest &) {
    return json_reply(200, kAccepted, {{"x-amzn-RateLimit-Limit", "5.0"}});
  };
  FakeHttpClient http{io, [this](const HttpRequest &r) {
                        if (ends_with(r.url, "/auth/o2/token")) {
                          ++lwa_calls;
                          json j = json::parse(kLwaOk);
                          j["access_token"] = "Atza|token-" + std::to_string(lwa_calls);
                          return json_reply(200, j.dump());
                        }
                        return on_patch(r);
                      }};
  AmazonAdapter adapter{amazon_options(), io, http, clock.clock()};
};

TEST_F(AdapterAmazon, RefreshesTokenThenPatchesQuantityWithMerge) {
  auto res = push_and_wait(io, adapter, {listing("SKU 1/x", 7)});
  ASSERT_EQ(http.requests.size(), 2u);
  const HttpRequest &lwa = http.requests[0];
  EXPECT_EQ(lwa.method, "POST");
  EXPECT_EQ(lwa.url, "https://api.amazon.com/auth/o2/token");
  EXPECT_EQ(lwa.body, "grant_type=refresh_token&refresh_token=Atzr%7Crefresh&client_id=amzn1.application-oa2-"
                      "client.x&client_secret=s3cret");
  EXPECT_TRUE(contains(find_header(lwa.headers, "Content-Type").value_or(""), "x-www-form-urlencoded"));

  const HttpRequest &patch = http.requests[1];
  EXPECT_EQ(patch.method, "PATCH");
  EXPECT_EQ(patch.url, "https://sellingpartnerapi-na.amazon.com/listings/2021-08-01/items/A1B2C3D4E5/"
                       "SKU%201%2Fx?marketplaceIds=ATVPDKIKX0DER");
  EXPECT_EQ(find_header(patch.headers, "x-amz-access-token").value_or(""), "Atza|token-1");
  EXPECT_EQ(json::parse(patch.body), json::parse(R"({"productType": "PRODUCT",
     "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability",
                  "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]}]})"));

  const PushResult &r = res["SKU 1/x"];
  EXPECT_EQ(r.outcome, PushOutcome::acked);
  EXPECT_EQ(r.acked_qty, 7);
  EXPECT_TRUE(contains(r.message, "f1dc2914-75dd-11ea-bc55-0242ac130003")) << r.message;
  EXPECT_TRUE(contains(r.message, "ACCEPTED")) << r.message;
}

TEST_F(AdapterAmazon, ReusesTokenUntilShortlyBeforeExpiry) {
  push_and_wait(io, adapter, {listing("A", 1)});
  push_and_wait(io, adapter, {listing("B", 2)});
  EXPECT_EQ(lwa_calls, 1);
  clock.mono += 3600 - 61;  // still valid for 61 s: keep it
  push_and_wait(io, adapter, {listing("C", 3)});
  EXPECT_EQ(lwa_calls, 1);
  clock.mono += 2;  // inside the 60 s margin: refresh first
  push_and_wait(io, adapter, {listing("D", 4)});
  EXPECT_EQ(lwa_calls, 2);
  EXPECT_EQ(find_header(http.requests.back().headers, "x-amz-access-token").value_or(""), "Atza|token-2");
}

TEST_F(AdapterAmazon, ExpiredToken403RefreshesOnceAndResends) {
  push_and_wait(io, adapter, {listing("A", 1)});
  int patches = 0;
  on_patch = [&](const HttpRequest &r) {
    ++patches;
    if (find_header(r.headers, "x-amz-access-token").value_or("") == "Atza|token-1")
      return json_reply(403, R"({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                 "details": "The access token you provided has expired."}]})");
    return json_reply(200, kAccepted);
  };
  auto res = push_and_wait(io, adapter, {listing("SKU-1", 5)});
  EXPECT_EQ(res["SKU-1"].outcome, PushOutcome::acked);
  EXPECT_EQ(patches, 2);
  EXPECT_EQ(lwa_calls, 2);
}

TEST_F(AdapterAmazon, Persistent403IsPermanent) {
  on_patch = [](const HttpRequest &) {
    return json_reply(403, R"({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]})");
  };
  auto res = push_and_wait(io, adapter, {listing("SKU-1", 5)});
  EXPECT_EQ(res["SKU-1"].outcome, PushOutcome::permanent);
  EXPECT_TRUE(contains(res["SKU-1"].message, "Unauthorized"));
  EXPECT_EQ(lwa_calls, 2) << "one refresh, not a loop";
}

TEST_F(AdapterAmazon, QuotaExceeded429FollowsRateHeader) {
  on_patch = [](const HttpRequest &) {
    return json_reply(429,
                      R"({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]})",
                      {{"x-amzn-RateLimit-Limit", "0.5"}, {"x-amzn-RequestId", "r-1"}});
  };
  auto res = push_and_wait(io, adapter, {listing("SKU-1", 5)});
  const PushResult &r = res["SKU-1"];
  EXPECT_EQ(r.outcome, PushOutcome::retryable);
  EXPECT_TRUE(r.throttled);
  ASSERT_TRUE(r.retry_after);
  EXPECT_EQ(*r.retry_after, std::chrono::milliseconds(2000)) << "one token at 0.5/s";
  EXPECT_TRUE(contains(r.message, "QuotaExceeded"));
  EXPECT_DOUBLE_EQ(adapter.gate().bucket().rate(), 0.5);
  EXPECT_DOUBLE_EQ(adapter.gate().bucket().available(clock.mono), 0);
}

TEST_F(AdapterAmazon, InvalidSubmissionIsPermanentWithIssues) {
  on_patch = [](const HttpRequest &) {
    return json_reply(200, R"({"sku": "SKU-1", "status": "INVALID", "submissionId": "abc",
      "issues": [{"code": "4000003", "message": "The provided product type 'PRODUCT' does not match.",
                  "severity": "ERROR", "attributeNames": [], "categories": ["INVALID_ATTRIBUTE"]}]})");
  };
  auto res = push_and_wait(io, adapter, {listing("SKU-1", 5)});
  EXPECT_EQ(res["SKU-1"].outcome, PushOutcome::permanent);
  EXPECT_TRUE(contains(res["SKU-1"].message, "4000003")) << res["SKU-1"].message;
}

TEST_F(AdapterAmazon, ServerErrorsAndTransportAreRetryable) {
  on_patch = [](const HttpRequest &r) {
    if (contains(r.url, "/SKU-5xx?"))
      return json_reply(503, R"({"errors": [{"code": "ServiceUnavailable", "message": "Service temporarily unavailable."}]})",
                        {{"Retry-After", "3"}});
    if (contains(r.url, "/SKU-404?"))
      return json_reply(404, R"({"errors": [{"code": "NOT_FOUND", "message": "SKU not found"}]})");
    HttpResponse t;
    t.error = "timeout after 10000 ms";
    t.timed_out = true;
    return t;
  };
  auto res = push_and_wait(io, adapter, {listing("SKU-5xx", 1), listing("SKU-404", 1), listing("SKU-slow", 1)});
  EXPECT_EQ(res["SKU-5xx"].outcome, PushOutcome::retryable);
  EXPECT_EQ(res["SKU-5xx"].retry_after, std::chrono::milliseconds(3000));
  EXPECT_FALSE(res["SKU-5xx"].throttled);
  EXPECT_EQ(res["SKU-404"].outcome, PushOutcome::permanent);
  EXPECT_EQ(res["SKU-slow"].outcome, PushOutcome::retryable);
  EXPECT_TRUE(res["SKU-slow"].maybe_applied);
}

TEST_F(AdapterAmazon, LwaRefusalIsPermanentAndSecretsStayOut) {
  http.set_handler([](const HttpRequest &) {
    return json_reply(400, R"({"error_description": "The request has an invalid grant parameter : refresh_token",
                               "error": "invalid_grant"})");
  });
  auto res = push_and_wait(io, adapter, {listing("SKU-1", 5)});
  EXPECT_EQ(res["SKU-1"].outcome, PushOutcome::permanent);
  EXPECT_TRUE(contains(res["SKU-1"].message, "invalid_grant"));
  EXPECT_FALSE(contains(res["SKU-1"].message, "s3cret"));
  EXPECT_FALSE(contains(res["SKU-1"].message, "Atzr|refresh"));
}

TEST(AdapterAmazonConfig, ChecksKeysAndDefaults) {
  ChannelConfig cfg;
  cfg.code = "amz";
  cfg.kind = "amazon";
  cfg.credentials = {{"client_id", "id"}, {"client_secret", "s"}, {"refresh_token", "r"}};
  std::string err;
  EXPECT_FALSE(AmazonOptions::from_config(cfg, err));
  EXPECT_TRUE(contains(err, "seller_id")) << err;
  cfg.options["seller_id"] = "A1";
  cfg.base_url = "http://sp.example.com";
  EXPECT_FALSE(AmazonOptions::from_config(cfg, err));
  EXPECT_TRUE(contains(err, "https")) << err;
  cfg.base_url = "http://127.0.0.1:8900/amazon/demo/";
  cfg.options["auth_url"] = "http://127.0.0.1:8900/amazon/demo/auth/o2/token";
  auto o = AmazonOptions::from_config(cfg, err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->api_base, "http://127.0.0.1:8900/amazon/demo");
  EXPECT_EQ(o->rate, 5);
  EXPECT_EQ(o->burst, 4);  // one token of headroom below the documented 5
  EXPECT_EQ(o->batch, 1u);
  EXPECT_EQ(o->in_flight, 4u);
  EXPECT_EQ(o->patch_op, "merge");
  cfg.max_in_flight = 1;  // an explicit 1 is honoured (0, the default, means the burst)
  o = AmazonOptions::from_config(cfg, err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->in_flight, 1u);
}

}  // namespace
}  // namespace stocksync::worker
