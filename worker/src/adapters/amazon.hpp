// Amazon SP-API adapter (channel-apis.md §2): one patchListingsItem per seller
// SKU setting the seller-fulfilled (DEFAULT) quantity, with an LWA access
// token refreshed before expiry and after a 403 Unauthorized.
//
//   PATCH {api_base}/listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds={id}
//   x-amz-access-token: Atza|...
//   {"productType": "PRODUCT",
//    "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability",
//                 "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]}]}
//   -> 200 {"sku", "status": "ACCEPTED" | "INVALID", "submissionId", "issues": [...]}
//
// ACCEPTED means accepted for processing, not applied: Amazon applies it
// later and may still raise issues. We report it as acked (the core stores
// what the channel acknowledged) with the submissionId in the message;
// reconciliation reads back what Amazon finally shows.
//
// Config (ChannelConfig): base_url (default https://sellingpartnerapi-na.amazon.com;
// the simulator: http://127.0.0.1:PORT/amazon/{name}); options seller_id
// (required), marketplace_id (ATVPDKIKX0DER), product_type (PRODUCT),
// auth_url (https://api.amazon.com/auth/o2/token), patch_op (merge | replace);
// credentials client_id, client_secret, refresh_token; rate_per_sec/burst
// (5/5, the documented patchListingsItem plan); batch_size (1, at most 25).
#pragma once

#include "adapters/access_token.hpp"
#include "adapters/adapter_util.hpp"
#include "channel_adapter.hpp"
#include "http/rate_gate.hpp"

#include <memory>
#include <optional>
#include <string>

namespace stocksync::worker {

struct AmazonOptions {
  std::string code;  // channel code, for messages
  std::string api_base = "https://sellingpartnerapi-na.amazon.com";
  std::string auth_url = "https://api.amazon.com/auth/o2/token";
  std::string client_id, client_secret, refresh_token;
  std::string seller_id;
  std::string marketplace_id = "ATVPDKIKX0DER";
  std::string product_type = "PRODUCT";
  std::string patch_op = "merge";
  double rate = 5, burst = 5;
  std::size_t batch = 1;
  std::size_t in_flight = 5;
  std::chrono::milliseconds timeout{10000};

  // Reads and checks a ChannelConfig; nullopt with error naming the bad key.
  static std::optional<AmazonOptions> from_config(const ChannelConfig &cfg, std::string &error);
};

class AmazonAdapter : public ChannelAdapter {
public:
  AmazonAdapter(AmazonOptions options, boost::asio::io_context &io, HttpClient &http,
                AdapterClock clock = AdapterClock::real());
  ~AmazonAdapter() override;

  std::size_t max_batch() const override { return opts_.batch; }
  std::size_t max_in_flight() const override { return opts_.in_flight; }
  void push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) override;
  bool can_get() const override { return true; }
  void authorized_get(const std::string &path_and_query, std::chrono::milliseconds timeout,
                      std::function<void(HttpResponse)> done) override;
  void shutdown() override;

  const RateGate &gate() const { return gate_; }
  int token_refreshes() const { return tokens_.refreshes(); }

private:
  void submit(const std::shared_ptr<PushJob> &job, std::size_t i, bool refreshed);
  void send_patch(const std::shared_ptr<PushJob> &job, std::size_t i, const std::string &token, bool refreshed);
  void on_patch(const std::shared_ptr<PushJob> &job, std::size_t i, const std::string &token, bool refreshed,
                const HttpResponse &r);
  void fetch_token(std::function<void(TokenGrant)> cb);

  AmazonOptions opts_;
  boost::asio::io_context &io_;
  HttpClient &http_;
  AdapterClock clock_;
  RateGate gate_;
  AccessTokenCache tokens_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  bool stopped_ = false;
};

std::unique_ptr<ChannelAdapter> make_amazon_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error);

}  // namespace stocksync::worker
