// The table of default rate limits; see rate_defaults.hpp.
#include "http/rate_defaults.hpp"

#include <cstdlib>

namespace stocksync::worker {

namespace {

struct Row {
  std::string_view kind;
  std::string_view operation;
  RateSpec spec;
};

// clang-format off
constexpr Row kRows[] = {
  // Shopify GraphQL: cost points, Standard plan (§1.5): 100 points/s, bucket 2,000.
  {"shopify", "graphql", {100, 2000, "documented"}},
  // Shopify REST (legacy, §1.6): 2 requests/s, bucket 40.
  {"shopify_rest", "*", {2, 40, "documented"}},
  // Amazon SP-API default usage plans (§2.5).
  {"amazon", "patchListingsItem", {5, 5, "documented"}},
  {"amazon", "getListingsItem", {5, 10, "documented"}},
  {"amazon", "putListingsItem", {5, 10, "documented"}},
  {"amazon", "deleteListingsItem", {5, 10, "documented"}},
  {"amazon", "searchListingsItems", {5, 5, "documented"}},
  {"amazon", "createFeedDocument", {0.5, 15, "documented"}},
  {"amazon", "createFeed", {0.0083, 15, "documented"}},
  {"amazon", "getFeed", {2, 15, "documented"}},
  {"amazon", "getFeeds", {0.0222, 10, "documented"}},
  {"amazon", "getFeedDocument", {0.0222, 10, "documented"}},
  {"amazon", "getInventorySummaries", {2, 2, "documented"}},
  {"amazon", "getOrders", {0.0167, 20, "documented"}},
  {"amazon", "getOrder", {0.5, 30, "documented"}},
  {"amazon", "getOrderItems", {0.5, 30, "documented"}},
  {"amazon", "searchOrders", {0.0056, 20, "documented"}},
  {"amazon", "createRestrictedDataToken", {1, 10, "documented"}},
  // LWA token endpoint: no documented limit; one refresh an hour is the need.
  {"amazon", "token", {1, 5, "ours"}},
  // eBay: daily quotas only (§3.4). The Inventory API default is commonly
  // quoted as 2,000,000 calls/day (unverified) = 23.1/s; we smooth to that
  // and keep a burst of one batch window.
  {"ebay", "bulkUpdatePriceQuantity", {23, 25, "ours"}},
  {"ebay", "getOffers", {23, 25, "ours"}},
  {"ebay", "token", {1, 5, "ours"}},
  // Fulfillment getOrders (order polling): the commonly quoted 100,000
  // calls/day (unverified) is 1.16/s; one call a second, burst 5.
  {"ebay", "getOrders", {1, 5, "ours"}},
  // Reconciliation reads: WooCommerce product reads are cheap for the host
  // compared with batch saves (ours).
  {"woocommerce", "products/read", {5, 10, "ours"}},
  // The catch-up order poll (§4.5): a page of up to 100 orders is one
  // database query on the host; one a second, burst 5 (ours).
  {"woocommerce", "orders/list", {1, 5, "ours"}},
  // WooCommerce core has no limit (§4.4); the host's PHP workers are the
  // limit, and a 100-item batch runs 100 product saves: 2 batches/s.
  {"woocommerce", "products/batch", {2, 4, "ours"}},
};
// clang-format on

}  // namespace

std::optional<RateSpec> documented_rate(std::string_view kind, std::string_view operation) {
  for (const auto &row : kRows)
    if (row.kind == kind && (row.operation == operation || row.operation == "*"))
      return row.spec;
  return std::nullopt;
}

RateSpec default_rate(std::string_view kind, std::string_view operation) {
  auto spec = documented_rate(kind, operation);
  if (!spec)
    std::abort();
  return *spec;
}

}  // namespace stocksync::worker
