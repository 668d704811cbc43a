// An OAuth access token that refreshes itself: LWA for Amazon (channel-apis.md
// §2.1), the eBay OAuth token endpoint (§3.1).
//
// Single flight: while one refresh is in the air, every caller waits for it
// instead of starting its own. A token counts as expired `margin` seconds
// before its expires_in runs out (the official Amazon client uses 60 s), and
// invalidate() drops it when the channel says it is no longer good (Amazon
// 403 Unauthorized, eBay 401) so the next get() refreshes.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace stocksync::worker {

struct TokenGrant {
  std::string access_token;  // empty on failure
  double expires_in_s = 0;   // from the answer's expires_in
  std::string error;         // why there is no token (never contains secrets)
  bool retryable = false;    // 5xx / transport: try later; else credentials are wrong
};

class AccessTokenCache {
public:
  // fetch: send the refresh request and call back with the grant, once.
  using Fetch = std::function<void(std::function<void(TokenGrant)>)>;

  AccessTokenCache(Fetch fetch, std::function<double()> now, double margin_s = 60);
  // Callers still waiting get an error grant ("shut down").
  ~AccessTokenCache();

  AccessTokenCache(const AccessTokenCache &) = delete;
  AccessTokenCache &operator=(const AccessTokenCache &) = delete;

  // A fixed token that never expires (a configured access_token); get() never
  // fetches then.
  void set_static(std::string token);

  // cb with a valid token (immediately when cached) or with the error.
  void get(std::function<void(const TokenGrant &)> cb);

  // The channel refused `token`: forget it, unless a newer one replaced it.
  void invalidate(const std::string &token);

  // Number of refreshes started (tests, metrics).
  int refreshes() const;

private:
  struct State;
  std::shared_ptr<State> st_;
};

}  // namespace stocksync::worker
