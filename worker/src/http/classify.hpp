// What an HTTP answer means for a push, and the live throttle signals in it.
//
//   2xx                          ok
//   429, 5xx, 408, no response   retryable (408: the server timed out reading us)
//   other 4xx (and 1xx/3xx)      permanent: the same request cannot succeed
//
// Adapters look at 401/403 before classifying (an expired token is fixed by a
// refresh, once) and at bodies that hide failures in a 2xx (eBay 207,
// WooCommerce inline errors, Amazon INVALID, Shopify THROTTLED).
#pragma once

#include "http/http_client.hpp"

#include <chrono>
#include <ctime>
#include <optional>
#include <string_view>

namespace stocksync::worker {

enum class ResponseClass { ok, retryable, permanent };

ResponseClass classify(const HttpResponse &response);

// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, relative to
// wall-clock `now`. Bounded to [0, 24 h]; a malformed or overlong value is
// ignored (nullopt).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::time_t now);
std::optional<std::chrono::milliseconds> retry_after(const HttpResponse &response, std::time_t now);

// x-amzn-RateLimit-Limit: the requests per second Amazon applies to this
// operation for this seller and application (channel-apis.md §2.5), e.g.
// "5.0" or "0.0167". Positive and at most 10,000, or nullopt.
std::optional<double> parse_amzn_rate_limit(std::string_view value);
std::optional<double> amzn_rate_limit(const HttpResponse &response);

}  // namespace stocksync::worker
