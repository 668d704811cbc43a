#include "webhook_queue.hpp"

#include <algorithm>
#include <cmath>

namespace sim {

void WebhookQueue::push(Attempt a) {
  a.seq = seq_++;
  q_.push_back(std::move(a));
}

void WebhookQueue::enqueue(std::shared_ptr<WebhookEvent> ev, double now, const Delivery& d, Rng& rng,
                           DeliveryStats& st) {
  ++st.events;
  // Draw every decision, even those not taken, so the stream stays aligned per event.
  bool drop = rng.chance(d.drop_rate);
  bool dup = rng.chance(d.duplicate_rate);
  bool delay = rng.chance(d.delay_rate);
  double delay_by = rng.uniform(d.delay_min_s, std::max(d.delay_min_s, d.delay_max_s));
  bool reorder = rng.chance(d.reorder_rate);
  double dup_after = rng.uniform(0.05, 2.0);
  if (drop) {
    ++st.dropped;
    return;
  }
  Attempt a;
  a.event = ev;
  a.due = now;
  if (delay) {
    a.due += delay_by;
    ++st.delayed;
  }
  if (reorder) {
    // Held back behind whatever the channel emits next.
    a.due += d.reorder_delay_s;
    ++st.reordered;
  }
  push(a);
  if (dup) {
    Attempt b = a;
    b.duplicate = true;
    b.due = a.due + dup_after;
    ++st.duplicated;
    push(b);
  }
}

std::vector<Attempt> WebhookQueue::take_due(double now) {
  std::vector<Attempt> due, rest;
  for (auto& a : q_) (a.due <= now ? due : rest).push_back(a);
  q_.swap(rest);
  std::sort(due.begin(), due.end(), [](const Attempt& x, const Attempt& y) {
    return x.due != y.due ? x.due < y.due : x.seq < y.seq;
  });
  return due;
}

bool WebhookQueue::on_result(const Attempt& a, int status, double now, DeliveryStats& st) {
  ++st.attempts;
  if (status >= 200 && status <= a.event->success_max) {
    ++st.delivered;
    return false;
  }
  ++st.failed_attempts;
  size_t idx = static_cast<size_t>(a.attempt - 1);
  if (idx < a.event->retry_delays.size()) {
    Attempt r = a;
    r.attempt = a.attempt + 1;
    r.due = now + a.event->retry_delays[idx];
    ++st.retries;
    push(r);
    return true;
  }
  ++st.gave_up;
  return false;
}

double WebhookQueue::next_due() const {
  double m = INFINITY;
  for (auto& a : q_) m = std::min(m, a.due);
  return m;
}

std::vector<double> shopify_retry_delays(double compression) {
  std::vector<double> out;
  const double base = 14400.0 / 255.0;  // 8 doublings sum to 4 hours
  for (int i = 0; i < 8; ++i) out.push_back(base * std::pow(2.0, i) / compression);
  return out;
}

}  // namespace sim
