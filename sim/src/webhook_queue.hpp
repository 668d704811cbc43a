// Outgoing webhooks (order events to the worker): when each attempt is due,
// and what happens to an event on its way: duplicated, delayed, reordered,
// dropped (scenario [channels.delivery]), retried on failure by the channel's
// own schedule. Pure logic; the HTTP client is behind the Transport interface.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http_types.hpp"
#include "rng.hpp"
#include "scenario.hpp"

namespace sim {

struct WebhookEvent {
  std::string channel;
  std::string topic;
  std::string event_id;   // stable across attempts (Shopify X-Shopify-Event-Id)
  std::string url;
  std::string body;       // the original payload, re-sent unchanged on retries
  double created = 0;
  std::vector<double> retry_delays;  // scenario seconds after a failed attempt (already compressed)
  int success_max = 299;  // highest status that counts as delivered (WooCommerce: 302)
};

struct Attempt {
  std::shared_ptr<WebhookEvent> event;
  int attempt = 1;        // 1 = first delivery
  bool duplicate = false; // an injected duplicate delivery
  double due = 0;
  uint64_t seq = 0;
};

struct DeliveryRecord {
  std::string channel, topic, event_id, delivery_id;
  int attempt = 1;
  bool duplicate = false;
  double t = 0;
  int status = 0;         // 0 = connection error / timeout
  std::string error;
};

struct DeliveryStats {
  int64_t events = 0, attempts = 0, delivered = 0, failed_attempts = 0, retries = 0, dropped = 0, duplicated = 0,
          delayed = 0, reordered = 0, gave_up = 0;
};

class WebhookQueue {
 public:
  // Takes an event and decides its fate with the channel's delivery settings.
  void enqueue(std::shared_ptr<WebhookEvent> ev, double now, const Delivery& d, Rng& rng, DeliveryStats& st);
  // Removes and returns the attempts due at or before now, in (due, seq) order.
  std::vector<Attempt> take_due(double now);
  // Records an attempt's result; schedules the next retry if it failed and one is left.
  // Returns true if a retry was scheduled.
  bool on_result(const Attempt& a, int status, double now, DeliveryStats& st);
  size_t pending() const { return q_.size(); }
  // Earliest due time, or INFINITY.
  double next_due() const;

 private:
  void push(Attempt a);
  std::vector<Attempt> q_;
  uint64_t seq_ = 0;
};

// Shopify: 8 retries over 4 hours, exponential (d, 2d, ..., 128d with 255 d = 14400 s).
std::vector<double> shopify_retry_delays(double compression);

// Sends one HTTP POST; calls done(status) with 0 on a connection error or timeout.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void post(const std::string& url, const HeaderMap& headers, const std::string& body, double timeout_s,
                    std::function<void(int status, std::string error)> done) = 0;
};

}  // namespace sim
