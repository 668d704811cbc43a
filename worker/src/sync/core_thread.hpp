// The sync core and its database connection on a thread of their own.
//
// Why a second thread: every Database call of the core is a blocking libpq
// round trip, and a commit waits for the WAL flush. On the io_context thread
// those waits held back everything else: replication input (the decoded
// commits piled up in the socket), HTTP completions and the metrics server.
// Here the core runs on its own io_context and thread and owns its PgDatabase
// connection alone; the I/O thread keeps replication, curl and the metrics
// server. The two meet only through posted handlers:
//   - decoded marks: I/O thread -> post(core) -> SyncCore::mark_*;
//   - a push: core -> post(I/O) -> adapter->push(); the answer: I/O thread ->
//     post(core) -> the core's done callback (CrossThreadAdapter);
//   - metrics: atomics (metrics.hpp).
// Each C handle keeps one owner thread (libpq connection: core thread; curl
// multi handle and replication connection: I/O thread). The core itself is
// unchanged: it sees a Scheduler on its io_context and adapters whose push()
// answers are delivered on that io_context, as the adapter contract asks.
#pragma once

#include "channel_adapter.hpp"
#include "sync/asio_scheduler.hpp"
#include "sync/core.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace stocksync::worker {

// An adapter living on the I/O thread, seen from the core's thread.
class CrossThreadAdapter : public ChannelAdapter {
public:
  // push_seconds (may be null): each call's duration on the I/O thread.
  CrossThreadAdapter(ChannelAdapter &inner, boost::asio::io_context &adapter_io, boost::asio::io_context &core_io,
                     Histogram *push_seconds = nullptr);

  // max_batch() may shrink when the channel states a lower limit (WooCommerce):
  // read again on the I/O thread after every answer.
  std::size_t max_batch() const override { return max_batch_.load(); }
  std::size_t max_in_flight() const override { return max_in_flight_; }
  bool compare_and_set() const override { return cas_; }
  bool one_key_per_call() const override { return one_key_per_call_; }
  void push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) override;

private:
  ChannelAdapter &inner_;
  boost::asio::io_context &adapter_io_;
  boost::asio::io_context &core_io_;
  Histogram *push_seconds_;
  std::atomic<std::size_t> max_batch_;
  const std::size_t max_in_flight_;
  const bool cas_;
  const bool one_key_per_call_;
};

// Owns the core's io_context, scheduler, thread and cross-thread adapters.
class CoreThread {
public:
  // channels[i].adapter are adapters on io (the I/O thread); the core gets
  // cross-thread wrappers of them. db is used only on the core's thread
  // from start() on.
  CoreThread(boost::asio::io_context &io, Database &db, SyncConfig cfg, std::vector<SyncCore::Channel> channels,
             Metrics *metrics, std::uint64_t seed);
  ~CoreThread();

  // Starts the thread and the core (a full diff first).
  void start();
  // Runs fn on the core's thread with the core (marks from replication).
  void post(std::function<void(SyncCore &)> fn);
  // Clean shutdown: the core writes its unwritten answers and stops; the
  // thread ends. Blocks until it has. Idempotent.
  void stop();

private:
  boost::asio::io_context core_io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  AsioScheduler sched_;
  std::vector<std::unique_ptr<CrossThreadAdapter>> wrappers_;
  std::unique_ptr<SyncCore> core_;
  std::thread thread_;
};

}  // namespace stocksync::worker
