// Channel order JSON -> what stocksync does with an order. Pure functions of
// the response body, no sockets and no clock, unit-tested in
// worker/tests/orders_in_test.cpp.
//
//   eBay Fulfillment getOrders (channel-apis.md §3.5):
//     {total, limit, offset, next?, orders: [{orderId, lastModifiedDate,
//      orderPaymentStatus, cancelStatus: {cancelState}, lineItems: [{sku, quantity}]}]}
//   Amazon Orders v0 getOrders (§2.6):
//     {payload: {Orders: [{AmazonOrderId, OrderStatus, LastUpdateDate}],
//                NextToken?, LastUpdatedBefore}}
//   Amazon getOrderItems: {payload: {OrderItems: [{SellerSKU, QuantityOrdered}], NextToken?}}
//   WooCommerce REST v3 GET /wp-json/wc/v3/orders (§4.5): a JSON array of
//     orders, each the same JSON as an order.created/order.updated webhook
//     body ({id, status, date_modified_gmt, line_items: [{product_id,
//     variation_id, sku, quantity}]}); paging in X-WP-TotalPages.
//
// Status rules:
//   eBay: cancelState CANCELED or payment FULLY_REFUNDED -> cancelled;
//         payment PAID or PARTIALLY_REFUNDED -> paid; anything else -> open
//         (getOrders lists only orders that completed checkout).
//   Amazon: Pending, PendingAvailability -> open (a soft hold);
//           Unshipped, PartiallyShipped, Shipped, InvoiceUnconfirmed -> paid;
//           Canceled -> cancelled; Unfulfillable and unknown ones -> ignored.
//   WooCommerce: not here. A listed order is the very JSON its
//           order.created/order.updated webhook carries, so it is mapped by
//           the webhook path itself (webhooks::map_woocommerce_order:
//           cancelled, failed -> cancel; processing, completed -> paid order;
//           pending, on-hold -> soft hold; other statuses -> nothing), with
//           the webhook's event id, and applied through
//           stocksync.ingest_webhook() (order_store.hpp): an order state seen
//           by both is applied once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stocksync::worker::orders_in {

enum class OrderStatus { open, paid, cancelled, ignored };
const char *to_string(OrderStatus s);
std::optional<OrderStatus> order_status_from_string(std::string_view s);

// One line: the channel's listing id (eBay SKU, Amazon seller SKU) and units.
struct OrderLine {
  std::string listing;
  int qty = 0;
};

struct PolledOrder {
  std::string order_ref;     // eBay orderId, AmazonOrderId
  OrderStatus status = OrderStatus::ignored;
  std::string last_modified; // as the channel wrote it (ISO 8601)
  std::vector<OrderLine> lines;  // merged per listing, qty > 0
};

// Adds qty of listing to lines, merging a listing that is already there.
void add_line(std::vector<OrderLine> &lines, const std::string &listing, int qty);

struct EbayOrdersPage {
  std::vector<PolledOrder> orders;
  long long total = 0;
  long long offset = 0;
  bool has_next = false;  // `next` present: another page at offset + limit
};
// nullopt and error set when the body is not an eBay order page, or an
// order in it has no id or a line without a positive quantity.
std::optional<EbayOrdersPage> parse_ebay_orders(std::string_view body, std::string &error);
OrderStatus ebay_status(std::string_view cancel_state, std::string_view payment_status);

struct AmazonOrderHeader {
  std::string order_ref;
  OrderStatus status = OrderStatus::ignored;
  std::string last_modified;
};
struct AmazonOrdersPage {
  std::vector<AmazonOrderHeader> orders;
  std::optional<std::string> next_token;
  std::optional<std::string> last_updated_before;  // the bound Amazon applied
};
std::optional<AmazonOrdersPage> parse_amazon_orders(std::string_view body, std::string &error);
OrderStatus amazon_status(std::string_view order_status);

struct AmazonItemsPage {
  std::vector<OrderLine> lines;
  std::optional<std::string> next_token;
};
std::optional<AmazonItemsPage> parse_amazon_order_items(std::string_view body, std::string &error);

// One listed WooCommerce order as the webhook path would ingest it: the
// arguments of stocksync.ingest_webhook(channel, event_id, 'order.polled',
// event), or why there is nothing to apply.
struct WooOrderEvent {
  std::string order_ref;   // the order id (for the log; "" when it has none)
  std::string event_id;    // "order:<id>:<date_modified_gmt>:<status>", the webhook's
  std::string event_json;  // {"action": "order"|"cancel", ...}; empty: nothing to apply
  std::string problem;     // when empty: a status without stock effect, or why it is refused
  bool refused = false;    // a delivery of it would be answered 400 (no id, bad date, bad line)
};
// nullopt and error set when the body is not a JSON array; an order in it
// that the webhook path would refuse is one WooOrderEvent with refused set
// (the rest of the page is applied).
std::optional<std::vector<WooOrderEvent>> parse_woo_orders(std::string_view body, const std::string &channel,
                                                            long long unpaid_ttl_s, std::string &error);
// Whether page `page` (1-based) of a list with per_page items a page is the
// last: fewer items than per_page, or page >= X-WP-TotalPages (the header of
// this answer; it grows while orders come in). A missing or unreadable header
// leaves the item count to decide.
bool woo_last_page(std::size_t items, int per_page, long long page, const std::optional<std::string> &total_pages);
// X-WP-Total / X-WP-TotalPages as a number; nullopt when missing or unreadable.
std::optional<long long> woo_header_count(const std::optional<std::string> &value);
// modified_after for a window starting at window_start (Unix seconds):
// WooCommerce's naive form, GMT (sent with dates_are_gmt=true), one second
// before the window's first whole second, e.g. "2026-11-22T09:57:59" for
// 09:58:00.900.
std::string woo_modified_after(double window_start);

}  // namespace stocksync::worker::orders_in
