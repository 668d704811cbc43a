// The custom consumer (channel kind "webhook"): a receiver at /hooks/{name}
// of stocksync's own Standard Webhooks-signed stock events (channel-apis.md
// §6). Verifies webhook-signature (v1, HMAC-SHA256 over id.timestamp.body
// with the base64-decoded whsec_ secret) and the +-5 minute timestamp
// tolerance against the scenario clock, de-duplicates on webhook-id, and
// shows the last "available" per SKU as the listing's quantity.
#pragma once

#include <set>

#include "channel.hpp"

namespace sim {

class ConsumerChannel : public Channel {
 public:
  using Channel::Channel;
  Response handle(const Request& req, const std::vector<std::string>& rest, double now, double latency_s) override;
  Response throttled(double now) override;

 protected:
  void inspect_extra(json& j) const override;

 private:
  std::set<std::string> seen_;
  json received_ = json::array();
  int64_t duplicates_ = 0, rejected_ = 0;
};

}  // namespace sim
