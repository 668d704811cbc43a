// Response classification and throttle headers; see classify.hpp.
#include "http/classify.hpp"

#include <curl/curl.h>

#include <cmath>
#include <cstdlib>
#include <string>

namespace stocksync::worker {

namespace {
constexpr std::size_t kMaxHeaderValue = 64;         // longer than any valid date or number
constexpr long long kMaxRetryAfterMs = 24LL * 3600 * 1000;
}  // namespace

ResponseClass classify(const HttpResponse &r) {
  if (r.transport_failed() || r.status == 0)
    return ResponseClass::retryable;
  if (r.status >= 200 && r.status < 300)
    return ResponseClass::ok;
  if (r.status == 429 || r.status == 408 || (r.status >= 500 && r.status < 600))
    return ResponseClass::retryable;
  return ResponseClass::permanent;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::time_t now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  if (value.empty() || value.size() > kMaxHeaderValue)
    return std::nullopt;
  bool digits = true;
  for (char c : value)
    digits = digits && c >= '0' && c <= '9';
  long long ms;
  if (digits) {
    if (value.size() > 9)
      return std::chrono::milliseconds(kMaxRetryAfterMs);
    ms = std::stoll(std::string(value)) * 1000;
  } else {
    // HTTP-date ("Wed, 21 Oct 2026 07:28:00 GMT"); curl_getdate parses the
    // three formats RFC 9110 allows.
    std::string s(value);
    std::time_t at = curl_getdate(s.c_str(), nullptr);
    if (at == static_cast<std::time_t>(-1))
      return std::nullopt;
    ms = (static_cast<long long>(at) - static_cast<long long>(now)) * 1000;
    if (ms < 0)
      ms = 0;
  }
  if (ms > kMaxRetryAfterMs)
    ms = kMaxRetryAfterMs;
  return std::chrono::milliseconds(ms);
}

std::optional<std::chrono::milliseconds> retry_after(const HttpResponse &r, std::time_t now) {
  auto v = r.header("Retry-After");
  if (!v)
    return std::nullopt;
  return parse_retry_after(*v, now);
}

std::optional<double> parse_amzn_rate_limit(std::string_view value) {
  if (value.empty() || value.size() > kMaxHeaderValue)
    return std::nullopt;
  std::string s(value);
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  while (end && (*end == ' ' || *end == '\t'))
    ++end;
  if (!end || *end != '\0' || !std::isfinite(v) || v <= 0 || v > 10000)
    return std::nullopt;
  return v;
}

std::optional<double> amzn_rate_limit(const HttpResponse &r) {
  auto v = r.header("x-amzn-RateLimit-Limit");
  if (!v)
    return std::nullopt;
  return parse_amzn_rate_limit(*v);
}

}  // namespace stocksync::worker
