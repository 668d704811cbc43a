// The Shopify adapter + CurlHttpClient against the real stocksync-sim: a
// batch over two locations, a sale on the channel followed by a push from
// the old acknowledged value (stale, read back, nothing erased), a true retry
// answered from the original result, and the reconciliation read.
#include "adapter_test_support.hpp"
#include "adapters/shopify.hpp"
#include "http/curl_http_client.hpp"
#include "fake_http_client.hpp"
#include "sim_process.hpp"

#include <gtest/gtest.h>

namespace stocksync::worker {
namespace {

using namespace testing;

constexpr const char *kScenario = R"(
[sim]
seed = 7
time_scale = 1.0
tick_ms = 5

[[channels]]
name = "shop"
kind = "shopify"
access_token = "shpat_sim_test"
  [[channels.listings]]
  id = "30322695"
  sku = "SKU-1"
  quantity = 20
  [[channels.listings]]
  id = "40400001@555"
  sku = "SKU-2"
  quantity = 5
)";

struct AdapterShopifySim : SimFixture {
  void SetUp() override {
    start_sim(kScenario);
    STOCKSYNC_REQUIRE_SIM(*sim);
    std::string err;
    adapter = make_shop_adapter("shpat_sim_test", err);
    ASSERT_TRUE(adapter) << err;
  }

  // A Shopify adapter for the simulator's "shop" with this access token.
  std::unique_ptr<ChannelAdapter> make_shop_adapter(const std::string &access_token, std::string &err) {
    ChannelConfig cfg;
    cfg.code = "shop";
    cfg.kind = "shopify";
    cfg.base_url = sim->base() + "/shopify/shop";
    cfg.credentials = {{"access_token", access_token}};
    cfg.options = {{"location_id", "124656943"}};
    AdapterEnv e = env();
    return make_adapter(cfg, e, err);
  }
  void TearDown() override { adapter.reset(); }

  long long shown(const std::string &id) { return SimProcess::shown(sim->state(io, *http), "shop", id).value_or(-1); }

  // POST /_sim/channels/shop/orders: a buyer takes `qty` on the channel.
  long sell(const std::string &id, int qty) {
    HttpRequest r;
    r.method = "POST";
    r.url = sim->base() + "/_sim/channels/shop/orders";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = nlohmann::json{{"listing", id}, {"quantity", qty}}.dump();
    auto got = SimProcess::send_and_wait(io, *http, r);
    return got ? got->status : 0;
  }

  std::unique_ptr<ChannelAdapter> adapter;
};

TEST_F(AdapterShopifySim, CompareAndSetNeverErasesASaleOnTheChannel) {
  ListingPush first = listing("30322695", 15, 20);
  first.idempotency_key = "11111111-1111-4111-8111-111111111111";
  ListingPush other = listing("40400001@555", 3, 5);
  other.idempotency_key = "22222222-2222-4222-8222-222222222222";
  auto res = push_and_wait(io, *adapter, {first, other});
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::acked) << res["30322695"].message;
  EXPECT_EQ(res["30322695"].acked_qty, 15);
  EXPECT_EQ(res["40400001@555"].outcome, PushOutcome::acked) << res["40400001@555"].message;
  EXPECT_EQ(shown("30322695"), 15);
  EXPECT_EQ(shown("40400001@555"), 3);

  // A sale on Shopify the ledger has not seen: 15 -> 13.
  ASSERT_EQ(sell("30322695", 2), 201);
  EXPECT_EQ(shown("30322695"), 13);

  // A push computed without the sale, from the last acknowledged 15.
  ListingPush up = listing("30322695", 18, 15);
  up.idempotency_key = "33333333-3333-4333-8333-333333333333";
  res = push_and_wait(io, *adapter, {up});
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::stale) << res["30322695"].message;
  EXPECT_EQ(res["30322695"].channel_qty, 13);
  EXPECT_EQ(shown("30322695"), 13) << "the sale was not erased";

  // The very first push again (a true retry: same listings, same key):
  // Shopify answers with the original result and applies nothing.
  res = push_and_wait(io, *adapter, {first, other});
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::acked) << res["30322695"].message;
  EXPECT_EQ(shown("30322695"), 13);

  // Re-decided from the channel's 13: applied.
  ListingPush down = listing("30322695", 11, 13);
  down.idempotency_key = "44444444-4444-4444-8444-444444444444";
  ListingPush fresh = listing("40400001@555", 4, std::nullopt);  // never acknowledged: changeFromQuantity null
  fresh.idempotency_key = "55555555-5555-4555-8555-555555555555";
  res = push_and_wait(io, *adapter, {down, fresh});
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::acked) << res["30322695"].message;
  EXPECT_EQ(res["40400001@555"].outcome, PushOutcome::acked) << res["40400001@555"].message;
  EXPECT_EQ(shown("30322695"), 11);
  EXPECT_EQ(shown("40400001@555"), 4);

  // Reconciliation read, including an unknown item.
  std::optional<std::vector<LevelReading>> got;
  adapter->read_levels({"30322695", "40400001@555", "999"}, [&](std::vector<LevelReading> r) { got = std::move(r); });
  for (int i = 0; i < 500 && !got; ++i) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].quantity, 11) << (*got)[0].error;
  EXPECT_EQ((*got)[1].quantity, 4) << (*got)[1].error;
  EXPECT_FALSE((*got)[2].quantity);
}

TEST_F(AdapterShopifySim, UnknownItemIsPermanentAndWrongTokenIs401) {
  auto res = push_and_wait(io, *adapter, {listing("999", 1, 0), listing("30322695", 19, 20)});
  EXPECT_EQ(res["999"].outcome, PushOutcome::permanent) << res["999"].message;
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::retryable) << res["30322695"].message;
  EXPECT_FALSE(res["30322695"].counts_as_attempt);
  EXPECT_EQ(shown("30322695"), 20);

  std::string err;
  auto bad = make_shop_adapter("wrong", err);
  ASSERT_TRUE(bad) << err;
  res = push_and_wait(io, *bad, {listing("30322695", 19, 20)});
  EXPECT_EQ(res["30322695"].outcome, PushOutcome::permanent);
  EXPECT_TRUE(contains(res["30322695"].message, "401")) << res["30322695"].message;
}

TEST(AdapterShopifySimBatch, TwoHundredFiftyOneListingsGoAsTwoCalls) {
  std::string scenario = "[sim]\nseed = 3\ntime_scale = 1.0\n[[channels]]\nname = \"big\"\nkind = \"shopify\"\n";
  for (int i = 1; i <= 251; ++i)
    scenario += "  [[channels.listings]]\n  id = \"" + std::to_string(1000 + i) + "\"\n  sku = \"S" +
                std::to_string(i) + "\"\n  quantity = 1\n";
  SimProcess sim(scenario);
  STOCKSYNC_REQUIRE_SIM(sim);
  boost::asio::io_context io;
  CurlHttpClient http(io);
  ChannelConfig cfg;
  cfg.code = "big";
  cfg.kind = "shopify";
  cfg.base_url = sim.base() + "/shopify/big";
  cfg.credentials = {{"access_token", "shpat_sim"}};
  cfg.options = {{"location_id", "124656943"}};
  std::string err;
  AdapterEnv env{io, http};
  auto adapter = make_adapter(cfg, env, err);
  ASSERT_TRUE(adapter) << err;
  ASSERT_EQ(adapter->max_batch(), 250u);
  std::vector<ListingPush> batch;
  for (int i = 1; i <= 251; ++i) {
    batch.push_back(listing(std::to_string(1000 + i), 7, 1));
    batch.back().idempotency_key = "key-" + std::to_string(i);
  }
  auto res = push_and_wait(io, *adapter, batch);
  ASSERT_EQ(res.size(), 251u);
  for (auto &[id, r] : res)
    EXPECT_EQ(r.outcome, PushOutcome::acked) << id << ": " << r.message;
  auto st = sim.state(io, http);
  EXPECT_EQ(SimProcess::shown(st, "big", "1001"), 7);
  EXPECT_EQ(SimProcess::shown(st, "big", "1251"), 7);
  for (const auto &c : st["channels"])
    if (c.value("name", "") == "big") {
      EXPECT_EQ(c["calls"].value("inventorySetQuantities", 0), 2) << c["calls"].dump();
    }
  adapter.reset();
}

}  // namespace
}  // namespace stocksync::worker
