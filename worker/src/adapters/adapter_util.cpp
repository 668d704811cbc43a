// Shared adapter helpers; see adapter_util.hpp.
#include "adapters/adapter_util.hpp"

#include "http/classify.hpp"
#include "http/rate_gate.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdlib>

namespace stocksync::worker {

AdapterClock AdapterClock::real() {
  AdapterClock c;
  c.mono = [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  c.wall = [] {
    return static_cast<std::int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
  };
  return c;
}

PushJob::PushJob(boost::asio::io_context &io, std::vector<ListingPush> batch,
                 std::function<void(std::vector<PushResult>)> done)
    : io_(io), batch_(std::move(batch)), results_(batch_.size()), remaining_(batch_.size()),
      done_(std::move(done)) {
  if (batch_.empty())
    boost::asio::post(io_, [d = std::move(done_)] { d({}); });
}

void PushJob::set(std::size_t i, PushResult r) {
  if (i >= results_.size() || results_[i])
    return;
  r.external_id = batch_[i].external_id;
  results_[i] = std::move(r);
  if (--remaining_ > 0)
    return;
  std::vector<PushResult> out;
  out.reserve(results_.size());
  for (auto &x : results_)
    out.push_back(std::move(*x));
  // Posted: the contract forbids calling done inside push(), and posting
  // always is simpler than knowing where we are.
  boost::asio::post(io_, [d = std::move(done_), out = std::move(out)]() mutable { d(std::move(out)); });
}

void PushJob::set_rest(const PushResult &r) {
  for (std::size_t i = 0; i < results_.size(); ++i)
    if (!results_[i])
      set(i, r);
}

std::shared_ptr<PushJob> start_push(boost::asio::io_context &io, std::vector<ListingPush> batch,
                                    std::function<void(std::vector<PushResult>)> done, bool stopped) {
  auto job = std::make_shared<PushJob>(io, std::move(batch), std::move(done));
  if (!stopped)
    return job;
  PushResult r;
  r.message = "adapter shut down";
  job->set_rest(r);
  return nullptr;
}

PushResult acked_result(const ListingPush &p, int qty, std::string message) {
  PushResult r;
  r.external_id = p.external_id;
  r.outcome = PushOutcome::acked;
  r.acked_qty = qty;
  r.message = std::move(message);
  return r;
}

PushResult permanent_result(const ListingPush &p, std::string message) {
  PushResult r;
  r.external_id = p.external_id;
  r.outcome = PushOutcome::permanent;
  r.message = clip(std::move(message));
  return r;
}

PushResult retryable_result(const ListingPush &p, std::string message,
                            std::optional<std::chrono::milliseconds> retry_after, bool throttled,
                            bool maybe_applied) {
  PushResult r;
  r.external_id = p.external_id;
  r.outcome = PushOutcome::retryable;
  r.message = clip(std::move(message));
  r.retry_after = retry_after;
  r.throttled = throttled;
  r.maybe_applied = maybe_applied;
  return r;
}

PushResult failed_call_result(const ListingPush &p, const HttpResponse &r, const std::string &message,
                              std::optional<std::chrono::milliseconds> retry_after) {
  if (r.status == 429)
    return retryable_result(p, message, retry_after, true);
  if (classify(r) == ResponseClass::retryable)
    return retryable_result(p, message, retry_after);
  return permanent_result(p, message);
}

void hold_gate(RateGate &gate, std::optional<std::chrono::milliseconds> retry_after) {
  if (retry_after)
    gate.pause_for(*retry_after);
  else
    gate.drain();
}

double expires_in_or(const nlohmann::json &answer, double fallback) {
  auto e = answer.find("expires_in");
  if (e != answer.end() && e->is_number() && e->get<double>() > 0)
    return std::min(e->get<double>(), 86400.0);
  return fallback;
}

void refuse_token(TokenGrant &g, const HttpResponse &r, const std::optional<nlohmann::json> &answer,
                  const std::string &what) {
  std::string why = "HTTP " + std::to_string(r.status);
  if (answer && answer->is_object())
    why += " " + answer->value("error", std::string()) + ": " + answer->value("error_description", std::string());
  g.error = clip(what + " token refresh refused: " + why);
  g.retryable = classify(r) == ResponseClass::retryable;
}

std::string percent_encode(std::string_view s) {
  static const char *hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>> &fields) {
  std::string out;
  for (const auto &[k, v] : fields) {
    if (!out.empty())
      out += '&';
    out += percent_encode(k);
    out += '=';
    out += percent_encode(v);
  }
  return out;
}

std::string option_or(const ChannelConfig &cfg, const std::string &key, std::string fallback) {
  auto it = cfg.options.find(key);
  return it == cfg.options.end() || it->second.empty() ? std::move(fallback) : it->second;
}

std::size_t batch_within(const ChannelConfig &cfg, std::size_t limit) {
  return cfg.batch_size > 0 ? std::min(cfg.batch_size, limit) : limit;
}

std::string credential_or(const ChannelConfig &cfg, const std::string &key, std::string fallback) {
  auto it = cfg.credentials.find(key);
  return it == cfg.credentials.end() || it->second.empty() ? std::move(fallback) : it->second;
}

bool positive_option(const ChannelConfig &cfg, const std::string &key, long long &value, std::string &error) {
  auto it = cfg.options.find(key);
  if (it == cfg.options.end() || it->second.empty())
    return true;
  char *end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (!end || *end != '\0' || v <= 0) {
    error = "channel " + cfg.code + ": option " + key + " must be a positive integer, got \"" + it->second + "\"";
    return false;
  }
  value = v;
  return true;
}

std::string strip_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

bool is_https(std::string_view url) { return url.substr(0, 8) == "https://"; }

bool is_loopback_http(std::string_view url) {
  for (std::string_view host : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    if (url.substr(0, host.size()) == host) {
      auto rest = url.substr(host.size());
      if (rest.empty() || rest[0] == ':' || rest[0] == '/')
        return true;
    }
  }
  return false;
}

bool all_digits(const std::string &s) {
  return !s.empty() && s.size() <= 19 && s.find_first_not_of("0123456789") == std::string::npos;
}

std::string clip(std::string s, std::size_t max) {
  if (s.size() > max) {
    s.resize(max);
    s += "...";
  }
  return s;
}

}  // namespace stocksync::worker

namespace stocksync::worker {

HttpRequest json_get(std::string url, std::chrono::milliseconds timeout) {
  HttpRequest req;
  req.url = std::move(url);
  req.timeout = timeout;
  req.headers = {{"Accept", "application/json"}};
  return req;
}

void TokenGet::send(HttpRequest req, std::function<void(HttpResponse)> done, bool refreshed) {
  TokenGet self = *this;
  tokens.get([self, req = std::move(req), done = std::move(done), refreshed](const TokenGrant &g) mutable {
    auto fail = [&](std::string why) {
      HttpResponse r;
      r.error = std::move(why);
      done(std::move(r));
    };
    if (self.alive.expired())
      return fail("adapter shut down");
    if (g.access_token.empty())
      return fail(g.error);
    std::string token = g.access_token;
    HttpRequest sent = req;
    self.authorize(sent, token);
    self.http.send(std::move(sent), [self, req, done, refreshed, token](HttpResponse r) mutable {
      if (!self.alive.expired() && !refreshed && self.unauthorized(r)) {
        self.tokens.invalidate(token);  // expired or revoked: refresh once and resend
        self.send(std::move(req), std::move(done), true);
        return;
      }
      done(std::move(r));
    });
  });
}

}  // namespace stocksync::worker
