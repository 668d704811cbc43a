// A small pool of database threads for the webhook server, each with its own
// libpq connection (not the sync loop's). The io_context thread hands a job
// over and is free at once; the pool thread runs ingest_webhook() in its own
// transaction (autocommit: one statement) and posts the result back to the
// io_context, so a 2xx is written only after the effect committed.
//
// A job that would wait behind queue_limit others is refused at once
// (unavailable): answering 503 is better than holding a channel's request
// past its timeout.
#pragma once

#include "webhooks/inbound.hpp"

#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stocksync::worker::webhooks {

struct IngestResult {
  enum class Kind {
    applied,      // committed; outcome says what happened (committed, tombstoned, ...)
    duplicate,    // the event id was already committed: no effect
    refused,      // a stocksync function refused it (SS error): kept in inbound_exception
    unavailable,  // no connection, or the queue is full: nothing written, retry later
    failed        // any other database error: nothing written
  } kind = Kind::failed;
  std::string outcome;  // ingest_webhook()'s answer, or the SQLSTATE
  std::string detail;   // the database's message
};

struct Housekeeping {
  bool ok = false;
  std::int64_t pruned = 0;           // receipts removed (when pruning was asked for)
  std::int64_t unmatched_lines = 0;  // open lines of stocksync.unmatched_order_line
  std::string error;
};

class IngestPool {
public:
  IngestPool(boost::asio::io_context &io, std::string conninfo, int threads, std::size_t queue_limit);
  ~IngestPool();
  IngestPool(const IngestPool &) = delete;
  IngestPool &operator=(const IngestPool &) = delete;

  // Runs ingest_webhook(params...) on a pool thread; done runs on the
  // io_context. Never calls done inline.
  void ingest(std::array<std::string, 4> params, std::function<void(IngestResult)> done);
  // Prunes receipts older than keep_s (when keep_s > 0) and counts the open
  // unmatched order lines.
  void housekeeping(std::int64_t keep_s, std::function<void(Housekeeping)> done);
  // Stops taking jobs, lets the threads finish theirs, joins them.
  void stop();
  std::size_t queued() const;

private:
  struct Connection;
  void run(int index);
  bool enqueue(std::function<void(Connection &)> job);

  boost::asio::io_context &io_;
  std::string conninfo_;
  std::size_t queue_limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void(Connection &)>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace stocksync::worker::webhooks
