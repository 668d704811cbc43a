// Reads what a channel shows per listing, for reconciliation.
//
//   shopify      the adapter's read_levels() (GraphQL inventoryItem levels,
//                "available", under its cost bucket)
//   ebay         GET /sell/inventory/v1/inventory_item/{sku}
//                  availability.shipToLocationAvailability.quantity, and
//                GET /sell/inventory/v1/offer?sku={sku}: the listing's offers'
//                  availableQuantity; the listing shows the smallest (§3.2)
//   amazon       GET /listings/2021-08-01/items/{sellerId}/{sku}
//                  ?marketplaceIds=..&includedData=fulfillmentAvailability:
//                  the DEFAULT (seller-fulfilled) quantity (camelCase read model)
//   woocommerce  GET /wp-json/wc/v3/products/{id} (or
//                  products/{parent}/variations/{id}): stock_quantity
//   webhook      cannot be read: every listing unreadable
// The kind-specific reads go one listing at a time through the adapter's
// authorized_get() and a rate gate of their own (amazon getListingsItem
// 5/s burst 10; ebay getOffers ours 23/s; woocommerce products/read ours
// 5/s); a 429 holds the gate. The body parsers are pure and unit-tested.
#pragma once

#include "channel_adapter.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace stocksync::worker {
class RateGate;
}

namespace stocksync::worker::reconcile {

std::optional<int> parse_ebay_item_quantity(std::string_view body);
// The smallest availableQuantity among `offers` (every published offer when
// offers is empty); nullopt when none is found.
std::optional<int> parse_ebay_offer_quantity(std::string_view body, const std::vector<std::string> &offers);
std::optional<int> parse_amazon_listing_quantity(std::string_view body);
std::optional<int> parse_woo_stock_quantity(std::string_view body);

class LevelReader {
public:
  LevelReader(boost::asio::io_context &io, ChannelConfig cfg, ChannelAdapter *adapter);
  ~LevelReader();

  bool can_read() const;
  // One reading per id, in any order; done exactly once.
  void read(std::vector<std::string> ids, std::function<void(std::vector<LevelReading>)> done);
  void stop();

private:
  struct Job;
  void next(const std::shared_ptr<Job> &job);
  void read_one(const std::string &id, std::function<void(LevelReading)> done);
  void get(const std::string &path, std::function<void(const HttpResponse &)> done);

  ChannelConfig cfg_;
  ChannelAdapter *adapter_;
  std::unique_ptr<RateGate> gate_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace stocksync::worker::reconcile
