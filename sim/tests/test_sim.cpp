// Scenario parsing, buyers, determinism, delivery quirks, faults, inspection.
#include "fake_transport.hpp"
#include "helpers.hpp"

#include <set>

using namespace simtest;

namespace {

const char* kBusy = R"(
[sim]
seed = 11
[[channels]]
name = "shop"
kind = "shopify"
webhook_url = "http://127.0.0.1:9/h"
  [[channels.listings]]
  id = "1"
  sku = "A"
  quantity = 400
  [[channels.listings]]
  id = "2"
  sku = "B"
  quantity = 400
  [channels.buyers]
  orders_per_hour = 60
  max_quantity = 3
  spikes = [ { start = 1800, end = 2400, multiplier = 10 } ]
[[channels]]
name = "eb"
kind = "ebay"
  [[channels.listings]]
  id = "A"
  quantity = 1000
  [channels.buyers]
  orders_per_hour = 30
  random_spikes_per_hour = 2
)";

json orders_of(Harness& h) {
  json out = json::array();
  json st = h.sim->state();
  for (auto& c : st["channels"])
    for (auto& o : c["orders"]) out.push_back({o["id"], o["sku"], o["quantity"], o["created"]});
  return out;
}

}  // namespace

TEST(SimScenario, RejectsTyposAndBadValues) {
  EXPECT_THROW(sim::parse_scenario("[[channels]]\nname = \"x\"\nkind = \"shopify\"\nacess_token = \"t\"\n"),
               sim::ScenarioError);
  EXPECT_THROW(sim::parse_scenario("[[channels]]\nname = \"x\"\nkind = \"myspace\"\n"), sim::ScenarioError);
  EXPECT_THROW(sim::parse_scenario("[[channels]]\nname = \"x\"\nkind = \"ebay\"\n[[channels]]\nname = \"x\"\nkind = \"ebay\"\n"),
               sim::ScenarioError);
  EXPECT_THROW(sim::parse_scenario("[sim]\ntime_scale = -1\n"), sim::ScenarioError);
  EXPECT_THROW(sim::parse_scenario("[[channels]]\nname = \"a/b\"\nkind = \"ebay\"\n"), sim::ScenarioError);
  EXPECT_THROW(sim::parse_scenario("not toml ="), sim::ScenarioError);
  EXPECT_THROW(sim::parse_scenario("[[channels]]\nname = \"w\"\nkind = \"woocommerce\"\n[[channels.listings]]\nid = \"abc\"\n"),
               sim::ScenarioError);
  auto sc = sim::parse_scenario(R"(
[sim]
seed = 5
start_time = "2026-11-22T10:00:00Z"
[[channels]]
name = "a"
kind = "amazon"
rate_limits = { getOrders = [1.0, 2.0] }
  [[channels.listings]]
  sku = "S"
  quantity = 3
)");
  EXPECT_EQ(sc.seed, 5u);
  EXPECT_DOUBLE_EQ(*sc.start_time, kStart);
  EXPECT_EQ(sc.channels[0].listings[0].id, "S");
  EXPECT_EQ(sc.channels[0].rate_limits["getOrders"].second, 2.0);
  EXPECT_EQ(sc.channels[0].client_id, "amzn1.application-oa2-client.sim");
}

TEST(SimScenario, ExampleScenarioLoads) {
  auto sc = sim::load_scenario_file(STOCKSYNC_SIM_SOURCE_DIR "/scenarios/example.toml");
  EXPECT_EQ(sc.channels.size(), 5u);
  Harness h("");
  (void)h;
  auto clock = std::make_shared<sim::ManualClock>(kStart);
  sim::Sim s(sc, clock);
  EXPECT_EQ(s.channels().size(), 5u);
}

TEST(SimBuyers, SameScenarioAndSeedReproduceTheSameOrders) {
  Harness a(kBusy), b(kBusy);
  for (int i = 0; i < 36; ++i) a.advance(100);  // coarse steps
  for (int i = 0; i < 360; ++i) b.advance(10);  // fine steps
  json oa = orders_of(a), ob = orders_of(b);
  EXPECT_GT(oa.size(), 20u);
  EXPECT_EQ(oa, ob);
  std::string other = kBusy;
  other.replace(other.find("seed = 11"), 9, "seed = 12");
  Harness c(other);
  for (int i = 0; i < 36; ++i) c.advance(100);
  EXPECT_NE(orders_of(c), oa);
}

TEST(SimBuyers, OrdersOnlyWhileStockIsShownAndDecrementAtOnce) {
  Harness h(R"(
[sim]
seed = 1
[[channels]]
name = "eb"
kind = "ebay"
  [[channels.listings]]
  id = "A"
  quantity = 5
  [channels.buyers]
  orders_per_hour = 600
  max_quantity = 2
)");
  h.advance(3600);
  auto& ch = h.ch("eb");
  int64_t sold = 0;
  for (auto& o : ch.orders()) sold += o.quantity;
  EXPECT_EQ(sold, 5);
  EXPECT_EQ(ch.find("A")->shown, 0);
  EXPECT_GT(ch.stats.buyer_arrivals_without_stock, 0);
  // Every history step is an order taking exactly its quantity.
  // (At least three orders: at most 2 each, 5 in all; the loop below must not
  // pass vacuously on an empty history.)
  auto& hist = ch.find("A")->history;
  const auto& orders = ch.orders();
  ASSERT_GE(orders.size(), 3u);
  ASSERT_EQ(hist.size(), orders.size() + 1);
  EXPECT_EQ(hist[0].cause, "initial");
  EXPECT_EQ(hist[0].quantity, 5);
  for (size_t i = 1; i < hist.size(); ++i) {
    EXPECT_EQ(hist[i].cause, "order");
    EXPECT_EQ(hist[i].quantity, hist[i - 1].quantity - orders[i - 1].quantity) << "history step " << i;
  }
}

TEST(SimBuyers, SpikesRaiseTheRate) {
  Harness h(kBusy);
  h.advance(3600);
  int in_spike = 0, outside = 0;
  for (auto& o : h.ch("shop").orders()) {
    double rel = o.created - kStart;
    if (rel >= 1800 && rel < 2400) ++in_spike;
    else if (rel < 1800) ++outside;
  }
  // 10 minutes at 10x against 30 minutes at 1x (both listings, stock permitting).
  EXPECT_GT(in_spike, outside);
}

TEST(SimDelivery, DuplicatesDropsAndDelays) {
  Harness h(R"(
[sim]
seed = 9
[[channels]]
name = "shop"
kind = "shopify"
webhook_url = "http://127.0.0.1:9/h"
  [[channels.listings]]
  id = "1"
  quantity = 100000
  [channels.delivery]
  duplicate_rate = 0.3
  drop_rate = 0.2
  delay_rate = 0.3
  delay_min_s = 5
  delay_max_s = 10
)");
  FakeTransport t;
  h.sim->set_transport(&t);
  for (int i = 0; i < 200; ++i) h.call("POST", "/_sim/channels/shop/orders", {}, R"({"listing": "1"})");
  h.advance(60);
  auto st = h.sim->state()["channels"][0]["webhooks"];
  int64_t dropped = st["dropped"], dup = st["duplicated"];
  EXPECT_GT(dropped, 20);
  EXPECT_GT(dup, 30);
  EXPECT_GT(st["delayed"].get<int64_t>(), 30);
  EXPECT_EQ(static_cast<int64_t>(t.sent.size()), 200 - dropped + dup);
  // A duplicate carries the same event id as its original.
  std::map<std::string, int> per_event;
  for (auto& s : t.sent) ++per_event[s.headers.at("x-shopify-event-id")];
  int twice = 0;
  for (auto& [k, n] : per_event) twice += n == 2;
  EXPECT_EQ(twice, dup);
}

TEST(SimFaults, OutageWindowsErrorsAndTimeouts) {
  Harness h(R"(
[sim]
seed = 4
[[channels]]
name = "eb"
kind = "ebay"
  [channels.faults]
  error_rate = 0.2
  timeout_rate = 0.1
  outages = [ { start = 100, end = 200, status = 503 } ]
  latency = { dist = "uniform", min_ms = 10, max_ms = 20 }
)");
  int errors = 0, timeouts = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = h.call("GET", "/ebay/eb/sell/inventory/v1/offer?sku=A");
    if (r.timeout) ++timeouts;
    else if (r.status >= 500) ++errors;
    if (!r.timeout) {
      EXPECT_GE(r.delay_s, 0.010);
      EXPECT_LE(r.delay_s, 0.020);
    }
  }
  EXPECT_GT(errors, 15);
  EXPECT_GT(timeouts, 5);
  h.advance(150);
  for (int i = 0; i < 10; ++i) {
    auto r = h.call("GET", "/ebay/eb/sell/inventory/v1/offer?sku=A");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(json::parse(r.body)["errors"][0]["errorId"], 2003);
  }
  auto st = h.sim->state()["channels"][0];
  EXPECT_GT(st["failed"].get<int64_t>(), 25);
  EXPECT_EQ(st["timeouts"], timeouts);
}

TEST(SimFaults, DriftAndSilentChanges) {
  Harness h(R"(
[[channels]]
name = "shop"
kind = "shopify"
webhook_url = "http://127.0.0.1:9/h"
webhook_topics = ["orders/create", "inventory_levels/update"]
  [[channels.listings]]
  id = "1"
  quantity = 10
  [channels.faults]
  drift = [ { at = 10, listing = "1", quantity = 4 }, { at = 20, listing = "1", delta = -1, silent = true } ]
)");
  FakeTransport t;
  h.sim->set_transport(&t);
  h.advance(15);
  EXPECT_EQ(h.ch("shop").find("1")->shown, 4);
  ASSERT_EQ(t.sent.size(), 1u);
  EXPECT_EQ(t.sent[0].headers.at("x-shopify-topic"), "inventory_levels/update");
  EXPECT_EQ(json::parse(t.sent[0].body)["available"], 4);
  h.advance(10);
  EXPECT_EQ(h.ch("shop").find("1")->shown, 3);
  EXPECT_EQ(t.sent.size(), 1u);  // webhook-silent
  auto r = h.call("POST", "/_sim/channels/shop/listings/1", {}, R"({"quantity": 8, "silent": true})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(h.ch("shop").find("1")->history.back().cause, "silent_change");
}

TEST(SimInspect, StateShowsListingsOrdersCallsAndDeliveries) {
  Harness h(kBusy);
  FakeTransport t;
  t.script = {500};
  h.sim->set_transport(&t);
  h.call("POST", "/_sim/channels/shop/orders", {}, R"({"listing": "1", "quantity": 2})");
  h.call("POST", "/shopify/shop/admin/api/2026-04/graphql.json", {{"X-Shopify-Access-Token", "bad"}}, "{}");
  auto r = h.call("GET", "/_sim/state");
  ASSERT_EQ(r.status, 200);
  json st = json::parse(r.body);
  EXPECT_EQ(st["seed"], 11);
  auto& shop = st["channels"][0];
  EXPECT_EQ(shop["kind"], "shopify");
  EXPECT_EQ(shop["listings"][0]["shown"], 398);
  EXPECT_EQ(shop["listings"][0]["history"][1]["cause"], "order");
  EXPECT_EQ(shop["orders"].size(), 1u);
  EXPECT_EQ(shop["calls"]["graphql"], 1);
  EXPECT_EQ(shop["auth_failures"], 1);
  EXPECT_EQ(shop["statuses"]["401"], 1);
  EXPECT_EQ(shop["webhooks"]["deliveries"][0]["status"], 500);
  EXPECT_EQ(shop["webhooks"]["retries"], 1);
  EXPECT_EQ(h.call("GET", "/nowhere").status, 404);
  // Malformed input never takes the simulator down.
  auto bad = h.call("POST", "/_sim/channels/shop/orders", {}, R"({"listing": 5})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(h.call("POST", "/_sim/channels/nope/outage").status, 404);
  // Control: outage on/off.
  h.call("POST", "/_sim/channels/eb/outage", {}, R"({"active": true, "status": 502})");
  EXPECT_EQ(h.call("GET", "/ebay/eb/sell/inventory/v1/offer?sku=A").status, 502);
  h.call("POST", "/_sim/channels/eb/outage", {}, R"({"active": false})");
  EXPECT_EQ(h.call("GET", "/ebay/eb/sell/inventory/v1/offer?sku=A").status, 401);
}
