// Each adapter + CurlHttpClient against the real stocksync-sim: push a batch,
// then read the simulator's /_sim/state and check what the channel shows.
#include "adapter_test_support.hpp"
#include "adapters/amazon.hpp"
#include "adapters/ebay.hpp"
#include "adapters/woocommerce.hpp"
#include "fake_http_client.hpp"
#include "http/curl_http_client.hpp"
#include "sim_process.hpp"

#include <gtest/gtest.h>

namespace stocksync::worker {
namespace {

using namespace testing;

constexpr const char *kSimScenario = R"(
[sim]
seed = 7
time_scale = 1.0
tick_ms = 5

[[channels]]
name = "amz"
kind = "amazon"
client_id = "amzn1.application-oa2-client.t"
client_secret = "lwa-secret"
refresh_token = "Atzr|t"
token_ttl_s = 3600
seller_id = "A1B2C3D4E5"
processing_delay_min_s = 0
processing_delay_max_s = 0
  [[channels.listings]]
  id = "SKU-1"
  quantity = 12
  [[channels.listings]]
  id = "SKU-2"
  quantity = 3

[[channels]]
name = "eb"
kind = "ebay"
client_id = "eb-app"
client_secret = "eb-secret"
refresh_token = "v^1.1#r"
  [[channels.listings]]
  id = "SKU-1"
  offer_id = "9876543210"
  quantity = 8
  [[channels.listings]]
  id = "SKU-2"
  offer_id = "9876543211"
  quantity = 8
  [[channels.listings]]
  id = "SKU-3"
  offer_id = "9876543212"
  other_offer_ids = ["9876543213"]
  quantity = 8

[[channels]]
name = "wo"
kind = "woocommerce"
consumer_key = "ck_t"
consumer_secret = "cs_t"
  [[channels.listings]]
  id = "799"
  sku = "SKU-1"
  quantity = 15
  [[channels.listings]]
  id = "812"
  parent_id = "810"
  sku = "SKU-2"
  quantity = 4
)";

struct AdapterSim : SimFixture {
  void SetUp() override {
    start_sim(kSimScenario);
    STOCKSYNC_REQUIRE_SIM(*sim);
  }
};

TEST_F(AdapterSim, AmazonPatchReachesSimulator) {
  ChannelConfig cfg;
  cfg.code = "amz";
  cfg.kind = "amazon";
  cfg.base_url = sim->base() + "/amazon/amz";
  cfg.options = {{"seller_id", "A1B2C3D4E5"}, {"auth_url", sim->base() + "/amazon/amz/auth/o2/token"}};
  cfg.credentials = {{"client_id", "amzn1.application-oa2-client.t"}, {"client_secret", "lwa-secret"},
                     {"refresh_token", "Atzr|t"}};
  std::string err;
  auto e = env();
  auto a = make_amazon_adapter(cfg, e, err);
  ASSERT_TRUE(a) << err;
  auto res = push_and_wait(io, *a, {listing("SKU-1", 5), listing("SKU-2", 0), listing("NOPE", 1)});
  EXPECT_EQ(res["SKU-1"].outcome, PushOutcome::acked) << res["SKU-1"].message;
  EXPECT_EQ(res["SKU-2"].outcome, PushOutcome::acked) << res["SKU-2"].message;
  EXPECT_EQ(res["NOPE"].outcome, PushOutcome::permanent) << res["NOPE"].message;
  // ACCEPTED is applied by the simulator's tick after the (zero) processing delay.
  std::optional<long long> q1, q2;
  for (int i = 0; i < 100; ++i) {
    auto st = sim->state(io, *http);
    q1 = SimProcess::shown(st, "amz", "SKU-1");
    q2 = SimProcess::shown(st, "amz", "SKU-2");
    if (q1 == 5 && q2 == 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(q1, 5);
  EXPECT_EQ(q2, 0);
}

// The simulator's channel "eb" through the eBay adapter (nullptr, with the
// error reported, when the configuration is refused).
std::unique_ptr<ChannelAdapter> ebay_adapter_for(const std::string &base, AdapterEnv &e) {
  ChannelConfig cfg;
  cfg.code = "eb";
  cfg.kind = "ebay";
  cfg.base_url = base + "/ebay/eb";
  cfg.credentials = {{"client_id", "eb-app"}, {"client_secret", "eb-secret"}, {"refresh_token", "v^1.1#r"}};
  std::string err;
  auto a = make_ebay_adapter(cfg, e, err);
  EXPECT_TRUE(a) << err;
  return a;
}

TEST_F(AdapterSim, EbayBulkUpdateReachesSimulator) {
  auto e = env();
  auto a = ebay_adapter_for(sim->base(), e);
  ASSERT_TRUE(a);
  auto res = push_and_wait(io, *a, {listing("SKU-1|9876543210", 6), listing("SKU-2", 2), listing("GONE|1", 1)});
  EXPECT_EQ(res["SKU-1|9876543210"].outcome, PushOutcome::acked) << res["SKU-1|9876543210"].message;
  EXPECT_EQ(res["SKU-2"].outcome, PushOutcome::acked) << res["SKU-2"].message;
  EXPECT_EQ(res["GONE|1"].outcome, PushOutcome::permanent) << res["GONE|1"].message;
  auto st = sim->state(io, *http);
  EXPECT_EQ(SimProcess::shown(st, "eb", "SKU-1"), 6);
  EXPECT_EQ(SimProcess::shown(st, "eb", "SKU-2"), 2);
}

// A listing with two offers, the second refused by the simulator (POST
// /_sim/channels/eb/offers/{id}/refuse): the simulator applies the first offer
// and the inventory item and answers each offer on its own, so the listing is
// not acknowledged (the previous build acknowledged it from the first offer's
// answer). Once the refusal is lifted the push is acknowledged and both offers
// carry the quantity.
TEST_F(AdapterSim, EbayRefusedSecondOfferIsNotAcknowledged) {
  auto e = env();
  auto a = ebay_adapter_for(sim->base(), e);
  ASSERT_TRUE(a);
  auto refuse = [&](bool active) {
    HttpRequest r;
    r.method = "POST";
    r.url = sim->base() + "/_sim/channels/eb/offers/9876543213/refuse";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = nlohmann::json{{"active", active}}.dump();
    auto got = SimProcess::send_and_wait(io, *http, r);
    return got ? got->status : 0;
  };
  const std::string id = "SKU-3|9876543212,9876543213";
  ASSERT_EQ(refuse(true), 200);
  auto res = push_and_wait(io, *a, {listing(id, 5)});
  EXPECT_EQ(res[id].outcome, PushOutcome::permanent) << res[id].message;
  EXPECT_TRUE(contains(res[id].message, "9876543213") && contains(res[id].message, "25713")) << res[id].message;
  auto other_offer = [&]() -> long long {
    const nlohmann::json st = sim->state(io, *http);  // not a temporary in the range-for (it would dangle)
    if (!st.is_object() || !st.contains("channels"))
      return -1;
    for (const auto &c : st["channels"])
      if (c.value("name", "") == "eb")
        for (const auto &l : c["listings"])
          if (l.value("id", "") == "SKU-3")
            return l["other_offers"].value("9876543213", -1LL);
    return -1;
  };
  EXPECT_EQ(other_offer(), 8);  // the refused offer kept its quantity
  EXPECT_EQ(SimProcess::shown(sim->state(io, *http), "eb", "SKU-3"), 5);  // the first offer and the total did not
  ASSERT_EQ(refuse(false), 200);
  res = push_and_wait(io, *a, {listing(id, 5)});
  EXPECT_EQ(res[id].outcome, PushOutcome::acked) << res[id].message;
  EXPECT_EQ(other_offer(), 5);
  EXPECT_EQ(SimProcess::shown(sim->state(io, *http), "eb", "SKU-3"), 5);
}

TEST_F(AdapterSim, WooCommerceBatchReachesSimulator) {
  ChannelConfig cfg;
  cfg.code = "wo";
  cfg.kind = "woocommerce";
  cfg.base_url = sim->base() + "/woo/wo";
  cfg.credentials = {{"consumer_key", "ck_t"}, {"consumer_secret", "cs_t"}};
  std::string err;
  auto e = env();
  auto a = make_woocommerce_adapter(cfg, e, err);
  ASSERT_TRUE(a) << err;
  auto res = push_and_wait(io, *a, {listing("799", 9), listing("810/812", 1), listing("4242", 3)});
  EXPECT_EQ(res["799"].outcome, PushOutcome::acked) << res["799"].message;
  EXPECT_EQ(res["799"].acked_qty, 9);
  EXPECT_EQ(res["810/812"].outcome, PushOutcome::acked) << res["810/812"].message;
  EXPECT_EQ(res["4242"].outcome, PushOutcome::permanent) << res["4242"].message;
  auto st = sim->state(io, *http);
  EXPECT_EQ(SimProcess::shown(st, "wo", "799"), 9);
  EXPECT_EQ(SimProcess::shown(st, "wo", "812"), 1);
}

}  // namespace
}  // namespace stocksync::worker
