// The simulator: every channel instance of the scenario, their buyers, the
// outgoing webhook queue, the request router (/{kind}/{name}/...), the
// inspection endpoint (GET /_sim/state) and the control endpoints (/_sim/...).
// Single-threaded: the HTTP server calls handle() and tick() on its io thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "buyers.hpp"
#include "channel.hpp"
#include "clock.hpp"
#include "scenario.hpp"
#include "webhook_queue.hpp"

namespace sim {

class Sim {
 public:
  Sim(Scenario sc, std::shared_ptr<Clock> clock);

  // Routes one request (brings the simulation up to date first).
  Response handle(const Request& req);
  // Advances buyers, channel background work and webhook deliveries to the clock's now.
  void tick();
  // Where outgoing webhooks go (the Beast client in the binary, a fake in tests).
  void set_transport(Transport* t) { transport_ = t; }

  json state() const;
  Channel* channel(const std::string& name);
  const std::vector<std::unique_ptr<Channel>>& channels() const { return channels_; }
  double now() const { return clock_->now(); }
  double start() const { return start_; }
  const Scenario& scenario() const { return sc_; }
  size_t pending_webhooks() const { return queue_.pending(); }

  // Called when POST /_sim/shutdown arrives.
  std::function<void()> on_shutdown;

 private:
  Response route(const Request& req);
  Response control(const Request& req, const std::vector<std::string>& seg);
  void dispatch_webhooks(double now);

  Scenario sc_;
  std::shared_ptr<Clock> clock_;
  double start_;
  std::vector<std::unique_ptr<Channel>> channels_;
  std::vector<std::unique_ptr<BuyerProcess>> buyers_;
  WebhookQueue queue_;
  Transport* transport_ = nullptr;
  bool in_tick_ = false;
};

// The URL prefix segment of a kind: shopify, amazon, ebay, woo, hooks.
const char* path_prefix(ChannelKind k);

}  // namespace sim
