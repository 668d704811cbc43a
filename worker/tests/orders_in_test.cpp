// Order polling: the channels' order JSON mapped to what stocksync does
// (channel-apis.md §2.6, §3.5), the cursor rules (orders_in/poll_cursor.hpp),
// the polling and reconciliation config keys, and the drift verdicts and
// level parsers of the reconciliation.
#include "config.hpp"
#include "orders_in/order_mapping.hpp"
#include "orders_in/poll_cursor.hpp"
#include "reconcile/drift_rules.hpp"
#include "reconcile/level_reader.hpp"

#include <gtest/gtest.h>

namespace stocksync::worker {
namespace {

using namespace orders_in;
using reconcile::DriftRules;
using reconcile::judge;
using reconcile::ListingSnapshot;
using reconcile::Verdict;

TEST(WorkerOrderMapping, EbayPageMapsStatusesAndMergesLines) {
  std::string body = R"({"href": "x", "total": 3, "limit": 2, "offset": 0, "next": "y", "orders": [
    {"orderId": "01-1", "lastModifiedDate": "2026-11-22T10:00:00.000Z", "orderPaymentStatus": "PAID",
     "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
     "lineItems": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}, {"sku": "A", "quantity": 1}]},
    {"orderId": "01-2", "lastModifiedDate": "2026-11-22T10:01:00.000Z", "orderPaymentStatus": "FULLY_REFUNDED",
     "cancelStatus": {"cancelState": "CANCELED"}, "lineItems": [{"sku": "C", "quantity": 1}]},
    {"orderId": "01-3", "orderPaymentStatus": "PENDING", "lineItems": [{"sku": "", "legacyItemId": "1100", "quantity": 4}]}]})";
  std::string error;
  auto page = parse_ebay_orders(body, error);
  ASSERT_TRUE(page) << error;
  EXPECT_TRUE(page->has_next);
  EXPECT_EQ(page->total, 3);
  ASSERT_EQ(page->orders.size(), 3u);
  const auto &o = page->orders[0];
  EXPECT_EQ(o.order_ref, "01-1");
  EXPECT_EQ(o.status, OrderStatus::paid);
  ASSERT_EQ(o.lines.size(), 2u);
  EXPECT_EQ(o.lines[0].listing, "A");
  EXPECT_EQ(o.lines[0].qty, 3);
  EXPECT_EQ(o.lines[1].listing, "B");
  EXPECT_EQ(page->orders[1].status, OrderStatus::cancelled);
  EXPECT_EQ(page->orders[2].status, OrderStatus::open);
  // A line without a SKU is kept under its legacy item id (reported, not dropped).
  ASSERT_EQ(page->orders[2].lines.size(), 1u);
  EXPECT_EQ(page->orders[2].lines[0].listing, "legacyItemId:1100");
}

TEST(WorkerOrderMapping, EbayLastPageAndRefusals) {
  std::string error;
  auto empty = parse_ebay_orders(R"({"total": 0, "limit": 200, "offset": 0, "warnings": []})", error);
  ASSERT_TRUE(empty) << error;
  EXPECT_FALSE(empty->has_next);
  EXPECT_TRUE(empty->orders.empty());
  EXPECT_FALSE(parse_ebay_orders("[]", error));
  EXPECT_FALSE(parse_ebay_orders(R"({"orders": [{"lineItems": []}]})", error));
  EXPECT_NE(error.find("orderId"), std::string::npos);
  EXPECT_FALSE(parse_ebay_orders(R"({"orders": [{"orderId": "1", "lineItems": [{"sku": "A", "quantity": -1}]}]})", error));
  EXPECT_FALSE(parse_ebay_orders(R"({"orders": [{"orderId": "1", "lineItems": [{"sku": "A"}]}]})", error));
  EXPECT_EQ(ebay_status("NONE_REQUESTED", "PARTIALLY_REFUNDED"), OrderStatus::paid);
  EXPECT_EQ(ebay_status("CANCELED", "PAID"), OrderStatus::cancelled);
}

TEST(WorkerOrderMapping, AmazonOrdersItemsAndStatuses) {
  std::string error;
  auto page = parse_amazon_orders(R"({"payload": {"Orders": [
      {"AmazonOrderId": "111-1", "OrderStatus": "Unshipped", "LastUpdateDate": "2026-11-22T09:00:00Z"},
      {"AmazonOrderId": "111-2", "OrderStatus": "Pending"},
      {"AmazonOrderId": "111-3", "OrderStatus": "Canceled"},
      {"AmazonOrderId": "111-4", "OrderStatus": "Unfulfillable"}],
    "NextToken": "abc", "LastUpdatedBefore": "2026-11-22T09:58:00Z"}})",
                                  error);
  ASSERT_TRUE(page) << error;
  ASSERT_EQ(page->orders.size(), 4u);
  EXPECT_EQ(page->orders[0].status, OrderStatus::paid);
  EXPECT_EQ(page->orders[1].status, OrderStatus::open);
  EXPECT_EQ(page->orders[2].status, OrderStatus::cancelled);
  EXPECT_EQ(page->orders[3].status, OrderStatus::ignored);
  EXPECT_EQ(page->next_token.value_or(""), "abc");
  EXPECT_EQ(page->last_updated_before.value_or(""), "2026-11-22T09:58:00Z");
  for (const char *s : {"Shipped", "PartiallyShipped", "InvoiceUnconfirmed"})
    EXPECT_EQ(amazon_status(s), OrderStatus::paid) << s;
  EXPECT_EQ(amazon_status("PendingAvailability"), OrderStatus::open);

  auto items = parse_amazon_order_items(R"({"payload": {"AmazonOrderId": "111-1", "OrderItems": [
      {"OrderItemId": "1", "SellerSKU": "S1", "QuantityOrdered": 2, "QuantityShipped": 0},
      {"OrderItemId": "2", "SellerSKU": "S1", "QuantityOrdered": 1},
      {"OrderItemId": "3", "SellerSKU": "S2", "QuantityOrdered": 0}]}})",
                                        error);
  ASSERT_TRUE(items) << error;
  ASSERT_EQ(items->lines.size(), 1u);
  EXPECT_EQ(items->lines[0].qty, 3);
  EXPECT_FALSE(items->next_token);
  EXPECT_FALSE(parse_amazon_orders(R"({"errors": [{"code": "QuotaExceeded"}]})", error));
  EXPECT_FALSE(parse_amazon_order_items(R"({"payload": {"OrderItems": [{"QuantityOrdered": 1}]}})", error));
}

TEST(WorkerOrderMapping, StatusNamesRoundTrip) {
  for (auto s : {OrderStatus::open, OrderStatus::paid, OrderStatus::cancelled, OrderStatus::ignored})
    EXPECT_EQ(order_status_from_string(to_string(s)), s);
  EXPECT_FALSE(order_status_from_string("shipped"));
}

TEST(WorkerPollCursor, WindowOverlapsTheCursorAndNeverMovesBack) {
  CursorRules rules{120, 3600};
  EXPECT_DOUBLE_EQ(window_start(std::nullopt, 10000, rules), 10000 - 3600);
  EXPECT_DOUBLE_EQ(window_start(5000.0, 10000, rules), 5000 - 120);
  EXPECT_DOUBLE_EQ(orders_in::advance(std::nullopt, 7000), 7000);
  EXPECT_DOUBLE_EQ(orders_in::advance(7000.0, 8000), 8000);
  // A channel bound behind our cursor (its clock is late) keeps the cursor.
  EXPECT_DOUBLE_EQ(orders_in::advance(8000.0, 7990), 8000);
  // Every order modified after the cursor lies in the next window, even one
  // the channel stamped up to overlap seconds before it (clock skew).
  double cursor = 8000;
  for (double modified : {cursor - 120, cursor - 1, cursor, cursor + 50})
    EXPECT_LE(window_start(cursor, 9000, rules), modified);
}

TEST(WorkerPollCursor, Iso8601RoundTrip) {
  EXPECT_EQ(iso8601_utc(1795341480.0), "2026-11-22T09:58:00.000Z");
  EXPECT_EQ(iso8601_utc(1795341480.2506), "2026-11-22T09:58:00.251Z");
  EXPECT_EQ(parse_iso8601_utc("2026-11-22T09:58:00Z").value_or(0), 1795341480.0);
  EXPECT_NEAR(parse_iso8601_utc("2026-11-22T09:58:00.250Z").value_or(0), 1795341480.25, 1e-6);
  EXPECT_EQ(parse_iso8601_utc("2026-11-22T10:58:00+01:00").value_or(0), 1795341480.0);
  EXPECT_EQ(parse_iso8601_utc("2026-11-22T09:58:00-00:30").value_or(0), 1795341480.0 + 1800);
  for (const char *bad : {"", "2026-11-22", "2026-11-22T09:58:00", "2026-13-22T09:58:00Z", "2026-11-22T09:58:00.Z",
                          "2026-11-22T09:58:00Zjunk"})
    EXPECT_FALSE(parse_iso8601_utc(bad)) << bad;
}

ListingSnapshot settled(int acked, int desired) {
  ListingSnapshot s;
  s.external_id = "L";
  s.mode = "live";
  s.has_state = true;
  s.state = "acked";
  s.acked_qty = acked;
  s.desired_qty = desired;
  s.acked_age_s = 3600;
  return s;
}

TEST(WorkerDriftRules, AgreeCorrectEscalate) {
  DriftRules rules{5, 10};
  EXPECT_EQ(judge(settled(7, 7), 7, rules), Verdict::agree);
  EXPECT_EQ(judge(settled(7, 7), 3, rules), Verdict::correct);
  EXPECT_EQ(judge(settled(7, 7), 12, rules), Verdict::correct);
  EXPECT_EQ(judge(settled(7, 7), 13, rules), Verdict::escalate);
  EXPECT_EQ(judge(settled(7, 7), 0, DriftRules{6, 10}), Verdict::escalate);
  EXPECT_EQ(judge(settled(7, 7), 8, DriftRules{0, 10}), Verdict::escalate);
  EXPECT_EQ(judge(settled(7, 7), std::nullopt, rules), Verdict::unreadable);
}

TEST(WorkerDriftRules, PushesInFlightAreNotJudged) {
  DriftRules rules{5, 10};
  for (const char *state : {"pending", "in_flight", "retry", "dead", "shadow"}) {
    auto s = settled(7, 7);
    s.state = state;
    EXPECT_EQ(judge(s, 3, rules), Verdict::unsettled) << state;
  }
  auto due = settled(7, 9);  // a push is due: the core will send it
  EXPECT_EQ(judge(due, 7, rules), Verdict::unsettled);
  auto young = settled(7, 7);
  young.acked_age_s = 2;  // acknowledged, maybe not applied yet (Amazon)
  EXPECT_EQ(judge(young, 3, rules), Verdict::unsettled);
  auto none = settled(7, 7);
  none.has_state = false;
  EXPECT_EQ(judge(none, 3, rules), Verdict::unsettled);
  auto shadow = settled(7, 7);
  shadow.mode = "shadow";
  EXPECT_EQ(judge(shadow, 3, rules), Verdict::unsettled);
}

TEST(WorkerLevelParsers, EbayAmazonWoo) {
  using namespace reconcile;
  EXPECT_EQ(parse_ebay_item_quantity(R"({"sku": "A", "availability": {"shipToLocationAvailability": {"quantity": 9}}})"), 9);
  EXPECT_FALSE(parse_ebay_item_quantity(R"({"sku": "A"})"));
  std::string offers = R"({"offers": [{"offerId": "1", "availableQuantity": 5, "status": "PUBLISHED"},
                                      {"offerId": "2", "availableQuantity": 3, "status": "UNPUBLISHED"},
                                      {"offerId": "3", "availableQuantity": 8, "status": "PUBLISHED"}]})";
  EXPECT_EQ(parse_ebay_offer_quantity(offers, {}), 5);
  EXPECT_EQ(parse_ebay_offer_quantity(offers, {"2"}), 3);
  EXPECT_EQ(parse_ebay_offer_quantity(offers, {"3"}), 8);
  EXPECT_FALSE(parse_ebay_offer_quantity(offers, {"9"}));
  EXPECT_EQ(parse_amazon_listing_quantity(
                R"({"sku": "S", "fulfillmentAvailability": [{"fulfillmentChannelCode": "AMAZON_NA"},
                                                            {"fulfillmentChannelCode": "DEFAULT", "quantity": 4}]})"),
            4);
  EXPECT_FALSE(parse_amazon_listing_quantity(R"({"sku": "S", "summaries": []})"));
  EXPECT_EQ(parse_woo_stock_quantity(R"({"id": 810, "stock_quantity": 12, "manage_stock": true})"), 12);
  EXPECT_FALSE(parse_woo_stock_quantity(R"({"id": 810, "stock_quantity": null})"));
}

TEST(WorkerConfig, PollingAndReconcileKeys) {
  std::string base = R"(
[database]
conninfo = "dbname=x"
[channels.eb]
kind = "ebay"
base_url = "https://api.ebay.com"
)";
  std::string error;
  auto d = parse_config(base, "t.toml", error);
  ASSERT_TRUE(d) << error;
  EXPECT_TRUE(d->polling.enabled);
  EXPECT_EQ(d->polling.interval.count(), 60000);
  EXPECT_EQ(d->reconcile.interval.count(), 900000);
  EXPECT_EQ(d->reconcile.max_correct_units, 5);
  auto c = parse_config(base + R"(
[polling]
interval_ms = 1000
overlap_ms = 30000
ebay_page_size = 50
[reconcile]
interval_ms = 60000
max_correct_units = 2
poll_orders_first = false
)",
                        "t.toml", error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->polling.interval.count(), 1000);
  EXPECT_EQ(c->polling.overlap.count(), 30000);
  EXPECT_EQ(c->polling.ebay_page_size, 50);
  EXPECT_EQ(c->reconcile.max_correct_units, 2);
  EXPECT_FALSE(c->reconcile.poll_orders_first);
  EXPECT_FALSE(parse_config(base + "[polling]\nebay_page_size = 201\n", "t.toml", error));
  EXPECT_NE(error.find("polling.ebay_page_size"), std::string::npos);
  EXPECT_FALSE(parse_config(base + "[reconcile]\nmax_drift = 3\n", "t.toml", error));
  EXPECT_NE(error.find("reconcile.max_drift"), std::string::npos);
}

}  // namespace
}  // namespace stocksync::worker
