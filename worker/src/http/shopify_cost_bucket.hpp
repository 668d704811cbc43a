// Shopify Admin GraphQL's calculated-cost bucket (channel-apis.md §1.5).
//
// Shopify admits a query only if currentlyAvailable >= requestedQueryCost and
// refunds the difference to actualQueryCost afterwards. Every response carries
//   extensions.cost = {requestedQueryCost, actualQueryCost,
//                      throttleStatus: {maximumAvailable, currentlyAvailable, restoreRate}}
// and a refused query comes back as HTTP 200 with
//   errors[].extensions.code = "THROTTLED" and actualQueryCost = null.
//
// We keep a local estimate (a leaky bucket refilled at restoreRate), reserve a
// query's requested cost when it is sent, and replace the estimate with the
// server's throttleStatus whenever a response reports one. After THROTTLED we
// wait ceil((requested - currentlyAvailable) / restoreRate) seconds, as the
// fact sheet says. Pure arithmetic on caller-supplied monotonic seconds.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>

namespace stocksync::worker {

struct ShopifyThrottleStatus {
  double maximum_available = 0;
  double currently_available = 0;
  double restore_rate = 0;
};

// What one GraphQL response says about cost.
struct ShopifyQueryCost {
  std::optional<double> requested;  // extensions.cost.requestedQueryCost
  std::optional<double> actual;     // extensions.cost.actualQueryCost (null when throttled)
  std::optional<ShopifyThrottleStatus> status;
  bool throttled = false;           // some errors[].extensions.code == "THROTTLED"
};

// Reads extensions.cost and the THROTTLED marker from a parsed response body.
// Missing or mistyped fields are left empty; nothing throws.
ShopifyQueryCost parse_shopify_query_cost(const nlohmann::json &body);

class ShopifyCostBucket {
public:
  // Standard plan defaults: 2,000 points, 100 points/s (§1.5 table).
  explicit ShopifyCostBucket(double maximum_available = 2000, double restore_rate = 100, double now = 0);

  double maximum() const { return maximum_; }
  double restore_rate() const { return restore_; }

  // Points we believe are free at `now`, after in-flight reservations.
  double available(double now) const;

  // Seconds until a query of `requested` points would be admitted (0: now).
  double wait_seconds(double now, double requested) const;

  // A query of `requested` points is being sent.
  void reserve(double now, double requested);

  // Its response arrived: release the reservation and adopt what the server
  // reported. On THROTTLED the bucket pauses for the documented wait.
  void complete(double now, double requested, const ShopifyQueryCost &cost);

  // ceil((requested - currentlyAvailable) / restoreRate), at least 1 s.
  static double throttled_wait_seconds(double requested, const ShopifyThrottleStatus &status);

private:
  double level(double now) const;

  double maximum_;
  double restore_;
  double points_;       // estimate of currentlyAvailable at last_
  double last_;
  double in_flight_ = 0;  // reserved by queries not answered yet
  double paused_until_ = 0;
};

}  // namespace stocksync::worker
