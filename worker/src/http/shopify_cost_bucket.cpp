// Shopify GraphQL cost bucket; see shopify_cost_bucket.hpp.
#include "http/shopify_cost_bucket.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace stocksync::worker {

namespace {

// A positive finite number at body[key], if any.
std::optional<double> number_at(const nlohmann::json &obj, const char *key) {
  if (!obj.is_object())
    return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number())
    return std::nullopt;
  double v = it->get<double>();
  if (!std::isfinite(v) || v < 0)
    return std::nullopt;
  return v;
}

}  // namespace

ShopifyQueryCost parse_shopify_query_cost(const nlohmann::json &body) {
  ShopifyQueryCost out;
  if (!body.is_object())
    return out;
  // errors[].extensions.code == "THROTTLED" (HTTP 200, §1.5).
  auto errs = body.find("errors");
  if (errs != body.end() && errs->is_array()) {
    for (const auto &e : *errs) {
      if (!e.is_object())
        continue;
      auto ext = e.find("extensions");
      if (ext != e.end() && ext->is_object()) {
        auto code = ext->find("code");
        if (code != ext->end() && code->is_string() && code->get<std::string>() == "THROTTLED")
          out.throttled = true;
      }
    }
  }
  auto ext = body.find("extensions");
  if (ext == body.end() || !ext->is_object())
    return out;
  auto cost = ext->find("cost");
  if (cost == ext->end() || !cost->is_object())
    return out;
  out.requested = number_at(*cost, "requestedQueryCost");
  out.actual = number_at(*cost, "actualQueryCost");
  auto ts = cost->find("throttleStatus");
  if (ts != cost->end() && ts->is_object()) {
    auto max = number_at(*ts, "maximumAvailable");
    auto cur = number_at(*ts, "currentlyAvailable");
    auto rate = number_at(*ts, "restoreRate");
    if (max && cur && rate && *max > 0 && *rate > 0)
      out.status = ShopifyThrottleStatus{*max, *cur, *rate};
  }
  return out;
}

ShopifyCostBucket::ShopifyCostBucket(double maximum_available, double restore_rate, double now)
    : maximum_(std::max(1.0, maximum_available)), restore_(std::max(1e-3, restore_rate)), points_(maximum_),
      last_(now) {}

double ShopifyCostBucket::level(double now) const {
  double p = points_;
  if (now > last_)
    p = std::min(maximum_, p + (now - last_) * restore_);
  return p;
}

double ShopifyCostBucket::available(double now) const {
  if (now < paused_until_)
    return 0;
  return std::max(0.0, level(now) - in_flight_);
}

double ShopifyCostBucket::wait_seconds(double now, double requested) const {
  requested = std::min(requested, maximum_);  // above the maximum: let Shopify refuse it
  double have = level(now) - in_flight_;
  double wait = have >= requested ? 0.0 : (requested - have) / restore_;
  return std::max(wait, paused_until_ - now);
}

void ShopifyCostBucket::reserve(double now, double requested) {
  points_ = level(now);
  last_ = std::max(last_, now);
  in_flight_ += std::max(0.0, requested);
}

void ShopifyCostBucket::complete(double now, double requested, const ShopifyQueryCost &cost) {
  in_flight_ = std::max(0.0, in_flight_ - std::max(0.0, requested));
  if (cost.status) {
    // The server's view already includes this query's cost (and refund), but
    // not the queries still in flight that it has not seen; in_flight_ keeps
    // those subtracted, which can only underestimate: never over the limit.
    maximum_ = cost.status->maximum_available;
    restore_ = cost.status->restore_rate;
    points_ = std::min(maximum_, cost.status->currently_available);
    last_ = now;
  } else if (cost.actual) {
    // No status: at least refund requested - actual locally.
    points_ = level(now) - std::max(0.0, *cost.actual);
    last_ = now;
  } else {
    points_ = level(now);
    last_ = now;
  }
  if (cost.throttled) {
    ShopifyThrottleStatus s = cost.status.value_or(ShopifyThrottleStatus{maximum_, points_, restore_});
    paused_until_ = std::max(paused_until_, now + throttled_wait_seconds(requested, s));
  }
}

double ShopifyCostBucket::throttled_wait_seconds(double requested, const ShopifyThrottleStatus &status) {
  double deficit = requested - status.currently_available;
  double rate = status.restore_rate > 0 ? status.restore_rate : 1;
  return std::max(1.0, std::ceil(deficit / rate));
}

}  // namespace stocksync::worker
