// Small pieces the amazon, ebay and woocommerce adapters share: the clocks an
// adapter reads (injectable for tests), one push's bookkeeping (one result per
// listing, done posted exactly once), URL and form encoding, and reading
// ChannelConfig options.
#pragma once

#include "channel_adapter.hpp"

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

// Builders for the usual results.
PushResult acked_result(const ListingPush &p, int qty, std::string message = {});
PushResult permanent_result(const ListingPush &p, std::string message);
PushResult retryable_result(const ListingPush &p, std::string message,
                            std::optional<std::chrono::milliseconds> retry_after = std::nullopt,
                            bool throttled = false, bool maybe_applied = false);

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string percent_encode(std::string_view s);
// application/x-www-form-urlencoded body from ordered pairs.
std::string form_encode(const std::vector<std::pair<std::string, std::string>> &fields);

// cfg.options[key] or the default.
std::string option_or(const ChannelConfig &cfg, const std::string &key, std::string fallback);
std::string credential_or(const ChannelConfig &cfg, const std::string &key, std::string fallback = {});
// Parses a positive integer option; error set on a bad value.
bool positive_option(const ChannelConfig &cfg, const std::string &key, long long &value, std::string &error);

// Removes trailing slashes (base URLs are joined with "/path").
std::string strip_trailing_slash(std::string url);
// True for http://127.0.0.1, http://localhost, http://[::1] (the simulator).
bool is_loopback_http(std::string_view url);
bool is_https(std::string_view url);

// Truncates a message for PushResult::message (a channel may answer with
// kilobytes of text).
std::string clip(std::string s, std::size_t max = 300);

}  // namespace stocksync::worker
