// Shopify Admin GraphQL 2026-04: limits, CAS, idempotency, throttling, auth,
// reconciliation queries and signed webhooks (channel-apis.md §1).
#include "fake_transport.hpp"
#include "helpers.hpp"
#include "shopify_graphql.hpp"

using namespace simtest;

namespace {

const char* kScenario = R"(
[sim]
seed = 3
webhook_retry_compression = 60
[[channels]]
name = "shop"
kind = "shopify"
access_token = "shpat_t"
client_secret = "hush"
bucket_size = 2000
restore_rate = 100
webhook_url = "http://127.0.0.1:9/hook"
  [[channels.listings]]
  id = "1001"
  variant_id = "5001"
  sku = "SKU-1"
  quantity = 9
  [[channels.listings]]
  id = "1002"
  sku = "SKU-2"
  quantity = 4
)";

const std::string kPath = "/shopify/shop/admin/api/2026-04/graphql.json";

std::string set_mutation(const std::string& quantities, const std::string& directive = R"(@idempotent(key: "k1"))") {
  return R"(mutation { inventorySetQuantities(input: {name: "available", reason: "correction", referenceDocumentUri: "gid://stocksync/Push/1", quantities: [)" +
         quantities + "]}) " + directive +
         R"( { inventoryAdjustmentGroup { id createdAt reason changes { name delta quantityAfterChange item { id } location { id } } } userErrors { code field message } } })";
}

std::string q(const std::string& item, int quantity, const std::string& cfq) {
  return R"({inventoryItemId: "gid://shopify/InventoryItem/)" + item +
         R"(", locationId: "gid://shopify/Location/124656943", quantity: )" + std::to_string(quantity) +
         (cfq.empty() ? "" : ", changeFromQuantity: " + cfq) + "}";
}

struct Shop : Harness {
  Shop() : Harness(kScenario) {}
  json gql(const std::string& query, json variables = json::object(), int* status = nullptr) {
    json req = {{"query", query}, {"variables", variables}};
    auto r = call("POST", kPath, {{"X-Shopify-Access-Token", "shpat_t"}, {"Content-Type", "application/json"}},
                  req.dump());
    if (status) *status = r.status;
    return body(r);
  }
  int64_t shown(const std::string& id) { return ch("shop").find(id)->shown; }
};

}  // namespace

TEST(SimShopify, SetQuantitiesSuccessShapeAndCost) {
  Shop s;
  int status = 0;
  json r = s.gql(set_mutation(q("1001", 7, "9")), json::object(), &status);
  EXPECT_EQ(status, 200);
  auto& p = r["data"]["inventorySetQuantities"];
  EXPECT_TRUE(p["userErrors"].empty());
  auto& changes = p["inventoryAdjustmentGroup"]["changes"];
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0]["name"], "available");
  EXPECT_EQ(changes[0]["delta"], -2);
  EXPECT_EQ(changes[0]["quantityAfterChange"], 7);
  EXPECT_EQ(changes[1]["name"], "on_hand");
  EXPECT_EQ(changes[0]["item"]["id"], "gid://shopify/InventoryItem/1001");
  EXPECT_EQ(p["inventoryAdjustmentGroup"]["reason"], "correction");
  auto& cost = r["extensions"]["cost"];
  EXPECT_EQ(cost["requestedQueryCost"], 10);
  EXPECT_EQ(cost["actualQueryCost"], 10);
  EXPECT_EQ(cost["throttleStatus"]["maximumAvailable"], 2000.0);
  EXPECT_EQ(cost["throttleStatus"]["currentlyAvailable"], 1990.0);
  EXPECT_EQ(cost["throttleStatus"]["restoreRate"], 100.0);
  EXPECT_EQ(s.shown("1001"), 7);
}

TEST(SimShopify, StaleChangeFromQuantityRejectsWholeCall) {
  Shop s;
  json r = s.gql(set_mutation(q("1001", 5, "9") + "," + q("1002", 1, "3")));
  auto& p = r["data"]["inventorySetQuantities"];
  EXPECT_TRUE(p["inventoryAdjustmentGroup"].is_null());
  ASSERT_EQ(p["userErrors"].size(), 1u);
  EXPECT_EQ(p["userErrors"][0]["code"], "CHANGE_FROM_QUANTITY_STALE");
  EXPECT_EQ(p["userErrors"][0]["field"], json::array({"input", "quantities", "1", "changeFromQuantity"}));
  EXPECT_EQ(s.shown("1001"), 9);  // nothing applied
  EXPECT_EQ(s.shown("1002"), 4);
  // null opts out of the check.
  r = s.gql(set_mutation(q("1002", 1, "null"), R"(@idempotent(key: "k2"))"));
  EXPECT_TRUE(r["data"]["inventorySetQuantities"]["userErrors"].empty());
  EXPECT_EQ(s.shown("1002"), 1);
}

TEST(SimShopify, ChangeFromQuantityMustBePresentOnEveryQuantity) {
  Shop s;
  json r = s.gql(set_mutation(q("1001", 5, "9") + "," + q("1002", 1, "")));
  auto& errs = r["data"]["inventorySetQuantities"]["userErrors"];
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0]["code"], "COMPARE_QUANTITY_REQUIRED");
  EXPECT_EQ(errs[0]["field"][2], "1");
  EXPECT_EQ(s.shown("1001"), 9);
}

TEST(SimShopify, PreApril2026CompareFieldsAreRejected) {
  Shop s;
  std::string bad = R"({inventoryItemId: "gid://shopify/InventoryItem/1001", locationId: "gid://shopify/Location/124656943", quantity: 5, compareQuantity: 9})";
  json r = s.gql(set_mutation(bad));
  ASSERT_TRUE(r.contains("errors"));
  EXPECT_FALSE(r.contains("data"));
  EXPECT_EQ(r["errors"][0]["extensions"]["code"], "argumentNotAccepted");
  EXPECT_EQ(r["errors"][0]["extensions"]["argumentName"], "compareQuantity");
  // Through a variable, the problem is reported on the variable.
  json input = {{"name", "available"}, {"reason", "correction"}, {"ignoreCompareQuantity", true},
                {"quantities", json::array({{{"inventoryItemId", "gid://shopify/InventoryItem/1001"},
                                             {"locationId", "gid://shopify/Location/124656943"},
                                             {"quantity", 5}, {"changeFromQuantity", 9}}})}};
  r = s.gql(R"(mutation M($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) @idempotent(key: "v1") { userErrors { code } } })",
            {{"input", input}});
  ASSERT_TRUE(r.contains("errors"));
  EXPECT_NE(r["errors"][0]["message"].get<std::string>().find("Variable $input of type InventorySetQuantitiesInput!"),
            std::string::npos);
  EXPECT_EQ(r["errors"][0]["extensions"]["problems"][0]["path"], json::array({"ignoreCompareQuantity"}));
  EXPECT_EQ(s.shown("1001"), 9);
}

TEST(SimShopify, IdempotentDirectiveIsRequired) {
  Shop s;
  json r = s.gql(set_mutation(q("1001", 5, "9"), ""));
  ASSERT_TRUE(r.contains("errors"));
  EXPECT_FALSE(r.contains("data"));
  EXPECT_NE(r["errors"][0]["message"].get<std::string>().find("@idempotent"), std::string::npos);
  EXPECT_EQ(s.shown("1001"), 9);
  // The key may also come from a variable.
  r = s.gql(R"(mutation M($k: String!) { inventorySetQuantities(input: {name: "available", reason: "correction", quantities: [)" +
                q("1001", 5, "9") + R"(]}) @idempotent(key: $k) { userErrors { code } } })",
            {{"k", "from-var"}});
  EXPECT_TRUE(r["data"]["inventorySetQuantities"]["userErrors"].empty());
  EXPECT_EQ(s.shown("1001"), 5);
}

TEST(SimShopify, IdempotentRetryReplaysAndMismatchIsAnError) {
  Shop s;
  json first = s.gql(set_mutation(q("1001", 7, "9")));
  s.advance(1);
  json again = s.gql(set_mutation(q("1001", 7, "9")));  // a true retry: same key, same input
  EXPECT_EQ(again["data"], first["data"]);             // original result, same group id and time
  EXPECT_EQ(s.shown("1001"), 7);
  EXPECT_EQ(s.ch("shop").listings()[0].history.size(), 2u);  // initial + one push
  json other = s.gql(set_mutation(q("1001", 3, "7")));      // same key, different input
  auto& errs = other["data"]["inventorySetQuantities"]["userErrors"];
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0]["code"], "IDEMPOTENCY_KEY_PARAMETER_MISMATCH");
  EXPECT_EQ(s.shown("1001"), 7);
}

// A key is remembered for the retention window (a day by default), then
// forgotten: the same key and input after it is a new operation.
TEST(SimShopify, IdempotencyKeyIsForgottenAfterRetention) {
  Shop s;
  s.gql(set_mutation(q("1001", 7, "9")));
  s.gql(set_mutation(q("1002", 3, "4"), R"(@idempotent(key: "k2"))"));
  s.advance(86400 - 10);
  json replay = s.gql(set_mutation(q("1001", 7, "9")));  // within the day: the original result
  EXPECT_TRUE(replay["data"]["inventorySetQuantities"]["userErrors"].empty());
  EXPECT_EQ(s.ch("shop").listings()[0].history.size(), 2u);
  s.advance(20);
  json fresh = s.gql(set_mutation(q("1001", 7, "9")));  // a day later: compared afresh, now stale
  auto& errs = fresh["data"]["inventorySetQuantities"]["userErrors"];
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0]["code"], "CHANGE_FROM_QUANTITY_STALE");
  json other = s.gql(set_mutation(q("1002", 2, "3"), R"(@idempotent(key: "k2"))"));  // k2 forgotten too
  EXPECT_TRUE(other["data"]["inventorySetQuantities"]["userErrors"].empty());
  EXPECT_EQ(s.shown("1002"), 2);
}

TEST(SimShopify, IdempotencyKeyInFlightGivesConcurrentRequest) {
  Shop s;
  auto& shop = dynamic_cast<sim::ShopifyChannel&>(s.ch("shop"));
  json req = {{"query", set_mutation(q("1001", 7, "9"))}};
  // The first answer is held for 2 s (latency): the key is in flight meanwhile.
  auto r1 = shop.graphql(req.dump(), false, kStart, 2.0);
  auto r2 = shop.graphql(req.dump(), false, kStart + 0.5, 0);
  auto p2 = json::parse(r2.body)["data"]["inventorySetQuantities"];
  EXPECT_EQ(p2["userErrors"][0]["code"], "IDEMPOTENCY_CONCURRENT_REQUEST");
  auto r3 = shop.graphql(req.dump(), false, kStart + 2.5, 0);
  EXPECT_EQ(json::parse(r3.body)["data"], json::parse(r1.body)["data"]);
}

TEST(SimShopify, AtMost250QuantitiesPerCall) {
  Shop s;
  std::string many;
  for (int i = 0; i < 251; ++i) many += (i ? "," : "") + q(std::to_string(90000 + i), 1, "null");
  json r = s.gql(set_mutation(many));
  ASSERT_TRUE(r.contains("errors"));
  EXPECT_EQ(r["errors"][0]["extensions"]["code"], "MAX_INPUT_SIZE_EXCEEDED");
  // 250 passes the limit (and fails item by item, as userErrors).
  many.clear();
  for (int i = 0; i < 250; ++i) many += (i ? "," : "") + q(std::to_string(90000 + i), 1, "null");
  r = s.gql(set_mutation(many, R"(@idempotent(key: "k250"))"));
  ASSERT_TRUE(r.contains("data"));
  EXPECT_EQ(r["data"]["inventorySetQuantities"]["userErrors"][0]["code"], "INVALID_INVENTORY_ITEM");
}

TEST(SimShopify, UserErrorsForBadInput) {
  Shop s;
  json r = s.gql(set_mutation(q("1001", 1, "9") + "," + q("1001", 2, "9") + "," +
                              R"({inventoryItemId: "gid://shopify/InventoryItem/1002", locationId: "gid://shopify/Location/777", quantity: -1, changeFromQuantity: null})"));
  std::set<std::string> codes;
  for (auto& e : r["data"]["inventorySetQuantities"]["userErrors"]) codes.insert(e["code"].get<std::string>());
  EXPECT_TRUE(codes.count("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"));
  EXPECT_TRUE(codes.count("INVALID_LOCATION"));
  EXPECT_TRUE(codes.count("INVALID_QUANTITY_NEGATIVE"));
  r = s.gql(R"(mutation { inventorySetQuantities(input: {name: "committed", reason: "because", quantities: [)" +
            q("1001", 1, "9") + R"(]}) @idempotent(key: "x") { userErrors { code field } } })");
  codes.clear();
  for (auto& e : r["data"]["inventorySetQuantities"]["userErrors"]) codes.insert(e["code"].get<std::string>());
  EXPECT_TRUE(codes.count("INVALID_NAME"));
  EXPECT_TRUE(codes.count("INVALID_REASON"));
  EXPECT_EQ(s.shown("1001"), 9);
}

TEST(SimShopify, ThrottledIsHttp200WithThrottleStatus) {
  Harness h(std::string(kScenario).replace(std::string(kScenario).find("bucket_size = 2000"), 18, "bucket_size = 30 "));
  auto call = [&](const std::string& key) {
    json req = {{"query", set_mutation(q("1001", 9, "null"), "@idempotent(key: \"" + key + "\")")}};
    return h.call("POST", kPath, {{"X-Shopify-Access-Token", "shpat_t"}}, req.dump());
  };
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(json::parse(call("a" + std::to_string(i)).body).contains("errors"));
  auto r = call("a3");
  EXPECT_EQ(r.status, 200);  // not a 429
  json b = json::parse(r.body);
  EXPECT_FALSE(b.contains("data"));
  EXPECT_EQ(b["errors"][0]["extensions"]["code"], "THROTTLED");
  EXPECT_EQ(b["errors"][0]["message"], "Throttled");
  EXPECT_TRUE(b["extensions"]["cost"]["actualQueryCost"].is_null());
  EXPECT_EQ(b["extensions"]["cost"]["requestedQueryCost"], 10);
  EXPECT_LT(b["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"].get<double>(), 10);
  EXPECT_EQ(b["extensions"]["cost"]["throttleStatus"]["restoreRate"], 100.0);
  EXPECT_EQ(h.sim->channel("shop")->stats.throttled, 1);
  h.advance(0.2);  // 100 points/s restores 10 points in 0.1 s
  EXPECT_FALSE(json::parse(call("a4").body).contains("errors"));
}

TEST(SimShopify, ThrottlingStormAndMaxCost) {
  Shop s;
  s.ch("shop").faults.manual_storm = true;
  json r = s.gql(set_mutation(q("1001", 7, "9")));
  EXPECT_EQ(r["errors"][0]["extensions"]["code"], "THROTTLED");
  EXPECT_EQ(s.shown("1001"), 9);
  s.ch("shop").faults.manual_storm = false;
  r = s.gql(R"({ inventoryItems(first: 250) { nodes { id inventoryLevels(first: 250) { nodes { id quantities(names: ["available"]) { name quantity } } } } } })");
  EXPECT_EQ(r["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED");
}

TEST(SimShopify, AuthFailureIs401) {
  Shop s;
  auto r = s.call("POST", kPath, {{"X-Shopify-Access-Token", "wrong"}}, R"({"query":"{ shop { name } }"})");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["errors"],
            "[API] Invalid API key or access token (unrecognized login or wrong password)");
  r = s.call("POST", kPath, {}, R"({"query":"{ shop { name } }"})");
  EXPECT_EQ(r.status, 401);
  r = s.call("POST", "/shopify/shop/admin/api/2025-01/graphql.json", {{"X-Shopify-Access-Token", "shpat_t"}}, "{}");
  EXPECT_EQ(r.status, 404);
}

TEST(SimShopify, ReconciliationQueryAndPagination) {
  Shop s;
  json r = s.gql(R"(query($id: ID!) { inventoryItem(id: $id) { id sku inventoryLevels(first: 10) { nodes { location { id } quantities(names: ["available", "on_hand", "committed"]) { name quantity } } } } })",
                 {{"id", "gid://shopify/InventoryItem/1001"}});
  auto& item = r["data"]["inventoryItem"];
  EXPECT_EQ(item["sku"], "SKU-1");
  auto& qs = item["inventoryLevels"]["nodes"][0]["quantities"];
  EXPECT_EQ(qs[0]["name"], "available");
  EXPECT_EQ(qs[0]["quantity"], 9);
  EXPECT_EQ(qs[1]["quantity"], 9);
  EXPECT_EQ(r["extensions"]["cost"]["requestedQueryCost"], 1 + 2 + 10 * (1 + 1));
  // Page through all items, one per page.
  std::vector<std::string> seen;
  json after = nullptr;
  for (int i = 0; i < 5; ++i) {
    r = s.gql(R"(query($after: String) { inventoryItems(first: 1, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } })",
              {{"after", after}});
    auto& c = r["data"]["inventoryItems"];
    for (auto& e : c["edges"]) seen.push_back(e["node"]["id"]);
    if (!c["pageInfo"]["hasNextPage"].get<bool>()) break;
    after = c["pageInfo"]["endCursor"];
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"gid://shopify/InventoryItem/1001", "gid://shopify/InventoryItem/1002"}));
  // Unknown fields are validation errors.
  r = s.gql(R"({ inventoryItem(id: "gid://shopify/InventoryItem/1001") { bogus } })");
  EXPECT_EQ(r["errors"][0]["extensions"]["code"], "undefinedField");
  EXPECT_FALSE(r.contains("data"));
}

TEST(SimShopify, AdjustQuantities) {
  Shop s;
  json r = s.gql(R"(mutation { inventoryAdjustQuantities(input: {name: "available", reason: "correction", changes: [{inventoryItemId: "gid://shopify/InventoryItem/1001", locationId: "gid://shopify/Location/124656943", delta: -3, changeFromQuantity: 9}]}) @idempotent(key: "adj1") { inventoryAdjustmentGroup { changes { name delta quantityAfterChange } } userErrors { code } } })");
  EXPECT_TRUE(r["data"]["inventoryAdjustQuantities"]["userErrors"].empty());
  EXPECT_EQ(r["data"]["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]["changes"][0]["quantityAfterChange"], 6);
  EXPECT_EQ(s.shown("1001"), 6);
  r = s.gql(R"(mutation { inventoryAdjustQuantities(input: {name: "damaged", reason: "damaged", changes: [{inventoryItemId: "gid://shopify/InventoryItem/1001", locationId: "gid://shopify/Location/124656943", delta: 1, changeFromQuantity: null}]}) @idempotent(key: "adj2") { userErrors { code } } })");
  EXPECT_EQ(r["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"], "INVALID_LEDGER_DOCUMENT");
  r = s.gql(R"(mutation { inventoryAdjustQuantities(input: {name: "available", reason: "correction", changes: [{inventoryItemId: "gid://shopify/InventoryItem/1001", locationId: "gid://shopify/Location/124656943", delta: 1, changeFromQuantity: 9}]}) @idempotent(key: "adj3") { userErrors { code } } })");
  EXPECT_EQ(r["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"], "CHANGE_FROM_QUANTITY_STALE");
  EXPECT_EQ(s.shown("1001"), 6);
}

TEST(SimShopify, OrderWebhooksSignedRetriedWithStableEventId) {
  Shop s;
  FakeTransport t;
  t.script = {500, 503};
  s.sim->set_transport(&t);
  auto r = s.call("POST", "/_sim/channels/shop/orders", {}, R"({"listing": "1001", "quantity": 2})");
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(s.shown("1001"), 7);  // the channel decrements its own count at once
  ASSERT_EQ(t.sent.size(), 1u);
  auto first = t.sent[0];  // a copy: sent grows below
  EXPECT_EQ(first.headers.at("x-shopify-topic"), "orders/create");
  EXPECT_EQ(first.headers.at("x-shopify-shop-domain"), "shop.myshopify.com");
  EXPECT_EQ(first.headers.at("x-shopify-api-version"), "2026-04");
  // A second implementation verifies the signature.
  std::string cli = shell("printf '%s' " + sq(first.body) + " | openssl dgst -sha256 -hmac hush -binary | base64");
  EXPECT_EQ(first.headers.at("x-shopify-hmac-sha256"), cli);
  json order = json::parse(first.body);
  EXPECT_EQ(order["line_items"][0]["variant_id"], 5001);
  EXPECT_EQ(order["line_items"][0]["quantity"], 2);
  EXPECT_EQ(order["name"], "#1001");
  // Retries: 8 over 4 hours, compressed 60x -> first retry after 14400/255/60 s.
  s.advance(0.5);
  EXPECT_EQ(t.sent.size(), 1u);
  s.advance(0.5);
  ASSERT_EQ(t.sent.size(), 2u);
  s.advance(2);
  ASSERT_EQ(t.sent.size(), 3u);  // third attempt succeeds (script exhausted -> 200)
  s.advance(300);
  EXPECT_EQ(t.sent.size(), 3u);
  EXPECT_EQ(t.sent[1].headers.at("x-shopify-event-id"), first.headers.at("x-shopify-event-id"));
  EXPECT_EQ(t.sent[2].headers.at("x-shopify-event-id"), first.headers.at("x-shopify-event-id"));
  EXPECT_NE(t.sent[1].headers.at("x-shopify-webhook-id"), first.headers.at("x-shopify-webhook-id"));
  EXPECT_EQ(t.sent[2].body, first.body);  // original payload
  auto st = s.sim->state();
  EXPECT_EQ(st["channels"][0]["webhooks"]["retries"], 2);
  EXPECT_EQ(st["channels"][0]["webhooks"]["delivered"], 1);
  // Cancelling sends orders/cancelled and restocks.
  std::string id = std::to_string(order["id"].get<int64_t>());
  r = s.call("POST", "/_sim/channels/shop/orders/" + id + "/cancel");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(t.sent.size(), 4u);
  EXPECT_EQ(t.sent[3].headers.at("x-shopify-topic"), "orders/cancelled");
  EXPECT_FALSE(json::parse(t.sent[3].body)["cancelled_at"].is_null());
  EXPECT_EQ(s.shown("1001"), 9);
}

TEST(SimShopify, RetryScheduleIsEightOverFourHours) {
  auto d = sim::shopify_retry_delays(1);
  ASSERT_EQ(d.size(), 8u);
  double sum = 0;
  for (double x : d) sum += x;
  EXPECT_NEAR(sum, 4 * 3600, 1e-6);
  for (size_t i = 1; i < d.size(); ++i) EXPECT_NEAR(d[i], 2 * d[i - 1], 1e-9);
  EXPECT_NEAR(sim::shopify_retry_delays(60)[7] * 60, d[7], 1e-9);
}

TEST(SimShopify, ItemAtSecondLocationIsItsOwnLevel) {
  Harness h(R"(
[[channels]]
name = "shop"
kind = "shopify"
access_token = "shpat_t"
  [[channels.listings]]
  id = "1001"
  quantity = 5
  [[channels.listings]]
  id = "1001@555"
  quantity = 2
)");
  json req = {{"query", R"({ inventoryItem(id: "gid://shopify/InventoryItem/1001") { inventoryLevels(first: 5) { nodes { location { id } quantities(names: ["available"]) { quantity } } } } })"}};
  auto r = h.call("POST", kPath, {{"X-Shopify-Access-Token", "shpat_t"}}, req.dump());
  auto nodes = json::parse(r.body)["data"]["inventoryItem"]["inventoryLevels"]["nodes"];
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[1]["location"]["id"], "gid://shopify/Location/555");
  EXPECT_EQ(nodes[1]["quantities"][0]["quantity"], 2);
  req = {{"query", set_mutation(R"({inventoryItemId: "gid://shopify/InventoryItem/1001", locationId: "gid://shopify/Location/555", quantity: 1, changeFromQuantity: 2})")}};
  r = h.call("POST", kPath, {{"X-Shopify-Access-Token", "shpat_t"}}, req.dump());
  EXPECT_TRUE(json::parse(r.body)["data"]["inventorySetQuantities"]["userErrors"].empty());
  EXPECT_EQ(h.ch("shop").find("1001@555")->shown, 1);
  EXPECT_EQ(h.ch("shop").find("1001")->shown, 5);
}
