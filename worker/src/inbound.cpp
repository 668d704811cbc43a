// Inbound and reconcile_command; see inbound.hpp.
#include "inbound.hpp"

#include <chrono>
#include <iostream>
#include <thread>

namespace stocksync::worker {

Inbound::Inbound(boost::asio::io_context &io, const WorkerConfig &cfg, const std::vector<AdapterChannel> &channels,
                 Metrics &metrics)
    : db_(cfg.conninfo, "stocksync-worker inbound"),
      poller_(io, db_, cfg.polling, channels, metrics_),
      reconciler_(io, db_, cfg.reconcile, channels,
                  cfg.polling.enabled ? &poller_ : nullptr, metrics_),
      polling_(cfg.polling.enabled), reconciling_(cfg.reconcile.enabled) {
  metrics.sections.push_back([this] { return metrics_.render(); });
}

void Inbound::start() {
  if (polling_)
    poller_.start();
  if (reconciling_)
    reconciler_.start();
}

void Inbound::stop() {
  poller_.stop();
  reconciler_.stop();
}

int reconcile_command(const WorkerConfig &cfg, const std::string &channel, int wait_s) {
  PgConn db(cfg.conninfo, "stocksync-worker reconcile");
  try {
    auto r = db.query("SELECT stocksync.reconcile($1)", {channel});
    std::string request = PgConn::text(r, 0, 0);
    std::cout << "reconciliation of " << channel << " requested (request " << request << ")" << std::endl;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    while (std::chrono::steady_clock::now() < end) {
      auto q = db.query("SELECT r.id, r.listings, r.in_agreement, r.corrected, r.escalated, r.unsettled,"
                        "       r.unreadable, r.accuracy, r.error"
                        "  FROM stocksync.reconcile_request q JOIN stocksync.reconcile_run r ON r.id = q.run_id"
                        " WHERE q.id = $1 AND r.finished_at IS NOT NULL",
                        {request});
      if (PQntuples(q.get()) == 1) {
        std::cout << "run " << PgConn::text(q, 0, 0) << ": " << PgConn::text(q, 0, 1) << " listings, "
                  << PgConn::text(q, 0, 2) << " agree, " << PgConn::text(q, 0, 3) << " corrected, "
                  << PgConn::text(q, 0, 4) << " escalated, " << PgConn::text(q, 0, 5) << " unsettled, "
                  << PgConn::text(q, 0, 6) << " unreadable, accuracy "
                  << (PgConn::null(q, 0, 7) ? "n/a" : PgConn::text(q, 0, 7))
                  << (PgConn::null(q, 0, 8) ? "" : ", error: " + PgConn::text(q, 0, 8)) << std::endl;
        return PgConn::null(q, 0, 8) ? 0 : 1;
      }
      if (wait_s == 0)
        return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::cerr << "stocksync-worker: the reconciliation did not finish within " << wait_s
              << " s (is a worker with this channel running?)" << std::endl;
    return 1;
  } catch (const DbError &e) {
    std::cerr << "stocksync-worker: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace stocksync::worker
