// Channel order JSON -> PolledOrder; see order_mapping.hpp.
#include "orders_in/order_mapping.hpp"

#include "http/bounded_json.hpp"
#include "orders_in/poll_cursor.hpp"
#include "webhooks/inbound.hpp"  // map_woocommerce_order: the webhook path's mapping

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>

namespace stocksync::worker::orders_in {

using nlohmann::json;

namespace {

// A member that is a string, else "".
std::string str(const json &o, const char *key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A positive integer quantity that fits an int (eBay and Amazon send numbers).
std::optional<int> quantity(const json &o, const char *key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number_integer())
    return std::nullopt;
  auto v = it->get<long long>();
  if (v < 0 || v > 1000000)
    return std::nullopt;
  return static_cast<int>(v);
}

std::optional<json> parse_object(std::string_view body, std::string &error, const char *what) {
  auto j = parse_bounded_json(body);
  if (!j || !j->is_object()) {
    error = std::string(what) + ": not a JSON object";
    return std::nullopt;
  }
  return j;
}

}  // namespace

const char *to_string(OrderStatus s) {
  switch (s) {
  case OrderStatus::open: return "open";
  case OrderStatus::paid: return "paid";
  case OrderStatus::cancelled: return "cancelled";
  case OrderStatus::ignored: return "ignored";
  }
  return "ignored";
}

std::optional<OrderStatus> order_status_from_string(std::string_view s) {
  for (auto st : {OrderStatus::open, OrderStatus::paid, OrderStatus::cancelled, OrderStatus::ignored})
    if (s == to_string(st))
      return st;
  return std::nullopt;
}

void add_line(std::vector<OrderLine> &lines, const std::string &listing, int qty) {
  for (auto &l : lines)
    if (l.listing == listing) {
      l.qty += qty;
      return;
    }
  lines.push_back(OrderLine{listing, qty});
}

OrderStatus ebay_status(std::string_view cancel_state, std::string_view payment_status) {
  if (cancel_state == "CANCELED" || payment_status == "FULLY_REFUNDED")
    return OrderStatus::cancelled;
  if (payment_status == "PAID" || payment_status == "PARTIALLY_REFUNDED")
    return OrderStatus::paid;
  return OrderStatus::open;
}

std::optional<EbayOrdersPage> parse_ebay_orders(std::string_view body, std::string &error) {
  auto j = parse_object(body, error, "eBay getOrders");
  if (!j)
    return std::nullopt;
  EbayOrdersPage page;
  if (auto t = j->find("total"); t != j->end() && t->is_number_integer())
    page.total = t->get<long long>();
  if (auto o = j->find("offset"); o != j->end() && o->is_number_integer())
    page.offset = o->get<long long>();
  page.has_next = j->contains("next") && (*j)["next"].is_string() && !(*j)["next"].get<std::string>().empty();
  auto orders = j->find("orders");
  if (orders == j->end())
    return page;  // an empty page leaves the member out
  if (!orders->is_array()) {
    error = "eBay getOrders: orders is not an array";
    return std::nullopt;
  }
  for (const auto &o : *orders) {
    if (!o.is_object() || str(o, "orderId").empty()) {
      error = "eBay getOrders: an order without orderId";
      return std::nullopt;
    }
    PolledOrder po;
    po.order_ref = str(o, "orderId");
    po.last_modified = str(o, "lastModifiedDate");
    std::string cancel_state;
    if (auto cs = o.find("cancelStatus"); cs != o.end() && cs->is_object())
      cancel_state = str(*cs, "cancelState");
    po.status = ebay_status(cancel_state, str(o, "orderPaymentStatus"));
    if (auto items = o.find("lineItems"); items != o.end() && items->is_array())
      for (const auto &li : *items) {
        auto q = li.is_object() ? quantity(li, "quantity") : std::nullopt;
        if (!q) {
          error = "eBay getOrders: order " + po.order_ref + " has a line without a quantity";
          return std::nullopt;
        }
        if (*q == 0)
          continue;
        // A line without a SKU (a listing made outside the Inventory API)
        // is named by its legacy item id, so it is reported, not dropped.
        std::string listing = str(li, "sku");
        if (listing.empty())
          listing = "legacyItemId:" + str(li, "legacyItemId");
        add_line(po.lines, listing, *q);
      }
    page.orders.push_back(std::move(po));
  }
  return page;
}

OrderStatus amazon_status(std::string_view s) {
  if (s == "Pending" || s == "PendingAvailability")
    return OrderStatus::open;
  if (s == "Unshipped" || s == "PartiallyShipped" || s == "Shipped" || s == "InvoiceUnconfirmed")
    return OrderStatus::paid;
  if (s == "Canceled")
    return OrderStatus::cancelled;
  return OrderStatus::ignored;
}

std::optional<AmazonOrdersPage> parse_amazon_orders(std::string_view body, std::string &error) {
  auto j = parse_object(body, error, "Amazon getOrders");
  if (!j)
    return std::nullopt;
  auto p = j->find("payload");
  if (p == j->end() || !p->is_object()) {
    error = "Amazon getOrders: no payload";
    return std::nullopt;
  }
  AmazonOrdersPage page;
  if (auto t = str(*p, "NextToken"); !t.empty())
    page.next_token = t;
  if (auto b = str(*p, "LastUpdatedBefore"); !b.empty())
    page.last_updated_before = b;
  auto orders = p->find("Orders");
  if (orders == p->end() || !orders->is_array()) {
    error = "Amazon getOrders: payload.Orders is not an array";
    return std::nullopt;
  }
  for (const auto &o : *orders) {
    if (!o.is_object() || str(o, "AmazonOrderId").empty()) {
      error = "Amazon getOrders: an order without AmazonOrderId";
      return std::nullopt;
    }
    page.orders.push_back(
        AmazonOrderHeader{str(o, "AmazonOrderId"), amazon_status(str(o, "OrderStatus")), str(o, "LastUpdateDate")});
  }
  return page;
}

std::optional<AmazonItemsPage> parse_amazon_order_items(std::string_view body, std::string &error) {
  auto j = parse_object(body, error, "Amazon getOrderItems");
  if (!j)
    return std::nullopt;
  auto p = j->find("payload");
  if (p == j->end() || !p->is_object()) {
    error = "Amazon getOrderItems: no payload";
    return std::nullopt;
  }
  AmazonItemsPage page;
  if (auto t = str(*p, "NextToken"); !t.empty())
    page.next_token = t;
  auto items = p->find("OrderItems");
  if (items == p->end() || !items->is_array()) {
    error = "Amazon getOrderItems: payload.OrderItems is not an array";
    return std::nullopt;
  }
  for (const auto &it : *items) {
    auto q = it.is_object() ? quantity(it, "QuantityOrdered") : std::nullopt;
    if (!q || str(it, "SellerSKU").empty()) {
      error = "Amazon getOrderItems: an item without SellerSKU or QuantityOrdered";
      return std::nullopt;
    }
    if (*q > 0)
      add_line(page.lines, str(it, "SellerSKU"), *q);
  }
  return page;
}

// ---- WooCommerce: each listed order goes through the webhook path's own
// mapping (webhooks::map_woocommerce_order); only the list and its paging
// are read here. ----

std::optional<std::vector<WooOrderEvent>> parse_woo_orders(std::string_view body, const std::string &channel,
                                                            long long unpaid_ttl_s, std::string &error) {
  auto j = parse_bounded_json(body);
  if (!j || !j->is_array()) {
    error = "WooCommerce orders: not a JSON array";
    return std::nullopt;
  }
  std::vector<WooOrderEvent> out;
  out.reserve(j->size());
  for (const auto &o : *j) {
    WooOrderEvent ev;
    if (o.is_object())
      if (auto it = o.find("id"); it != o.end() && (it->is_number_integer() || it->is_string()))
        ev.order_ref = it->is_string() ? it->get<std::string>().substr(0, 64) : std::to_string(it->get<long long>());
    auto d = webhooks::map_woocommerce_order(channel, o, unpaid_ttl_s, "order.polled");
    switch (d.kind) {
    case webhooks::Decision::Kind::ingest:
      ev.event_id = d.ingest->event_id;
      ev.event_json = d.ingest->event.dump(-1, ' ', false, json::error_handler_t::replace);
      break;
    case webhooks::Decision::Kind::ignore: ev.problem = d.detail; break;
    case webhooks::Decision::Kind::reject:
      ev.refused = true;
      ev.problem = d.detail;
      break;
    }
    out.push_back(std::move(ev));
  }
  return out;
}

bool woo_last_page(std::size_t items, int per_page, long long page, const std::optional<std::string> &total_pages) {
  if (per_page < 1 || items < static_cast<std::size_t>(per_page))
    return true;
  auto pages = woo_header_count(total_pages);
  return pages && page >= *pages;
}

std::optional<long long> woo_header_count(const std::optional<std::string> &value) {
  if (!value || value->empty() || value->size() > 18 || value->find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(*value);
}

std::string woo_modified_after(double window_start) {
  // WordPress keeps post_modified_gmt in whole seconds and compares
  // modified_after strictly (>): one second earlier re-reads the window's
  // first second instead of missing an order modified in it.
  return iso8601_utc(std::floor(window_start) - 1).substr(0, 19);
}

}  // namespace stocksync::worker::orders_in
