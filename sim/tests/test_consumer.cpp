// The custom consumer: a Standard Webhooks receiver (channel-apis.md §6).
#include "helpers.hpp"

using namespace simtest;

namespace {
const char* kConsumerScenario = R"(
[[channels]]
name = "erp"
kind = "webhook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
  [[channels.listings]]
  id = "SKU-1"
  quantity = 0
)";
const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
}  // namespace

TEST(SimConsumer, AcceptsSignedEventsAndDeduplicates) {
  Harness h(kConsumerScenario);
  std::string body = R"({"type":"stock.changed","timestamp":"2026-11-22T10:00:00Z","data":{"sku":"SKU-1","available":7}})";
  std::string ts = std::to_string(static_cast<int64_t>(kStart));
  sim::HeaderMap hd = {{"webhook-id", "msg_1"}, {"webhook-timestamp", ts},
                       {"webhook-signature", sim::std_webhook_signature(kSecret, "msg_1", ts, body)}};
  auto r = h.call("POST", "/hooks/erp", hd, body);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(h.ch("erp").find("SKU-1")->shown, 7);
  // A retry with the same id is acknowledged and changes nothing.
  std::string body2 = R"({"type":"stock.changed","data":{"sku":"SKU-1","available":1}})";
  hd["webhook-signature"] = sim::std_webhook_signature(kSecret, "msg_1", ts, body2);
  EXPECT_EQ(h.call("POST", "/hooks/erp", hd, body2).status, 204);
  EXPECT_EQ(h.ch("erp").find("SKU-1")->shown, 7);
  // New SKUs appear as listings.
  std::string body3 = R"({"type":"stock.changed","data":[{"sku":"SKU-9","available":4}]})";
  hd = {{"webhook-id", "msg_2"}, {"webhook-timestamp", ts},
        {"webhook-signature", sim::std_webhook_signature(kSecret, "msg_2", ts, body3)}};
  EXPECT_EQ(h.call("POST", "/hooks/erp", hd, body3).status, 204);
  EXPECT_EQ(h.ch("erp").find("SKU-9")->shown, 4);
  EXPECT_EQ(h.sim->state()["channels"][0]["duplicates"], 1);
}

TEST(SimConsumer, RejectsBadSignaturesAndStaleTimestamps) {
  Harness h(kConsumerScenario);
  std::string body = R"({"type":"stock.changed","data":{"sku":"SKU-1","available":7}})";
  std::string ts = std::to_string(static_cast<int64_t>(kStart));
  auto r = h.call("POST", "/hooks/erp",
                  {{"webhook-id", "m"}, {"webhook-timestamp", ts}, {"webhook-signature", "v1,AAAA"}}, body);
  EXPECT_EQ(r.status, 401);
  std::string old = std::to_string(static_cast<int64_t>(kStart) - 301);
  r = h.call("POST", "/hooks/erp",
             {{"webhook-id", "m"}, {"webhook-timestamp", old},
              {"webhook-signature", sim::std_webhook_signature(kSecret, "m", old, body)}},
             body);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["reason"], "too_old");
  EXPECT_EQ(h.ch("erp").find("SKU-1")->shown, 0);
}
