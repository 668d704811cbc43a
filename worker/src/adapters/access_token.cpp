// Single-flight access token cache; see access_token.hpp.
#include "adapters/access_token.hpp"

#include <vector>

namespace stocksync::worker {

struct AccessTokenCache::State {
  Fetch fetch;
  std::function<double()> now;
  double margin;
  std::string token;
  double expires_at = 0;
  bool fixed = false;
  bool refreshing = false;
  int refreshes = 0;
  std::vector<std::function<void(const TokenGrant &)>> waiters;
};

AccessTokenCache::AccessTokenCache(Fetch fetch, std::function<double()> now, double margin_s)
    : st_(std::make_shared<State>()) {
  st_->fetch = std::move(fetch);
  st_->now = std::move(now);
  st_->margin = margin_s;
}

AccessTokenCache::~AccessTokenCache() {
  TokenGrant g;
  g.error = "shut down";
  g.retryable = true;
  auto waiters = std::move(st_->waiters);
  for (auto &w : waiters)
    w(g);
}

void AccessTokenCache::set_static(std::string token) {
  st_->token = std::move(token);
  st_->fixed = true;
}

void AccessTokenCache::get(std::function<void(const TokenGrant &)> cb) {
  State &s = *st_;
  if (!s.token.empty() && (s.fixed || s.now() < s.expires_at - s.margin)) {
    TokenGrant g;
    g.access_token = s.token;
    g.expires_in_s = s.fixed ? 0 : s.expires_at - s.now();
    cb(g);
    return;
  }
  s.waiters.push_back(std::move(cb));
  if (s.refreshing)
    return;
  s.refreshing = true;
  ++s.refreshes;
  std::weak_ptr<State> weak = st_;
  s.fetch([weak](TokenGrant g) {
    auto st = weak.lock();
    if (!st)
      return;  // the destructor already answered the waiters
    st->refreshing = false;
    if (!g.access_token.empty()) {
      st->token = g.access_token;
      // A token shorter-lived than the margin would be refreshed on every
      // call; use it for half its life instead.
      double life = g.expires_in_s > 2 * st->margin ? g.expires_in_s - st->margin : g.expires_in_s / 2;
      st->expires_at = st->now() + life + st->margin;
    }
    auto waiters = std::move(st->waiters);
    st->waiters.clear();
    for (auto &w : waiters)
      w(g);
  });
}

void AccessTokenCache::invalidate(const std::string &token) {
  if (st_->fixed || token != st_->token)
    return;
  st_->token.clear();
  st_->expires_at = 0;
}

int AccessTokenCache::refreshes() const { return st_->refreshes; }

}  // namespace stocksync::worker
