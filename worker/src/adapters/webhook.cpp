// Standard Webhooks stock events; see webhook.hpp.
#include "adapters/webhook.hpp"

#include "adapters/adapter_util.hpp"
#include "http/classify.hpp"
#include "util/crypto.hpp"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <set>

#include <chrono>
#include <ctime>

namespace stocksync::worker {

namespace {

std::string iso8601_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string hex(std::string_view bytes) {
  static const char *digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

}  // namespace

WebhookAdapter::WebhookAdapter(const ChannelConfig &cfg, AdapterEnv &env, std::string key,
                               std::function<std::int64_t()> unix_now)
    : cfg_(cfg), env_(env), key_(std::move(key)), unix_now_(std::move(unix_now)),
      batch_(cfg.batch_size ? cfg.batch_size : 100), in_flight_(static_cast<std::size_t>(std::max(1, cfg.max_in_flight))) {
  if (!unix_now_)
    unix_now_ = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
}

HttpRequest WebhookAdapter::build_request(const std::vector<ListingPush> &batch, std::int64_t ts) const {
  nlohmann::json data = nlohmann::json::array();
  std::set<std::string> keys;
  for (const auto &p : batch) {
    data.push_back({{"sku", p.external_id},
                    {"available", p.desired_qty},
                    {"stocksync_sku", p.sku},
                    {"version", p.inputs_version}});
    keys.insert(p.idempotency_key);
  }
  nlohmann::json body = {{"type", "stock.changed"}, {"timestamp", iso8601_now()}, {"data", data}};
  HttpRequest req;
  req.method = "POST";
  req.url = cfg_.base_url;
  req.body = body.dump();
  // The id follows the call's distinct keys and its listings: the core gives
  // a call one key (one_key_per_call) and retries an uncertain call's
  // listings together under it, so the retry carries the original id and the
  // consumer drops it. A call that differs in its listings is another call
  // with another id: a consumer must never drop a listing it has not applied.
  std::set<std::string> listings;
  for (const auto &p : batch)
    listings.insert(p.external_id);
  std::string identity;
  for (const auto &k : keys)
    identity += k + '\n';
  for (const auto &l : listings)
    identity += l + '\n';
  std::string id = "msg_" + hex(hmac_sha256("stocksync-webhook-id", identity)).substr(0, 32);
  req.headers = {{"Content-Type", "application/json"},
                 {"webhook-id", id},
                 {"webhook-timestamp", std::to_string(ts)},
                 {"webhook-signature", std_webhook_signature(key_, id, ts, req.body)}};
  req.timeout = cfg_.request_timeout;
  return req;
}

std::vector<PushResult> WebhookAdapter::map_response(const std::vector<ListingPush> &batch, const HttpResponse &resp) {
  const ResponseClass cls = classify(resp);
  std::vector<PushResult> out;
  out.reserve(batch.size());
  for (const auto &p : batch) {
    PushResult r;
    r.external_id = p.external_id;
    if (resp.transport_failed()) {
      r.outcome = PushOutcome::retryable;
      r.maybe_applied = resp.timed_out;
      r.message = "transport: " + resp.error;
    } else if (cls == ResponseClass::ok) {
      r.outcome = PushOutcome::acked;
      r.acked_qty = p.desired_qty;
    } else if (cls == ResponseClass::retryable) {
      r.outcome = PushOutcome::retryable;
      r.throttled = resp.status == 429;
      r.retry_after = retry_after(resp, std::time(nullptr));
      r.message = "HTTP " + std::to_string(resp.status);
    } else {
      r.outcome = PushOutcome::permanent;
      r.message = "HTTP " + std::to_string(resp.status) + ": " + resp.body.substr(0, 200);
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Through start_push() like every adapter: done is posted once, with one
// result per listing, and a stopped adapter answers without sending.
void WebhookAdapter::push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) {
  auto job = start_push(env_.io, std::move(batch), std::move(done), stopped_);
  if (!job)
    return;
  HttpRequest req = build_request(job->batch(), unix_now_());
  env_.http.send(std::move(req), [job](HttpResponse resp) {
    auto results = map_response(job->batch(), resp);
    for (std::size_t i = 0; i < results.size(); ++i)
      job->set(i, std::move(results[i]));
  });
}

std::unique_ptr<ChannelAdapter> make_webhook_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error) {
  std::string secret = credential_or(cfg, "secret");
  if (secret.empty()) {
    error = "channel " + cfg.code + ": credentials.secret (the whsec_ signing secret) is required for kind webhook";
    return nullptr;
  }
  auto key = std_webhook_key(secret);
  if (!key || key->empty()) {
    error = "channel " + cfg.code + ": credentials.secret is not a valid whsec_<base64> secret";
    return nullptr;
  }
  return std::make_unique<WebhookAdapter>(cfg, env, *key);
}

}  // namespace stocksync::worker
