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
//
// Status rules:
//   eBay: cancelState CANCELED or payment FULLY_REFUNDED -> cancelled;
//         payment PAID or PARTIALLY_REFUNDED -> paid; anything else -> open
//         (getOrders lists only orders that completed checkout).
//   Amazon: Pending, PendingAvailability -> open (a soft hold);
//           Unshipped, PartiallyShipped, Shipped, InvoiceUnconfirmed -> paid;
//           Canceled -> cancelled; Unfulfillable and unknown ones -> ignored.
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

}  // namespace stocksync::worker::orders_in
