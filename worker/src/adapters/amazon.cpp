// Amazon SP-API adapter: LWA token, patchListingsItem per SKU; see amazon.hpp.
#include "adapters/amazon.hpp"

#include "http/bounded_json.hpp"
#include "http/classify.hpp"
#include "http/rate_defaults.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace stocksync::worker {

namespace {

using nlohmann::json;

// "code: message" of the first entry of an SP-API ErrorList
// ({"errors": [{"code", "message", "details"?}]}, §2.8).
std::string sp_error_text(const HttpResponse &r) {
  auto j = parse_bounded_json(r.body);
  if (j && j->is_object()) {
    auto errs = j->find("errors");
    if (errs != j->end() && errs->is_array() && !errs->empty() && (*errs)[0].is_object()) {
      const json &e = (*errs)[0];
      std::string code = e.value("code", std::string());
      std::string msg = e.value("message", std::string());
      return clip("HTTP " + std::to_string(r.status) + " " + code + ": " + msg);
    }
  }
  return "HTTP " + std::to_string(r.status);
}

// 403 {"errors": [{"code": "Unauthorized", ...}]} covers an expired or
// unknown access token (§2.1); a refresh may fix it.
bool is_unauthorized(const HttpResponse &r) {
  if (r.status != 403)
    return false;
  auto j = parse_bounded_json(r.body);
  if (!j || !j->is_object())
    return true;  // a bare 403: worth one refresh
  auto errs = j->find("errors");
  if (errs == j->end() || !errs->is_array())
    return true;
  for (const auto &e : *errs)
    if (e.is_object() && e.value("code", std::string()) == "Unauthorized")
      return true;
  return false;
}

// Issues of an INVALID submission, "code: message; ..." (§2.2).
std::string issues_text(const json &body) {
  std::string out;
  auto issues = body.find("issues");
  if (issues == body.end() || !issues->is_array())
    return out;
  for (const auto &i : *issues) {
    if (!i.is_object())
      continue;
    if (!out.empty())
      out += "; ";
    out += i.value("severity", std::string("ERROR")) + " " + i.value("code", std::string()) + ": " +
           i.value("message", std::string());
  }
  return out;
}

}  // namespace

std::optional<AmazonOptions> AmazonOptions::from_config(const ChannelConfig &cfg, std::string &error) {
  AmazonOptions o;
  o.code = cfg.code;
  o.api_base = strip_trailing_slash(cfg.base_url.empty() ? o.api_base : cfg.base_url);
  o.auth_url = option_or(cfg, "auth_url", o.auth_url);
  o.seller_id = option_or(cfg, "seller_id", "");
  o.marketplace_id = option_or(cfg, "marketplace_id", o.marketplace_id);
  o.product_type = option_or(cfg, "product_type", o.product_type);
  o.patch_op = option_or(cfg, "patch_op", o.patch_op);
  o.client_id = credential_or(cfg, "client_id");
  o.client_secret = credential_or(cfg, "client_secret");
  o.refresh_token = credential_or(cfg, "refresh_token");
  auto bad = config_error(cfg, error);
  if (o.seller_id.empty())
    return bad("options.seller_id is required for amazon (the merchant token, e.g. A1B2C3D4E5)");
  if (o.client_id.empty() || o.client_secret.empty() || o.refresh_token.empty())
    return bad("credentials client_id, client_secret and refresh_token are required for amazon (LWA)");
  if (o.patch_op != "merge" && o.patch_op != "replace")
    return bad("options.patch_op must be merge or replace, got \"" + o.patch_op + "\"");
  for (const std::string *u : {&o.api_base, &o.auth_url})
    if (!is_https(*u) && !is_loopback_http(*u))
      return bad("\"" + *u + "\" must be https (plain http only to a loopback simulator)");
  const RateSpec spec = *documented_rate("amazon", "patchListingsItem");  // default plan (§2.5)
  o.rate = cfg.rate_per_sec > 0 ? cfg.rate_per_sec : spec.rate;
  // One token of headroom below the documented burst: Amazon's bucket counts
  // arrivals, and a burst that leaves together can arrive bunched closer
  // than it left (connection set-up delays the first calls more than the
  // next ones), which a full-size burst turns into a 429.
  o.burst = cfg.burst > 0 ? cfg.burst : std::max(1.0, spec.burst - 1);
  o.batch = cfg.batch_size > 0 ? std::min<std::size_t>(cfg.batch_size, 25) : 1;
  // One PATCH per SKU: keep the burst busy unless the config says otherwise.
  o.in_flight = cfg.max_in_flight > 0 ? static_cast<std::size_t>(cfg.max_in_flight)
                                      : static_cast<std::size_t>(std::max(1.0, std::ceil(o.burst)));
  o.timeout = cfg.request_timeout;
  return o;
}

AmazonAdapter::AmazonAdapter(AmazonOptions options, boost::asio::io_context &io, HttpClient &http, AdapterClock clock)
    : opts_(std::move(options)), io_(io), http_(http), clock_(std::move(clock)),
      gate_(io, opts_.rate, opts_.burst, clock_.mono),
      tokens_([this](std::function<void(TokenGrant)> cb) { fetch_token(std::move(cb)); }, clock_.mono, 60) {}

AmazonAdapter::~AmazonAdapter() { shutdown(); }

void AmazonAdapter::shutdown() {
  stopped_ = true;
  gate_.cancel();  // queued SKUs come back retryable
}

// LWA refresh (§2.1): form-encoded refresh_token grant -> access_token, expires_in.
void AmazonAdapter::fetch_token(std::function<void(TokenGrant)> cb) {
  HttpRequest req;
  req.method = "POST";
  req.url = opts_.auth_url;
  req.timeout = opts_.timeout;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded;charset=UTF-8"}, {"Accept", "application/json"}};
  req.body = form_encode({{"grant_type", "refresh_token"},
                          {"refresh_token", opts_.refresh_token},
                          {"client_id", opts_.client_id},
                          {"client_secret", opts_.client_secret}});
  http_.send(std::move(req), [cb = std::move(cb)](HttpResponse r) {
    TokenGrant g;
    if (r.transport_failed()) {
      g.error = "LWA token request failed: " + r.error;
      g.retryable = true;
      return cb(g);
    }
    auto j = parse_bounded_json(r.body);
    if (r.status == 200 && j && j->is_object() && j->contains("access_token") && (*j)["access_token"].is_string()) {
      g.access_token = (*j)["access_token"].get<std::string>();
      g.expires_in_s = expires_in_or(*j, 3600);
      if (g.access_token.size() > 8192) {
        g.access_token.clear();
        g.error = "LWA answered an access token longer than 8 KiB";
      }
      return cb(g);
    }
    // {"error": "invalid_grant", "error_description": "..."}: the credentials
    // are wrong; a 5xx or 429 may pass.
    refuse_token(g, r, j, "LWA");
    cb(g);
  });
}

void AmazonAdapter::push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) {
  auto job = start_push(io_, std::move(batch), std::move(done), stopped_);
  if (!job)
    return;
  for (std::size_t i = 0; i < job->size(); ++i)
    submit(job, i, false);
}

// Gets a token, then waits for the rate gate, then sends item i's PATCH at
// once: a call is counted when it leaves, so a slow token fetch cannot bunch
// calls admitted earlier into a burst above the channel's limit.
// Orders polling and reconciliation reads (channel_adapter.hpp): the LWA
// token in x-amz-access-token, refreshed once after a 403 Unauthorized.
void AmazonAdapter::authorized_get(const std::string &path_and_query, std::chrono::milliseconds timeout,
                                   std::function<void(HttpResponse)> done) {
  TokenGet{http_, tokens_, alive_,
           [](HttpRequest &r, const std::string &token) { r.headers.emplace_back("x-amz-access-token", token); },
           is_unauthorized}
      .send(json_get(opts_.api_base + path_and_query, timeout), std::move(done));
}

void AmazonAdapter::submit(const std::shared_ptr<PushJob> &job, std::size_t i, bool refreshed) {
  std::weak_ptr<char> alive = alive_;
  tokens_.get([this, alive, job, i, refreshed](const TokenGrant &g) {
    if (alive.expired())
      return job->set(i, retryable_result(job->item(i), "adapter shut down"));
    if (g.access_token.empty()) {
      job->set(i, g.retryable ? retryable_result(job->item(i), g.error) : permanent_result(job->item(i), g.error));
      return;
    }
    std::string token = g.access_token;
    gate_.acquire([this, alive, job, i, refreshed, token](bool admitted) {
      if (!admitted || alive.expired()) {
        job->set(i, retryable_result(job->item(i), "adapter shut down"));
        return;
      }
      send_patch(job, i, token, refreshed);
    });
  });
}

void AmazonAdapter::send_patch(const std::shared_ptr<PushJob> &job, std::size_t i, const std::string &token,
                               bool refreshed) {
  const ListingPush &p = job->item(i);
  json body = {{"productType", opts_.product_type},
               {"patches", json::array({{{"op", opts_.patch_op},
                                         {"path", "/attributes/fulfillment_availability"},
                                         {"value", json::array({{{"fulfillment_channel_code", "DEFAULT"},
                                                                 {"quantity", std::max(0, p.desired_qty)}}})}}})}};
  HttpRequest req;
  req.method = "PATCH";
  req.url = opts_.api_base + "/listings/2021-08-01/items/" + percent_encode(opts_.seller_id) + "/" +
            percent_encode(p.external_id) + "?marketplaceIds=" + percent_encode(opts_.marketplace_id);
  req.timeout = opts_.timeout;
  req.headers = {{"x-amz-access-token", token},
                 {"Content-Type", "application/json"},
                 {"Accept", "application/json"}};
  req.body = body.dump();
  std::weak_ptr<char> alive = alive_;
  http_.send(std::move(req), [this, alive, job, i, token, refreshed](HttpResponse r) {
    if (alive.expired())
      return job->set(i, retryable_result(job->item(i), "adapter shut down", std::nullopt, false, true));
    on_patch(job, i, token, refreshed, r);
  });
}

// Maps one PATCH answer to item i's result (§2.2, §2.5, §2.8).
void AmazonAdapter::on_patch(const std::shared_ptr<PushJob> &job, std::size_t i, const std::string &token,
                             bool refreshed, const HttpResponse &r) {
  const ListingPush &p = job->item(i);
  // Live signal: the rate Amazon applies to this seller and operation.
  if (auto rate = amzn_rate_limit(r))
    gate_.set_rate(*rate);
  if (r.transport_failed()) {
    job->set(i, retryable_result(p, r.error, std::nullopt, false, true));
    return;
  }
  if (is_unauthorized(r)) {
    if (!refreshed && !stopped_) {
      tokens_.invalidate(token);  // expired or revoked: refresh once and resend
      submit(job, i, true);
      return;
    }
    job->set(i, permanent_result(p, sp_error_text(r) + " (after a token refresh)"));
    return;
  }
  auto wait = retry_after(r, static_cast<std::time_t>(clock_.wall()));
  if (r.status == 429) {
    // QuotaExceeded: our bucket was optimistic. No Retry-After is documented;
    // the next token at the applied rate is the earliest sensible retry.
    hold_gate(gate_, wait);
    auto next = wait.value_or(std::chrono::milliseconds(static_cast<long long>(1000.0 / gate_.bucket().rate())));
    job->set(i, retryable_result(p, sp_error_text(r), next, true));
    return;
  }
  if (classify(r) == ResponseClass::retryable) {
    job->set(i, retryable_result(p, sp_error_text(r), wait, false, r.status == 504));
    return;
  }
  if (classify(r) == ResponseClass::permanent) {
    job->set(i, permanent_result(p, sp_error_text(r)));
    return;
  }
  std::string err;
  auto j = parse_bounded_json(r.body, &err);
  if (!j || !j->is_object()) {
    // A 2xx we cannot read may still have been accepted.
    job->set(i, retryable_result(p, "unreadable patchListingsItem answer: " + err, std::nullopt, false, true));
    return;
  }
  std::string status = j->value("status", std::string());
  std::string submission = j->value("submissionId", std::string());
  if (status == "ACCEPTED") {
    std::string msg = "ACCEPTED submission " + submission + " (Amazon applies it asynchronously)";
    std::string issues = issues_text(*j);
    if (!issues.empty())
      msg += "; " + issues;
    job->set(i, acked_result(p, std::max(0, p.desired_qty), clip(msg)));
  } else if (status == "INVALID") {
    job->set(i, permanent_result(p, "INVALID submission " + submission + ": " + issues_text(*j)));
  } else {
    job->set(i, permanent_result(p, "unexpected patchListingsItem status \"" + clip(status, 40) + "\""));
  }
}

std::unique_ptr<ChannelAdapter> make_amazon_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error) {
  return make_adapter_from_config<AmazonAdapter, AmazonOptions>(cfg, env, error);
}

}  // namespace stocksync::worker
