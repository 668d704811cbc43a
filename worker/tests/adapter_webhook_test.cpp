// Webhook adapter against a scripted HttpClient: one signed POST per batch,
// every listing answered through the shared push path (done posted once, one
// result per listing), 429 with Retry-After, and a stopped adapter that
// answers without sending.
#include "adapter_test_support.hpp"
#include "adapters/webhook.hpp"
#include "fake_http_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stocksync::worker {
namespace {

using namespace testing;

ChannelConfig config() {
  ChannelConfig c;
  c.code = "hook";
  c.kind = "webhook";
  c.base_url = "http://127.0.0.1:9/hook";
  c.credentials["secret"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  return c;
}

struct AdapterWebhook : ::testing::Test {
  boost::asio::io_context io;
  FakeHttpClient http{io, [](const HttpRequest &) { return json_reply(204, ""); }};
  AdapterEnv env{io, http};
  std::string error;
  std::unique_ptr<ChannelAdapter> adapter = make_webhook_adapter(config(), env, error);
};

TEST_F(AdapterWebhook, OnePostPerBatchEveryListingAcked) {
  ASSERT_TRUE(adapter) << error;
  auto res = push_and_wait(io, *adapter, {listing("A", 3), listing("B", 0)});
  ASSERT_EQ(http.requests.size(), 1u);
  auto body = nlohmann::json::parse(http.requests[0].body);
  EXPECT_EQ(body["type"], "stock.changed");
  EXPECT_EQ(body["data"].size(), 2u);
  EXPECT_TRUE(find_header(http.requests[0].headers, "webhook-signature").has_value());
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res["A"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["A"].acked_qty, 3);
  EXPECT_EQ(res["B"].outcome, PushOutcome::acked);
  EXPECT_EQ(res["B"].acked_qty, 0);
}

TEST_F(AdapterWebhook, ThrottledWithRetryAfter) {
  ASSERT_TRUE(adapter) << error;
  http.set_handler([](const HttpRequest &) { return json_reply(429, "{}", {{"Retry-After", "7"}}); });
  auto res = push_and_wait(io, *adapter, {listing("A", 1)});
  EXPECT_EQ(res["A"].outcome, PushOutcome::retryable);
  EXPECT_TRUE(res["A"].throttled);
  ASSERT_TRUE(res["A"].retry_after.has_value());
  EXPECT_EQ(*res["A"].retry_after, std::chrono::seconds(7));
}

TEST_F(AdapterWebhook, StoppedAdapterAnswersWithoutSending) {
  ASSERT_TRUE(adapter) << error;
  adapter->shutdown();
  auto res = push_and_wait(io, *adapter, {listing("A", 1), listing("B", 2)});
  EXPECT_TRUE(http.requests.empty());
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res["A"].outcome, PushOutcome::retryable);
  EXPECT_EQ(res["A"].message, "adapter shut down");
}

}  // namespace
}  // namespace stocksync::worker
