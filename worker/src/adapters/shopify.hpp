// Shopify Admin GraphQL 2026-04 adapter (channel-apis.md §1):
// inventorySetQuantities in calls of up to 250 quantities, each call made
// idempotent with @idempotent(key:), every quantity a compare-and-set with
// changeFromQuantity, so that a sale on Shopify the ledger has not seen yet
// is never erased.
//
//   POST {base_url}/admin/api/2026-04/graphql.json
//   X-Shopify-Access-Token: shpat_...
//   {"query": "mutation StocksyncSet($input: InventorySetQuantitiesInput!) {
//      inventorySetQuantities(input: $input) @idempotent(key: \"<key>\") {
//        inventoryAdjustmentGroup { ... changes { name quantityAfterChange item { id } location { id } } }
//        userErrors { code field message } } }",
//    "variables": {"input": {"name": "available", "reason": "correction",
//      "referenceDocumentUri": "gid://stocksync/Push/<key>",
//      "quantities": [{"inventoryItemId": "gid://shopify/InventoryItem/30322695",
//                      "locationId": "gid://shopify/Location/124656943",
//                      "quantity": 7, "changeFromQuantity": 9}]}}}
//
// The idempotency key is a literal in the document (whether Shopify takes a
// variable as a directive argument is unverified, §1.2); the input goes in
// variables, so changeFromQuantity is sent on every quantity, as null when
// nothing was ever acknowledged (2026-04 requires it present, §0.1).
//
// Listing ids (stocksync.listing.external_id): "ITEM" or "ITEM@LOCATION",
// each part a number or the full gid (gid://shopify/InventoryItem/N,
// gid://shopify/Location/N). A plain "ITEM" is the level at
// options.location_id; this is the simulator's listing id format too.
//
// Call keys. Shopify's key belongs to a call, the core's key to a listing.
// A call of one listing uses that listing's key; a call of several uses a
// UUID derived from every (listing, key, quantity, changeFrom) in it, so
// repeating the same listings' true retries together repeats the same key,
// and any other combination is a distinct operation. When a call's answer
// is lost (transport error, timeout, 5xx, unreadable), the adapter remembers
// the call: a later true retry of any of its listings re-sends exactly that
// call (same body, same key) and Shopify answers with the original result
// instead of applying it again; the first definite answer is kept for the
// call's other listings. That memory lives in the process only: after a
// restart the call is repeated under a new key and compare-and-set alone
// protects it (see docs/worker.md). Keys Shopify refuses
// (IDEMPOTENCY_KEY_PARAMETER_MISMATCH, IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED)
// are replaced by a derived one on the next attempt.
//
// Answers (per listing):
//   no userErrors                      acked (quantityAfterChange when reported)
//   CHANGE_FROM_QUANTITY_STALE at i    stale, channel_qty read back with
//                                      inventoryItem.inventoryLevel.quantities;
//                                      nothing in the call was applied, so the
//                                      call's other listings are retryable
//                                      without counting an attempt
//   other userError at quantity i      permanent for i (others as above)
//   userError without an index         permanent for the whole call
//   IDEMPOTENCY_CONCURRENT_REQUEST     retryable after 1 s
//   THROTTLED (HTTP 200, errors[])     retryable, throttled, retry_after from
//                                      ceil((requested - available) / restoreRate)
//   401 / 403                          permanent (token / scope)
//   5xx, 429, transport                retryable (transport: maybe_applied)
// Every answer's extensions.cost feeds a ShopifyCostBucket, and no call is
// sent before the bucket can admit its cost.
//
// Config: base_url (https://SHOP.myshopify.com; the simulator
// http://127.0.0.1:PORT/shopify/NAME), credentials access_token, options
// location_id (default location for plain item ids), reason (correction),
// bucket_size/restore_rate (the plan's bucket until the first answer reports
// it; 2000/100 = Standard), batch_size (250 at most), max_in_flight.
#pragma once

#include "adapters/adapter_util.hpp"
#include "channel_adapter.hpp"
#include "http/shopify_cost_bucket.hpp"

#include <nlohmann/json_fwd.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace boost::asio {
class io_context;
}

namespace stocksync::worker {

struct ShopifyOptions {
  std::string code;
  std::string base_url;  // shop root, without /admin/...
  std::string access_token;
  std::string location_id;  // numeric; default location for plain item ids ("" = none)
  std::string reason = "correction";
  std::size_t batch = 250;
  std::size_t in_flight = 1;
  double bucket_size = 2000, restore_rate = 100;
  std::chrono::milliseconds timeout{10000};

  std::string endpoint() const { return base_url + "/admin/api/2026-04/graphql.json"; }
  static std::optional<ShopifyOptions> from_config(const ChannelConfig &cfg, std::string &error);
};

// One inventory level: the pair Shopify's quantities are keyed by.
struct ShopifyLevelId {
  std::string item;      // gid://shopify/InventoryItem/N
  std::string location;  // gid://shopify/Location/N
};
// "ITEM" or "ITEM@LOCATION" (numbers or gids); nullopt and error when bad.
std::optional<ShopifyLevelId> parse_shopify_listing_id(const std::string &external_id,
                                                       const std::string &default_location, std::string &error);

// The Shopify idempotency key of a call of these listings (see above).
std::string shopify_call_key(const std::vector<ListingPush> &members);

class ShopifyAdapter : public ChannelAdapter {
public:
  ShopifyAdapter(ShopifyOptions options, boost::asio::io_context &io, HttpClient &http,
                 AdapterClock clock = AdapterClock::real());
  ~ShopifyAdapter() override;

  std::size_t max_batch() const override { return opts_.batch; }
  std::size_t max_in_flight() const override { return opts_.in_flight; }
  bool compare_and_set() const override { return true; }
  void push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) override;
  bool can_read_levels() const override { return true; }
  void read_levels(std::vector<std::string> external_ids,
                   std::function<void(std::vector<LevelReading>)> done) override;
  void shutdown() override;

  const ShopifyCostBucket &bucket() const { return bucket_; }
  std::size_t remembered_calls() const { return calls_.size(); }

  struct Call;      // one inventorySetQuantities request (shopify.cpp)
  struct Recorded;  // a call whose answer was lost, kept for true retries

private:
  using Quantities = std::vector<std::optional<int>>;  // per level; nullopt = unreadable
  using QuantitiesDone = std::function<void(Quantities, std::vector<std::string> errors)>;

  void send_call(const std::shared_ptr<PushJob> &job, std::shared_ptr<Call> call);
  void on_call(const std::shared_ptr<PushJob> &job, const std::shared_ptr<Call> &call, const HttpResponse &r,
               double cost);
  void map_answer(const std::shared_ptr<PushJob> &job, const std::shared_ptr<Call> &call, const nlohmann::json &payload);
  void read_quantities(std::vector<ShopifyLevelId> levels, QuantitiesDone done);
  void read_chunk(std::vector<ShopifyLevelId> levels, QuantitiesDone done);
  void admit(double cost, std::function<void(bool)> go);
  void pump();
  std::string key_for(const ListingPush &p) const;
  void forget_calls();

  ShopifyOptions opts_;
  boost::asio::io_context &io_;
  HttpClient &http_;
  AdapterClock clock_;
  ShopifyCostBucket bucket_;
  struct Gate;
  std::unique_ptr<Gate> gate_;
  std::deque<std::pair<double, std::function<void(bool)>>> waiting_;
  std::map<std::string, std::shared_ptr<Recorded>> calls_;  // listing key -> remembered call
  std::map<std::string, std::string> renewed_;              // refused key -> replacement
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  bool stopped_ = false;
};

std::unique_ptr<ChannelAdapter> make_shopify_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error);

}  // namespace stocksync::worker
