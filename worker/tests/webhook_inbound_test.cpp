// Inbound webhooks without a database: signatures (known answers from the
// fact sheet and from `openssl dgst -sha256 -hmac`), freshness, parsing and
// the mapping to ingest_webhook()'s normalized events; the [webhooks] table.
#include "config.hpp"
#include "util/crypto.hpp"
#include "webhooks/inbound.hpp"
#include "webhooks/woo_secret.hpp"
#include "webhooks/webhook_server.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace stocksync::worker;
using namespace stocksync::worker::webhooks;
using nlohmann::json;

namespace {

constexpr std::int64_t kNow = 1795000000;  // 2026-11-18

Source shopify() { return {"shop", SourceKind::shopify, "hush", "shop", "default", "shop.myshopify.com"}; }
Source woo() { return {"woo", SourceKind::woocommerce, "wc&secret", "woo", "default", ""}; }
Source erp() {
  return {"erp", SourceKind::standard, *std_webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "erp-orders", "wh1", ""};
}

Delivery shopify_delivery(const std::string &topic, const std::string &body, const std::string &secret = "hush") {
  Delivery d;
  d.body = body;
  d.now = kNow;
  d.headers = {{"x-shopify-topic", topic},
               {"x-shopify-hmac-sha256", base64_encode(hmac_sha256(secret, body))},
               {"x-shopify-event-id", "ev-1"},
               {"x-shopify-webhook-id", "wh-attempt-1"},
               {"x-shopify-shop-domain", "shop.myshopify.com"},
               {"x-shopify-triggered-at", "2026-11-18T07:46:00.000Z"}};
  return d;
}

Delivery std_delivery(const std::string &body, std::int64_t ts, const std::string &id = "msg_1") {
  Delivery d;
  d.body = body;
  d.now = kNow;
  d.headers = {{"webhook-id", id}, {"webhook-timestamp", std::to_string(ts)},
               {"webhook-signature", std_webhook_signature(erp().key, id, ts, body)}};
  return d;
}

std::string openssl_hmac_b64(const std::string &key, const std::string &body) {
  char path[] = "/tmp/webhook_body_XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
  close(fd);
  std::string cmd = "openssl dgst -sha256 -hmac '" + key + "' -binary " + path + " | base64 -w0";
  FILE *p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[256];
  while (p && fgets(buf, sizeof buf, p))
    out += buf;
  if (p)
    pclose(p);
  unlink(path);
  return out;
}

}  // namespace

TEST(WorkerWebhookSignature, ShopifyKnownAnswerFromTheFactSheet) {
  std::string body = R"({"id":820982911946154508,"name":"#1001","line_items":[{"sku":"SKU-1","quantity":2}]})";
  Delivery d = shopify_delivery("orders/create", body);
  d.headers["x-shopify-hmac-sha256"] = "TU+sb5lkxzr+jXxrjbguOCXNzElmTBpqgEUliVqBpZM=";
  EXPECT_FALSE(check_signature(shopify(), d, {}).has_value());
  // The same header over a body one byte different is refused.
  d.body[d.body.size() - 3] = '3';
  auto r = check_signature(shopify(), d, {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->reason, "bad_signature");
}

TEST(WorkerWebhookSignature, MatchesOpensslDgstForManyBodies) {
  std::string key = "shpss_0123456789abcdef";
  for (std::string body : {std::string("{}"), std::string(R"({"id":1,"line_items":[]})"), std::string(5000, 'x'),
                           std::string("\x00\x01\xff binary", 10)}) {
    std::string expected = openssl_hmac_b64(key, body);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(base64_encode(hmac_sha256(key, body)), expected);
    Delivery d = shopify_delivery("orders/create", body, key);
    Source s = shopify();
    s.key = key;
    d.headers["x-shopify-hmac-sha256"] = expected;
    EXPECT_FALSE(check_signature(s, d, {}).has_value());
  }
  // WooCommerce: the same computation over the raw body with its secret.
  std::string wbody = R"({"id":727,"status":"processing","date_modified_gmt":"2026-11-22T10:00:00","line_items":[{"product_id":799,"variation_id":801,"sku":"SKU-1","quantity":2}]})";
  EXPECT_EQ(openssl_hmac_b64("wc&secret", wbody), "GPn7ZPc5sYoNtWYKlZ3vWwF7Fm9oavyyIflOZXod1Kg=");
  Delivery d;
  d.body = wbody;
  d.headers = {{"x-wc-webhook-signature", "GPn7ZPc5sYoNtWYKlZ3vWwF7Fm9oavyyIflOZXod1Kg="}};
  EXPECT_FALSE(check_signature(woo(), d, {}).has_value());
}

TEST(WorkerWebhookSignature, MissingGarbledAndWrongKeyAreRejected) {
  Delivery d = shopify_delivery("orders/create", "{}");
  d.headers.erase("x-shopify-hmac-sha256");
  EXPECT_EQ(check_signature(shopify(), d, {})->reason, "missing_signature");
  d.headers["x-shopify-hmac-sha256"] = "not base64!";
  EXPECT_EQ(check_signature(shopify(), d, {})->reason, "bad_signature");
  d.headers["x-shopify-hmac-sha256"] = base64_encode(hmac_sha256("other", "{}"));
  EXPECT_EQ(check_signature(shopify(), d, {})->reason, "bad_signature");
  d.headers["x-shopify-hmac-sha256"] = base64_encode(hmac_sha256("hush", "{}").substr(0, 31));  // truncated
  EXPECT_EQ(check_signature(shopify(), d, {})->status, 401);
}

TEST(WorkerWebhookSignature, StandardWebhooksKnownAnswerAndTolerance) {
  // Fact sheet §6 test vector.
  std::string body = R"({"type":"stock.changed","timestamp":"2026-11-22T10:00:00Z","data":{"sku":"SKU-1","available":7}})";
  Delivery d;
  d.body = body;
  d.now = 1674087231;
  d.headers = {{"webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"},
               {"webhook-timestamp", "1674087231"},
               {"webhook-signature", "v0,abc v1,AhxNt/Qbiw4L8tpRIH3A3oW642w1nM8+KAPGosNXifA="}};
  EXPECT_FALSE(check_signature(erp(), d, {}).has_value());
  d.now += 300;
  EXPECT_FALSE(check_signature(erp(), d, {}).has_value());  // at the edge of the tolerance
  d.now += 1;
  EXPECT_EQ(check_signature(erp(), d, {})->reason, "stale");
  d.now = 1674087231 - 301;  // from the future
  EXPECT_EQ(check_signature(erp(), d, {})->reason, "stale");
  d.now = 1674087231;
  d.headers["webhook-id"] = "msg_other";  // the id is signed too
  EXPECT_EQ(check_signature(erp(), d, {})->reason, "bad_signature");
  d.headers.erase("webhook-timestamp");
  EXPECT_EQ(check_signature(erp(), d, {})->reason, "missing_signature");
}

TEST(WorkerWebhookMapping, ShopifyOrderBecomesARecordedReservation) {
  std::string body = R"({"id":820982911946154508,"financial_status":"paid","line_items":[
      {"id":1,"variant_id":39072856,"sku":"SKU-1","quantity":2},{"id":2,"variant_id":null,"sku":"","quantity":0}]})";
  webhooks::Decision d = decide(shopify(), shopify_delivery("orders/create", body), {});
  ASSERT_EQ(d.kind, webhooks::Decision::Kind::ingest) << d.detail;
  EXPECT_EQ(d.ingest->event_id, "ev-1");  // X-Shopify-Event-Id, not the per-attempt Webhook-Id
  EXPECT_EQ(d.ingest->topic, "orders/create");
  EXPECT_EQ(d.ingest->event, json::parse(R"({"action":"order","channel":"shop","order_ref":"820982911946154508",
      "paid":true,"ttl_s":86400,"lines":[{"ids":["39072856","gid://shopify/ProductVariant/39072856"],"sku":"SKU-1","qty":2}]})"));
  auto p = ingest_params(shopify(), *d.ingest);
  EXPECT_EQ(p[0], "shop");
  EXPECT_EQ(json::parse(p[3]), d.ingest->event);

  webhooks::Decision pending = decide(shopify(), shopify_delivery("orders/create", R"({"id":5,"financial_status":"pending","line_items":[]})"), {});
  EXPECT_EQ(pending.ingest->event["paid"], false);
}

// Every install of an app signs with the app's client secret: a delivery of
// another shop, correctly signed, is refused before anything is parsed.
TEST(WorkerWebhookMapping, ShopifyDeliveryOfAnotherShopIsRefused) {
  std::string body = R"({"id":5550001,"financial_status":"paid","line_items":[{"variant_id":1,"sku":"SKU-1","quantity":3}]})";
  Delivery d = shopify_delivery("orders/create", body);
  d.headers["x-shopify-shop-domain"] = "other-shop.myshopify.com";
  webhooks::Decision other = decide(shopify(), d, {});
  EXPECT_EQ(other.kind, webhooks::Decision::Kind::reject);
  EXPECT_EQ(other.status, 401);
  EXPECT_EQ(other.reason, "wrong_shop");
  EXPECT_FALSE(other.ingest);
  d.headers.erase("x-shopify-shop-domain");
  EXPECT_EQ(decide(shopify(), d, {}).reason, "wrong_shop");
  d.headers["x-shopify-shop-domain"] = "Shop.MyShopify.com";  // host names compare without case
  EXPECT_EQ(decide(shopify(), d, {}).kind, webhooks::Decision::Kind::ingest);
  Source unnamed = shopify();
  unnamed.shop_domain.clear();  // never matches, not even an empty header
  d.headers["x-shopify-shop-domain"] = "";
  EXPECT_EQ(decide(unnamed, d, {}).reason, "wrong_shop");
}

// An order created unpaid (bank deposit, cash on delivery) is a soft hold;
// its orders/paid delivery is the order again, paid, which commits the hold.
TEST(WorkerWebhookMapping, ShopifyPaymentOfAnUnpaidOrderIsTheOrderPaid) {
  std::string created = R"({"id":77,"financial_status":"pending","line_items":[{"variant_id":1,"sku":"SKU-1","quantity":2}]})";
  webhooks::Decision c = decide(shopify(), shopify_delivery("orders/create", created), {});
  ASSERT_EQ(c.kind, webhooks::Decision::Kind::ingest) << c.detail;
  EXPECT_EQ(c.ingest->event["paid"], false);
  std::string paid = R"({"id":77,"financial_status":"paid","line_items":[{"variant_id":1,"sku":"SKU-1","quantity":2}]})";
  webhooks::Decision p = decide(shopify(), shopify_delivery("orders/paid", paid), {});
  ASSERT_EQ(p.kind, webhooks::Decision::Kind::ingest) << p.detail;
  EXPECT_EQ(p.ingest->topic, "orders/paid");
  json order_without_paid = c.ingest->event;
  order_without_paid.erase("paid");
  json paid_without_paid = p.ingest->event;
  paid_without_paid.erase("paid");
  EXPECT_EQ(paid_without_paid, order_without_paid);  // the same order, so reserve() replays it
  EXPECT_EQ(p.ingest->event["paid"], true);
}

TEST(WorkerWebhookMapping, ShopifyCancellationAndRefund) {
  webhooks::Decision c = decide(shopify(), shopify_delivery("orders/cancelled", R"({"id":77,"cancelled_at":"x","line_items":[]})"), {});
  ASSERT_EQ(c.kind, webhooks::Decision::Kind::ingest);
  EXPECT_EQ(c.ingest->event, json::parse(R"({"action":"cancel","channel":"shop","order_ref":"77"})"));

  std::string refund = R"({"id":9001,"order_id":77,"refund_line_items":[
      {"quantity":1,"restock_type":"return","line_item":{"variant_id":39072856,"sku":"SKU-1"}},
      {"quantity":1,"restock_type":"no_restock","line_item":{"variant_id":39072857,"sku":"SKU-2"}},
      {"quantity":3,"restock_type":"cancel","line_item":{"variant_id":39072858,"sku":"SKU-3"}}]})";
  webhooks::Decision r = decide(shopify(), shopify_delivery("refunds/create", refund), {});
  ASSERT_EQ(r.kind, webhooks::Decision::Kind::ingest) << r.detail;
  EXPECT_EQ(r.ingest->event, json::parse(R"({"action":"refund","channel":"shop","order_ref":"77","refund_ref":"refund:9001",
      "lines":[{"ids":["39072856","gid://shopify/ProductVariant/39072856"],"sku":"SKU-1","qty":1}]})"));
}

// What the sync core is told (SyncCore::note_recorded_sale): a Shopify
// order with its created_at, counted only when its delivery reserved it.
TEST(WorkerWebhookMapping, ShopifyOrderIsToldToTheSyncCoreOnceReserved) {
  std::string body = R"({"id":5,"created_at":"2026-11-22T10:00:00-05:00","financial_status":"paid","line_items":[
      {"variant_id":39072856,"quantity":2},{"variant_id":39072857,"quantity":1}]})";
  webhooks::Decision d = decide(shopify(), shopify_delivery("orders/create", body), {});
  ASSERT_EQ(d.kind, webhooks::Decision::Kind::ingest) << d.detail;
  auto sale = order_sale(shopify(), *d.ingest);
  ASSERT_TRUE(sale);
  EXPECT_EQ(sale->channel, "shop");
  EXPECT_EQ(sale->order_ref, "5");
  EXPECT_EQ(sale->taken_at, WallTime(std::chrono::seconds(1795341600 + 5 * 3600)));
  ASSERT_EQ(sale->lines.size(), 2u);
  EXPECT_EQ(sale->lines[0].listing, "");  // found after the commit (order_listings)
  EXPECT_EQ(sale->lines[0].units, 2);
  EXPECT_EQ(sale->lines[1].units, 1);
  for (const char *outcome : {"reserved", "committed", "committed_partly_unmatched", "reserved_partly_unmatched"})
    EXPECT_TRUE(new_reservation(outcome)) << outcome;
  for (const char *outcome : {"duplicate", "order_already_committed", "order_already_released", "unmatched",
                              "cancelled_before_order", "empty_order", "SS001"})
    EXPECT_FALSE(new_reservation(outcome)) << outcome;
  EXPECT_FALSE(may_restock(*d.ingest));

  // Without created_at it is never counted (nothing to tell whether this run saw its sale).
  webhooks::Decision undated = decide(shopify(), shopify_delivery("orders/create", R"({"id":6,"line_items":[]})"), {});
  EXPECT_FALSE(order_sale(shopify(), *undated.ingest));
  // Other sources take no compare-and-set pushes.
  webhooks::Decision erp_order = decide(erp(), std_delivery(R"({"type":"order.created","data":{"order_ref":"B2B-1","lines":[{"sku":"SKU-1","qty":3}]}})", kNow), {});
  EXPECT_FALSE(order_sale(erp(), *erp_order.ingest));

  // A cancellation, or a refund that restocks, may put units back on the channel.
  webhooks::Decision c = decide(shopify(), shopify_delivery("orders/cancelled", R"({"id":5,"line_items":[]})"), {});
  EXPECT_TRUE(may_restock(*c.ingest));
  EXPECT_FALSE(order_sale(shopify(), *c.ingest));
  webhooks::Decision money = decide(shopify(), shopify_delivery("refunds/create", R"({"id":1,"order_id":5,"refund_line_items":[]})"), {});
  EXPECT_FALSE(may_restock(*money.ingest));
  webhooks::Decision units = decide(shopify(), shopify_delivery("refunds/create", R"({"id":2,"order_id":5,"refund_line_items":[
      {"quantity":1,"restock_type":"return","line_item":{"variant_id":39072856}}]})"), {});
  EXPECT_TRUE(may_restock(*units.ingest));
}

TEST(WorkerWebhookMapping, ShopifyRefusalsAndIgnoredTopics) {
  EXPECT_EQ(decide(shopify(), shopify_delivery("orders/updated", "{}"), {}).kind, webhooks::Decision::Kind::ignore);
  webhooks::Decision bad = decide(shopify(), shopify_delivery("orders/create", "{\"id\":1,"), {});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.reason, "malformed_json");
  EXPECT_EQ(decide(shopify(), shopify_delivery("orders/create", "[1]"), {}).reason, "malformed_json");
  EXPECT_EQ(decide(shopify(), shopify_delivery("orders/create", R"({"line_items":[]})"), {}).reason, "invalid_payload");
  EXPECT_EQ(decide(shopify(), shopify_delivery("orders/create", R"({"id":1,"line_items":[{"quantity":-1}]})"), {}).reason,
            "invalid_payload");
  EXPECT_EQ(decide(shopify(), shopify_delivery("orders/create", R"({"id":1,"line_items":[{"quantity":"2"}]})"), {}).reason,
            "invalid_payload");
  Delivery deep = shopify_delivery("orders/create", std::string(100, '[') + std::string(100, ']'));
  EXPECT_EQ(decide(shopify(), deep, {}).reason, "malformed_json");
  // Triggered-At older than the de-duplication window: stale (401).
  Delivery old = shopify_delivery("orders/create", R"({"id":1,"line_items":[]})");
  old.headers["x-shopify-triggered-at"] = "2026-11-10T00:00:00Z";
  EXPECT_EQ(decide(shopify(), old, {}).reason, "stale");
  // The body is never parsed when the signature is wrong.
  Delivery forged = shopify_delivery("orders/create", "{not json");
  forged.headers["x-shopify-hmac-sha256"] = base64_encode(std::string(32, 'x'));
  EXPECT_EQ(decide(shopify(), forged, {}).reason, "bad_signature");
}

TEST(WorkerWebhookMapping, WooCommerceOrdersPingAndCancellation) {
  auto delivery = [](const std::string &topic, const std::string &body) {
    Delivery d;
    d.body = body;
    d.now = kNow;
    d.headers = {{"x-wc-webhook-topic", topic}, {"x-wc-webhook-signature", base64_encode(hmac_sha256("wc&secret", body))}};
    return d;
  };
  std::string body = R"({"id":727,"status":"processing","date_modified_gmt":"2026-11-18T07:00:00","line_items":[
      {"product_id":799,"variation_id":801,"sku":"SKU-1","quantity":2},{"product_id":800,"variation_id":0,"sku":"SKU-2","quantity":1}]})";
  webhooks::Decision d = decide(woo(), delivery("order.created", body), {});
  ASSERT_EQ(d.kind, webhooks::Decision::Kind::ingest) << d.detail;
  EXPECT_EQ(d.ingest->event_id, "order:727:2026-11-18T07:00:00:processing");
  EXPECT_EQ(d.ingest->event, json::parse(R"({"action":"order","channel":"woo","order_ref":"727","paid":true,"ttl_s":86400,
      "lines":[{"ids":["799/801","801"],"sku":"SKU-1","qty":2},{"ids":["800"],"sku":"SKU-2","qty":1}]})"));
  std::string cancelled = R"({"id":727,"status":"cancelled","date_modified_gmt":"2026-11-18T07:30:00","line_items":[]})";
  webhooks::Decision c = decide(woo(), delivery("order.updated", cancelled), {});
  ASSERT_EQ(c.kind, webhooks::Decision::Kind::ingest);
  EXPECT_EQ(c.ingest->event["action"], "cancel");
  std::string old = R"({"id":727,"status":"processing","date_modified_gmt":"2026-11-01T07:00:00","line_items":[]})";
  EXPECT_EQ(decide(woo(), delivery("order.created", old), {}).reason, "stale");
  // The unsigned ping WooCommerce sends when a webhook is saved: 200, no effect.
  Delivery ping;
  ping.body = "webhook_id=12";
  EXPECT_EQ(decide(woo(), ping, {}).kind, webhooks::Decision::Kind::ignore);
  ping.body = "webhook_id=12&x=1";
  EXPECT_EQ(decide(woo(), ping, {}).reason, "missing_signature");
}

TEST(WorkerWebhookMapping, StandardWebhooksStockUpdatedAndOrders) {
  webhooks::Decision s = decide(erp(), std_delivery(R"({"type":"stock.updated","data":{"sku":"SKU-1","on_hand":40,"version":1017}})", kNow), {});
  ASSERT_EQ(s.kind, webhooks::Decision::Kind::ingest) << s.detail;
  EXPECT_EQ(s.ingest->event_id, "msg_1");
  EXPECT_EQ(s.ingest->event,
            json::parse(R"({"action":"set_on_hand","sku":"SKU-1","qty":40,"version":1017,"location":"wh1"})"));
  EXPECT_EQ(decide(erp(), std_delivery(R"({"type":"stock.updated","data":{"sku":"SKU-1","on_hand":40}})", kNow), {}).reason,
            "invalid_payload");
  webhooks::Decision o = decide(erp(), std_delivery(R"({"type":"order.created","data":{"order_ref":"B2B-1","lines":[{"sku":"SKU-1","qty":3}]}})", kNow), {});
  ASSERT_EQ(o.kind, webhooks::Decision::Kind::ingest);
  EXPECT_EQ(o.ingest->event, json::parse(R"({"action":"order","channel":"erp-orders","order_ref":"B2B-1","paid":true,
      "ttl_s":86400,"lines":[{"ids":["SKU-1"],"sku":"SKU-1","qty":3}]})"));
  Source no_channel = erp();
  no_channel.channel.clear();
  EXPECT_EQ(decide(no_channel, std_delivery(R"({"type":"order.cancelled","data":{"order_ref":"B2B-1"}})", kNow), {}).status, 422);
  EXPECT_EQ(decide(erp(), std_delivery(R"({"type":"ping","data":{}})", kNow), {}).kind, webhooks::Decision::Kind::ignore);
  EXPECT_EQ(decide(erp(), std_delivery("{}", kNow - 301), {}).reason, "stale");
}

TEST(WorkerWebhookMapping, Iso8601) {
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601("2026-11-22T10:00:00.123Z"), 1795341600);
  EXPECT_EQ(parse_iso8601("2026-11-22T10:00:00-05:00"), 1795341600 + 5 * 3600);
  EXPECT_EQ(parse_iso8601("2026-11-22T10:00:00"), 1795341600);
  EXPECT_FALSE(parse_iso8601("2026-11-22"));
  EXPECT_FALSE(parse_iso8601("2026-13-22T10:00:00Z"));
  EXPECT_FALSE(parse_iso8601("2026-11-22T10:00:00Zjunk"));
}

TEST(WorkerWebhookConfig, TableParsedAndSourcesBuilt) {
  setenv("WEBHOOK_TEST_WHSEC", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
  std::string text = R"(
[database]
conninfo = "dbname=x"
[channels.shop]
kind = "shopify"
base_url = "https://x.myshopify.com"
[channels.shop.credentials]
access_token = "t"
webhook_secret = "hush"
[webhooks]
listen = "127.0.0.1:0"
max_body_bytes = 65536
dedupe_window_h = 96
[webhooks.sources.erp]
secret_env = "WEBHOOK_TEST_WHSEC"
channel = "erp"
)";
  std::string error;
  auto cfg = parse_config(text, "t.toml", error);
  ASSERT_TRUE(cfg) << error;
  EXPECT_EQ(cfg->webhooks.listen, "127.0.0.1:0");
  EXPECT_EQ(cfg->webhooks.max_body_bytes, 65536u);
  EXPECT_EQ(cfg->webhooks.dedupe_window_s, 96 * 3600);
  EXPECT_EQ(cfg->webhooks.tolerance_s, 300);
  auto sources = configured_sources(cfg->webhooks, cfg->channels, error);
  ASSERT_EQ(sources.size(), 2u) << error;
  EXPECT_EQ(sources[0].kind, SourceKind::shopify);
  EXPECT_EQ(sources[0].key, "hush");
  EXPECT_EQ(sources[0].shop_domain, "x.myshopify.com");  // the Admin API's host
  EXPECT_EQ(sources[1].kind, SourceKind::standard);
  EXPECT_EQ(sources[1].key, *std_webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));

  auto with = [&](const std::string &line) {
    std::string t = text;
    return t.replace(t.find("[webhooks]\n"), 11, "[webhooks]\n" + line + "\n");
  };
  // A base_url that is not the shop's own (a proxy, the simulator) needs the
  // shop named; options.shop_domain wins over the host.
  std::string proxied = text;
  proxied.replace(proxied.find("https://x.myshopify.com"), 23, "http://127.0.0.1:9");
  auto pcfg = parse_config(proxied, "t.toml", error);
  ASSERT_TRUE(pcfg) << error;
  EXPECT_TRUE(configured_sources(pcfg->webhooks, pcfg->channels, error).empty());
  EXPECT_NE(error.find("channels.shop.options.shop_domain"), std::string::npos) << error;
  pcfg->channels[0].options["shop_domain"] = "My-Shop.myshopify.com";
  error.clear();
  auto named = configured_sources(pcfg->webhooks, pcfg->channels, error);
  ASSERT_EQ(named.size(), 2u) << error;
  EXPECT_EQ(named[0].shop_domain, "my-shop.myshopify.com");

  EXPECT_FALSE(parse_config(with("bogus = 1"), "t.toml", error));
  EXPECT_NE(error.find("webhooks.bogus"), std::string::npos) << error;
  EXPECT_FALSE(parse_config(with("tolerance_s = 0"), "t.toml", error));
  EXPECT_NE(error.find("webhooks.tolerance_s"), std::string::npos) << error;
}

// WooCommerce signs with wp_specialchars_decode($secret, ENT_QUOTES).
TEST(WorkerWebhookWooSecret, DecodedAsWordPressDoes) {
  EXPECT_EQ(wp_specialchars_decode_quotes("no entities here"), "no entities here");
  EXPECT_EQ(wp_specialchars_decode_quotes("a&amp;b&lt;c&gt;d&quot;e"), "a&b<c>d\"e");
  EXPECT_EQ(wp_specialchars_decode_quotes("&#039;&#39;&#0039;&#x27;&#X27;&#x0027;"), std::string(6, '\''));
  EXPECT_EQ(wp_specialchars_decode_quotes("&#034;&#x22;&#060;&#062;&#038;&#x26;"), "\"\"<>&&");
  EXPECT_EQ(wp_specialchars_decode_quotes("&amp;lt;"), "&lt;");  // one pass, as strtr
  EXPECT_EQ(wp_specialchars_decode_quotes("&AMP; &apos; &#40; &nbsp; & ;&"), "&AMP; &apos; &#40; &nbsp; & ;&");
}

TEST(WorkerWebhookWooSecret, ConfiguredSecretIsTheKeyWooCommerceSignsWith) {
  std::string text = R"(
[database]
conninfo = "dbname=x"
[channels.woo]
kind = "woocommerce"
base_url = "https://shop.example.com"
[channels.woo.credentials]
consumer_key = "ck"
consumer_secret = "cs"
webhook_secret = "wc&amp;s&#039;cret"
)";
  std::string error;
  auto cfg = parse_config(text, "t.toml", error);
  ASSERT_TRUE(cfg) << error;
  auto sources = configured_sources(cfg->webhooks, cfg->channels, error);
  ASSERT_EQ(sources.size(), 1u) << error;
  EXPECT_EQ(sources[0].key, "wc&s'cret");
  Delivery d;
  d.body = R"({"id":1})";
  d.now = kNow;
  d.headers = {{"x-wc-webhook-topic", "order.created"},
               {"x-wc-webhook-signature", base64_encode(hmac_sha256("wc&s'cret", d.body))}};
  EXPECT_FALSE(check_signature(sources[0], d, {}).has_value());
}
