// The reconciliation's SQL, on the polling/reconciliation session (PgConn):
// requests from stocksync.reconcile(), runs, listing snapshots, drift rows
// and the correction itself.
//
// Correction = the small hook into the sync core, with no code in the core:
//   UPDATE stocksync.listing_state SET state = 'pending', acked_qty = <shown>
//    WHERE ... AND state = 'acked' AND acked_qty = <acked> AND updated_at = <as read>
// The core's periodic look for pending listings (sync.pending_poll_interval_ms,
// the one stocksync.retry_dead() relies on) picks it up, decide() sees
// acked (= what the channel shows) differ from desired and pushes desired
// with the shown quantity as previous_acked_qty, i.e. Shopify's
// changeFromQuantity. The optimistic check on updated_at makes a push that
// moved the listing meanwhile win: then nothing is corrected (unsettled).
#pragma once

#include "reconcile/drift_rules.hpp"
#include "util/pg_conn.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stocksync::worker::reconcile {

struct RunCounts {
  int listings = 0, agree = 0, corrected = 0, escalated = 0, unsettled = 0, unreadable = 0;
  // in_agreement / (in_agreement + drifted); nullopt when nothing was compared.
  std::optional<double> accuracy() const;
};

class ReconcileStore {
public:
  explicit ReconcileStore(PgConn &conn) : conn_(conn) {}

  // Open requests of the given channels, marked taken: (request id, channel).
  std::vector<std::pair<long long, std::string>> take_requests(const std::vector<std::string> &channels);
  long long start_run(const std::string &channel, const std::string &trigger, const std::vector<long long> &requests);
  std::vector<ListingSnapshot> snapshot(const std::string &channel);
  // The conditional UPDATE above plus a drift row 'corrected', in one
  // transaction; false (nothing written) when the listing moved.
  bool correct(long long run, const std::string &channel, const ListingSnapshot &s, int shown);
  // A drift row 'escalated' (the open one of the listing updated, if any).
  void escalate(long long run, const std::string &channel, const ListingSnapshot &s, int shown);
  // Open drift rows of listings found in agreement are resolved.
  void resolve(const std::string &channel, const std::vector<std::string> &external_ids);
  void finish_run(long long run, const RunCounts &c, const std::string &error);

private:
  PgConn &conn_;
};

}  // namespace stocksync::worker::reconcile
