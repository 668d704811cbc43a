// Small pieces the channel adapters share: the clocks an
// adapter reads (injectable for tests), one push's bookkeeping (one result per
// listing, done posted exactly once), URL and form encoding, and reading
// ChannelConfig options.
#pragma once

#include "adapters/access_token.hpp"
#include "channel_adapter.hpp"
#include "http/http_client.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stocksync::worker {

// Monotonic seconds (rate limits, token expiry) and wall-clock Unix seconds
// (Retry-After dates, eBay's Pacific day). Defaults read the real clocks.
struct AdapterClock {
  std::function<double()> mono;
  std::function<std::int64_t()> wall;
  static AdapterClock real();
};

// One push() in progress: the batch, a result slot per listing, and done.
// Callbacks of the HTTP calls it makes hold it by shared_ptr.
class PushJob {
public:
  PushJob(boost::asio::io_context &io, std::vector<ListingPush> batch,
          std::function<void(std::vector<PushResult>)> done);

  const std::vector<ListingPush> &batch() const { return batch_; }
  const ListingPush &item(std::size_t i) const { return batch_[i]; }
  std::size_t size() const { return batch_.size(); }
  bool has_result(std::size_t i) const { return results_[i].has_value(); }

  // Records item i's result once (later calls for i are ignored); when the
  // last slot fills, done is posted to the io_context.
  void set(std::size_t i, PushResult r);
  // Fills every empty slot with r (external_id set per item).
  void set_rest(const PushResult &r);

private:
  boost::asio::io_context &io_;
  std::vector<ListingPush> batch_;
  std::vector<std::optional<PushResult>> results_;
  std::size_t remaining_;
  std::function<void(std::vector<PushResult>)> done_;
};

// Starts one push(): the job for the batch, or, when the adapter is stopped,
// nullptr after every slot got "adapter shut down".
std::shared_ptr<PushJob> start_push(boost::asio::io_context &io, std::vector<ListingPush> batch,
                                    std::function<void(std::vector<PushResult>)> done, bool stopped);

// Builders for the usual results.
PushResult acked_result(const ListingPush &p, int qty, std::string message = {});
PushResult permanent_result(const ListingPush &p, std::string message);
PushResult retryable_result(const ListingPush &p, std::string message,
                            std::optional<std::chrono::milliseconds> retry_after = std::nullopt,
                            bool throttled = false, bool maybe_applied = false);

// The result of a failed (non-2xx) call the adapter did not handle itself:
// 429 retryable and throttled, else retryable or permanent as classify() says.
PushResult failed_call_result(const ListingPush &p, const HttpResponse &r, const std::string &message,
                              std::optional<std::chrono::milliseconds> retry_after);

// A GET of url accepting JSON (authorized_get's request before its auth header).
HttpRequest json_get(std::string url, std::chrono::milliseconds timeout);

// ChannelAdapter::authorized_get for OAuth channels (Amazon LWA, eBay): the
// token from `tokens` put on req by `authorize`; when `unauthorized` says the
// channel refused it, the token is dropped and the request sent once more.
// A failed token refresh answers status 0 with the reason in error.
struct TokenGet {
  HttpClient &http;
  AccessTokenCache &tokens;
  std::weak_ptr<char> alive;  // the adapter; expired: answer "adapter shut down"
  std::function<void(HttpRequest &, const std::string &token)> authorize;
  std::function<bool(const HttpResponse &)> unauthorized;
  void send(HttpRequest req, std::function<void(HttpResponse)> done, bool refreshed = false);
};

class RateGate;
// A 429: holds the whole gate for Retry-After, or drains it when there is none.
void hold_gate(RateGate &gate, std::optional<std::chrono::milliseconds> retry_after);

// An OAuth token answer's expires_in (capped at a day), else the fallback.
double expires_in_or(const nlohmann::json &answer, double fallback);
// Fills g for a refused token refresh: "<what> token refresh refused: HTTP
// <status> <error>: <error_description>", retryable as classify() says.
void refuse_token(TokenGrant &g, const HttpResponse &r, const std::optional<nlohmann::json> &answer,
                  const std::string &what);

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string percent_encode(std::string_view s);
// application/x-www-form-urlencoded body from ordered pairs.
std::string form_encode(const std::vector<std::pair<std::string, std::string>> &fields);

// cfg.options[key] or the default.
std::string option_or(const ChannelConfig &cfg, const std::string &key, std::string fallback);
std::string credential_or(const ChannelConfig &cfg, const std::string &key, std::string fallback = {});
// The batch size the config asks for (batch_size, 0 when unset), never above
// the channel's documented limit; the limit itself when unset.
std::size_t batch_within(const ChannelConfig &cfg, std::size_t limit);
// Parses a positive integer option; error set on a bad value.
bool positive_option(const ChannelConfig &cfg, const std::string &key, long long &value, std::string &error);

// from_config's error setter: bad("what") sets error to "channel <code>:
// what" and returns std::nullopt.
inline auto config_error(const ChannelConfig &cfg, std::string &error) {
  return [&cfg, &error](const std::string &what) {
    error = "channel " + cfg.code + ": " + what;
    return std::nullopt;
  };
}

// make_<channel>_adapter: Options::from_config, then the adapter on env's
// io_context and HTTP client; nullptr (error set) on a bad config.
template <class Adapter, class Options>
std::unique_ptr<ChannelAdapter> make_adapter_from_config(const ChannelConfig &cfg, AdapterEnv &env,
                                                         std::string &error) {
  auto opts = Options::from_config(cfg, error);
  if (!opts)
    return nullptr;
  return std::make_unique<Adapter>(std::move(*opts), env.io, env.http);
}

// Removes trailing slashes (base URLs are joined with "/path").
std::string strip_trailing_slash(std::string url);
// True for http://127.0.0.1, http://localhost, http://[::1] (the simulator).
bool is_loopback_http(std::string_view url);
bool is_https(std::string_view url);

// A decimal id of 1 to 19 digits (fits a signed 64-bit integer).
bool all_digits(const std::string &s);

// Truncates a message for PushResult::message (a channel may answer with
// kilobytes of text).
std::string clip(std::string s, std::size_t max = 300);

}  // namespace stocksync::worker
