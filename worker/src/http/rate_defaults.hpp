// Documented default rate limits per (channel kind, operation), from
// the channels' published rate limits (docs/channels.md). A channel's config (rate_per_sec, burst)
// overrides them; live signals (x-amzn-RateLimit-Limit, Retry-After, Shopify
// throttleStatus) adjust them at run time.
#pragma once

#include <optional>
#include <string_view>

namespace stocksync::worker {

struct RateSpec {
  double rate = 0;   // tokens (calls, or Shopify cost points) per second
  double burst = 0;  // bucket size
  // Where the numbers come from: "documented" or "ours" (no documented limit;
  // a conservative choice of ours that config can raise).
  const char *source = "";
};

// The default for kind (shopify, shopify_rest, amazon, ebay, woocommerce) and
// operation (e.g. "patchListingsItem", "bulkUpdatePriceQuantity",
// "graphql", "products/batch", "token"), or nullopt when we know none.
std::optional<RateSpec> documented_rate(std::string_view kind, std::string_view operation);

// The same for a (kind, operation) the table is known to hold (adapters'
// option defaults); a pair missing from the table is a programming error and
// aborts at start-up.
RateSpec default_rate(std::string_view kind, std::string_view operation);

}  // namespace stocksync::worker
