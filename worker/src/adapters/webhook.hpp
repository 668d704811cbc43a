// The webhook channel: Standard Webhooks-signed stock events to a custom
// consumer (ERP, 3PL, POS).
//
// One POST per batch to base_url:
//   webhook-id:        msg_<hash of the batch's idempotency keys> (stable on a true retry)
//   webhook-timestamp: unix seconds of this attempt
//   webhook-signature: v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>
//   body: {"type":"stock.changed","timestamp":"<ISO 8601>","data":[{"sku":<external_id>,
//          "available":<qty>,"stocksync_sku":<sku>,"version":<inputs_version>}, ...]}
// The key is the base64-decoded part of the whsec_ secret
// (credentials.secret). Answers map as classify() says (http/classify.hpp):
// 2xx acknowledges every listing of the batch; 429, 408 and 5xx are
// retryable (Retry-After honoured); 410 and other 4xx are permanent; a 3xx
// is not followed and counts as a failure.
#pragma once

#include "channel_adapter.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>

namespace stocksync::worker {

class WebhookAdapter : public ChannelAdapter {
public:
  // key: the decoded signing key.
  WebhookAdapter(const ChannelConfig &cfg, AdapterEnv &env, std::string key,
                 std::function<std::int64_t()> unix_now = nullptr);
  std::size_t max_batch() const override { return batch_; }
  std::size_t max_in_flight() const override { return in_flight_; }
  bool one_key_per_call() const override { return true; }
  void push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) override;
  void shutdown() override { stopped_ = true; }

  // The request push() sends for batch at unix time ts (tests).
  HttpRequest build_request(const std::vector<ListingPush> &batch, std::int64_t ts) const;
  // The results for batch given the response (tests).
  static std::vector<PushResult> map_response(const std::vector<ListingPush> &batch, const HttpResponse &resp);

private:
  ChannelConfig cfg_;
  AdapterEnv &env_;
  std::string key_;
  std::function<std::int64_t()> unix_now_;
  std::size_t batch_;
  std::size_t in_flight_;
  bool stopped_ = false;
};

std::unique_ptr<ChannelAdapter> make_webhook_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error);

}  // namespace stocksync::worker
