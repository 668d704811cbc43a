// Reconciliation: every reconcile.interval per channel, and on demand
// (stocksync.reconcile(channel) -> stocksync.reconcile_request, looked for
// every reconcile.request_poll_ms; `stocksync-worker --reconcile CHANNEL`).
//
// One run of one channel:
//   1. a reconcile_run row (the requests it serves get its id);
//   2. a polled channel (amazon, ebay) first polls its orders, so that sales
//      the channel already reports reach the ledger before its levels are
//      judged (reconcile.poll_orders_first);
//   3. snapshot of every listing (listing_target + listing_state);
//   4. every listing's shown quantity read (level_reader.hpp);
//   5. a second snapshot: a listing whose listing_state changed while it was
//      read is unsettled; the others are judged (drift_rules.hpp) and
//      corrected, escalated or resolved (reconcile_store.hpp);
//   6. the run's counts and accuracy written, metrics updated.
// A channel runs one reconciliation at a time; a request during a run
// starts another run after it.
#pragma once

#include "channel_adapter.hpp"
#include "config.hpp"
#include "inbound_metrics.hpp"
#include "reconcile/level_reader.hpp"
#include "reconcile/reconcile_store.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace stocksync::worker::orders_in {
class OrderPoller;
}

namespace stocksync::worker::reconcile {

class Reconciler {
public:
  using Channel = AdapterChannel;

  Reconciler(boost::asio::io_context &io, PgConn &conn, const ReconcileConfig &cfg, std::vector<Channel> channels,
             orders_in::OrderPoller *poller, InboundMetrics &metrics);
  ~Reconciler();

  void start();
  void stop();
  // Runs the channel now (after the current run, if one is going).
  void run(const std::string &channel, const std::string &trigger, std::vector<long long> requests = {});

private:
  struct ChannelState;
  struct Run;
  void schedule_periodic(ChannelState &cs);
  void poll_requests();
  void begin(ChannelState &cs, const std::string &trigger, std::vector<long long> requests);
  void read_levels(const std::shared_ptr<Run> &run);
  void judge_all(const std::shared_ptr<Run> &run, std::vector<LevelReading> readings);
  void finish(const std::shared_ptr<Run> &run, const std::string &error);

  boost::asio::io_context &io_;
  ReconcileStore store_;
  ReconcileConfig cfg_;
  orders_in::OrderPoller *poller_;
  InboundMetrics &metrics_;
  std::map<std::string, std::unique_ptr<ChannelState>> channels_;
  boost::asio::steady_timer request_timer_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  bool stopped_ = false;
};

}  // namespace stocksync::worker::reconcile
