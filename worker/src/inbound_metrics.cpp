// InboundMetrics::render; see inbound_metrics.hpp.
#include "inbound_metrics.hpp"

#include "metrics.hpp"

#include <sstream>

namespace stocksync::worker {

namespace {

void head(std::ostringstream &o, const char *name, const char *type, const char *help) {
  o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

std::string ch(const std::string &c) { return "channel=\"" + prometheus_escape(c) + "\""; }

}  // namespace

std::string InboundMetrics::render() const {
  std::ostringstream o;
  auto poll_counter = [&](const char *name, const char *help, std::uint64_t PollMetrics::*field) {
    head(o, name, "counter", help);
    for (const auto &[c, m] : poll)
      o << name << "{" << ch(c) << "} " << m.*field << "\n";
  };
  poll_counter("stocksync_poll_rounds_total", "Complete order poll rounds (cursor advanced).", &PollMetrics::rounds);
  poll_counter("stocksync_poll_errors_total", "Order poll rounds ended by an error (cursor kept).", &PollMetrics::errors);
  poll_counter("stocksync_poll_requests_total", "Order API calls made by polling.", &PollMetrics::requests);
  poll_counter("stocksync_poll_throttled_total", "Order API calls answered 429.", &PollMetrics::throttled);
  head(o, "stocksync_polled_orders_total", "counter", "Polled orders by what was done with them.");
  for (const auto &[c, m] : poll)
    for (const auto &[action, n] : m.orders)
      o << "stocksync_polled_orders_total{" << ch(c) << ",action=\"" << action << "\"} " << n << "\n";
  head(o, "stocksync_unmatched_orders", "gauge", "Polled orders kept in unmatched_order and not yet applied.");
  for (const auto &[c, m] : poll)
    o << "stocksync_unmatched_orders{" << ch(c) << "} " << m.unmatched_open << "\n";
  head(o, "stocksync_poll_cursor_age_seconds", "gauge", "Age of the order poll cursor after the last round.");
  for (const auto &[c, m] : poll)
    o << "stocksync_poll_cursor_age_seconds{" << ch(c) << "} " << m.cursor_age_seconds << "\n";

  auto rec_counter = [&](const char *name, const char *help, std::uint64_t ReconcileMetrics::*field) {
    head(o, name, "counter", help);
    for (const auto &[c, m] : reconcile)
      o << name << "{" << ch(c) << "} " << m.*field << "\n";
  };
  rec_counter("stocksync_reconcile_runs_total", "Reconciliation runs finished.", &ReconcileMetrics::runs);
  rec_counter("stocksync_reconcile_errors_total", "Reconciliation runs ended by an error.", &ReconcileMetrics::errors);
  rec_counter("stocksync_drift_corrected_total", "Drifted listings corrected by a push.", &ReconcileMetrics::corrected);
  rec_counter("stocksync_drift_escalated_total", "Drift above reconcile.max_correct_units, escalated.",
              &ReconcileMetrics::escalated);
  head(o, "stocksync_reconcile_accuracy", "gauge", "Share of compared listings in agreement in the last run.");
  for (const auto &[c, m] : reconcile)
    if (m.accuracy)
      o << "stocksync_reconcile_accuracy{" << ch(c) << "} " << *m.accuracy << "\n";
  head(o, "stocksync_reconcile_listings", "gauge", "Listings of the last run by result.");
  for (const auto &[c, m] : reconcile)
    for (const auto &[result, n] : m.last_run)
      o << "stocksync_reconcile_listings{" << ch(c) << ",result=\"" << result << "\"} " << n << "\n";
  return o.str();
}

}  // namespace stocksync::worker
