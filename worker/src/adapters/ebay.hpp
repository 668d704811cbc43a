// eBay Sell Inventory adapter (channel-apis.md §3): bulkUpdatePriceQuantity in
// calls of at most 25 requests[] entries and 25 offers, both quantity levels
// set (the listing shows the minimum of shipToLocationAvailability and the
// offer's availableQuantity, §3.2), the statusCode of every offer of a listing
// in a 200/207 gathered per listing (acknowledged only when all are 2xx; one
// refused offer keeps its old quantity on eBay), and the 250 revisions per
// listing per day respected.
//
//   POST {api_base}/sell/inventory/v1/bulk_update_price_quantity
//   Authorization: Bearer <user token>
//   {"requests": [{"sku": "SKU-1", "shipToLocationAvailability": {"quantity": 7},
//                  "offers": [{"offerId": "9876543210", "availableQuantity": 7}]}]}
//   -> 200 | 207 {"responses": [{"statusCode", "sku", "offerId", "errors": [], "warnings": []}]}
//      one response per offer (with its offerId); an entry without offers is
//      answered once, with the sku and no offerId (PriceQuantityResponse).
//
// Listing ids (stocksync.listing.external_id): "SKU|offerId[,offerId...]", or
// just "SKU", in which case the offers are read once with
// GET /sell/inventory/v1/offer?sku=SKU and cached.
//
// Revisions: eBay blocks a listing after 250 revisions in a calendar day
// (§3.3). We count successful (and possibly applied) revisions per listing
// per Pacific day and answer retryable with retry_after = the next Pacific
// midnight once the count is reached; an eBay refusal for the same reason
// (errorId 25025) sets the count to the limit. The count lives in memory: after
// a restart eBay's own refusal is the backstop. The day is US Pacific time:
// UTC-8, and UTC-7 from the second Sunday of March to the first Sunday of
// November (computed, no time zone database). Our count starts its new day a
// minute after Pacific midnight (kResetDelayS), so that a clock a little ahead
// of eBay's does not spend a push that eBay refuses (25025) and then holds the
// listing for a whole day.
//
// Config: base_url (https://api.ebay.com; simulator http://127.0.0.1:PORT/ebay/{name});
// options token_url (base_url + /identity/v1/oauth2/token), scope
// (https://api.ebay.com/oauth/api_scope/sell.inventory), revisions_per_day (250);
// credentials access_token (fixed), or client_id + client_secret + refresh_token
// (user token, refreshed), or client_id + client_secret (client credentials);
// rate_per_sec/burst (default from http/rate_defaults: ours, 23/25, the
// unverified 2,000,000 calls/day quota);
// batch_size (25 at most); max_in_flight (4).
#pragma once

#include "adapters/access_token.hpp"
#include "adapters/adapter_util.hpp"
#include "channel_adapter.hpp"
#include "http/rate_defaults.hpp"
#include "http/rate_gate.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stocksync::worker {

struct EbayOptions {
  std::string code;
  std::string api_base = "https://api.ebay.com";
  std::string token_url;  // default api_base + /identity/v1/oauth2/token
  std::string scope = "https://api.ebay.com/oauth/api_scope/sell.inventory";
  std::string access_token, client_id, client_secret, refresh_token;
  long long revisions_per_day = 250;
  // http/rate_defaults: ours, from the unverified 2,000,000 calls/day quota.
  double rate = default_rate("ebay", "bulkUpdatePriceQuantity").rate;
  double burst = default_rate("ebay", "bulkUpdatePriceQuantity").burst;
  // Outstanding push() calls (a call carries up to 25 SKUs; the rate is
  // limited per day, not per connection). max_in_flight overrides it.
  std::size_t in_flight = 4;
  std::size_t batch = 25;
  std::chrono::milliseconds timeout{10000};

  static std::optional<EbayOptions> from_config(const ChannelConfig &cfg, std::string &error);
};

// "SKU|o1,o2" -> sku, offers; "SKU" -> sku, no offers (look them up).
struct EbayListingId {
  std::string sku;
  std::vector<std::string> offers;
  bool offers_known = false;
  bool offers_cached = false;  // offers of a plain SKU from an earlier lookup (may have ended since)
};
std::optional<EbayListingId> parse_ebay_listing_id(const std::string &external_id);

// Revisions per listing per US Pacific day (PST or PDT).
class EbayRevisionCounter {
public:
  explicit EbayRevisionCounter(long long limit) : limit_(limit) {}
  // US Pacific time's offset from UTC at unix_s: -28800 (PST) or -25200 (PDT).
  static std::int64_t pacific_utc_offset_s(std::int64_t unix_s);
  // Days since 1970-01-01 of the Pacific date at unix_s.
  static long long pacific_day(std::int64_t unix_s);
  // Seconds from unix_s to the next Pacific midnight.
  static std::int64_t seconds_to_next_day(std::int64_t unix_s);
  // The counts start over this long after Pacific midnight (clock skew).
  static constexpr std::int64_t kResetDelayS = 60;
  // Seconds from unix_s until the counts start over (midnight + kResetDelayS).
  static std::int64_t seconds_to_reset(std::int64_t unix_s);
  bool exhausted(const std::string &listing, std::int64_t unix_s);
  void add(const std::string &listing, std::int64_t unix_s);
  void set_exhausted(const std::string &listing, std::int64_t unix_s);
  long long count(const std::string &listing, std::int64_t unix_s);

private:
  void roll(std::int64_t unix_s);
  long long limit_;
  long long day_ = -1;
  std::map<std::string, long long> counts_;
};

class EbayAdapter : public ChannelAdapter {
public:
  EbayAdapter(EbayOptions options, boost::asio::io_context &io, HttpClient &http,
              AdapterClock clock = AdapterClock::real());
  ~EbayAdapter() override;

  std::size_t max_batch() const override { return opts_.batch; }
  std::size_t max_in_flight() const override { return opts_.in_flight; }
  void push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) override;
  bool can_get() const override { return true; }
  void authorized_get(const std::string &path_and_query, std::chrono::milliseconds timeout,
                      std::function<void(HttpResponse)> done) override;
  void shutdown() override;

  EbayRevisionCounter &revisions() { return revisions_; }
  int token_refreshes() const { return tokens_.refreshes(); }

private:
  struct Call;  // one bulk_update_price_quantity call: items and their ids
  void resolve_offers(const std::shared_ptr<PushJob> &job, std::vector<std::size_t> items,
                      std::shared_ptr<std::vector<EbayListingId>> ids);
  void send_calls(const std::shared_ptr<PushJob> &job, const std::vector<std::size_t> &items,
                  const std::shared_ptr<std::vector<EbayListingId>> &ids);
  void submit(const std::shared_ptr<Call> &call, bool refreshed);
  void on_bulk(const std::shared_ptr<Call> &call, const std::string &token, bool refreshed, const HttpResponse &r);
  void fetch_token(std::function<void(TokenGrant)> cb);
  void with_token(std::function<void(const TokenGrant &)> cb);

  EbayOptions opts_;
  boost::asio::io_context &io_;
  HttpClient &http_;
  AdapterClock clock_;
  RateGate gate_;
  AccessTokenCache tokens_;
  EbayRevisionCounter revisions_;
  std::map<std::string, std::vector<std::string>> offer_cache_;  // sku -> offer ids
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  bool stopped_ = false;
};

std::unique_ptr<ChannelAdapter> make_ebay_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error);

}  // namespace stocksync::worker
