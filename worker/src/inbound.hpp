// Orders in by polling (orders_in/) and reconciliation (reconcile/), wired
// from the configuration and the channels' adapters: one database session of
// their own, their metrics section in /metrics, the poller and the
// reconciler. main.cpp builds one after the adapters and starts it.
#pragma once

#include "channel_adapter.hpp"
#include "config.hpp"
#include "inbound_metrics.hpp"
#include "metrics.hpp"
#include "orders_in/order_poller.hpp"
#include "reconcile/reconciler.hpp"
#include "util/pg_conn.hpp"

#include <string>
#include <utility>
#include <vector>

namespace stocksync::worker {

class Inbound {
public:
  Inbound(boost::asio::io_context &io, const WorkerConfig &cfg, const std::vector<AdapterChannel> &channels,
          Metrics &metrics);
  void start();
  void stop();

private:
  PgConn db_;
  InboundMetrics metrics_;
  orders_in::OrderPoller poller_;
  reconcile::Reconciler reconciler_;
  bool polling_, reconciling_;
};

// `stocksync-worker --reconcile CHANNEL`: asks the running worker with
// stocksync.reconcile(CHANNEL), waits up to wait_s for its run to finish and
// prints the run's counts. Returns the process exit status (0 done, 1 SQL
// error or not finished in time).
int reconcile_command(const WorkerConfig &cfg, const std::string &channel, int wait_s);

}  // namespace stocksync::worker
