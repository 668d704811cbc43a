// A small pool of database threads for the webhook server, each with its own
// libpq connection (not the sync loop's). The io_context thread hands a job
// over and is free at once; the pool thread applies it in a transaction of
// its own and posts the result back to the io_context, so a 2xx is written
// only after the effect committed.
//
// Order deliveries waiting in the queue are applied together: a thread that
// takes one also takes the orders queued right behind it (up to batch_max)
// and applies them in one transaction (ingest_calls.hpp), so that a burst is
// not bounded by one commit per order. Nothing waits to fill a group: a
// delivery that finds a thread free goes alone.
//
// A job that would wait behind queue_limit others is refused at once
// (unavailable): answering 503 is better than holding a channel's request
// past its timeout.
#pragma once

#include "webhooks/ingest_calls.hpp"

#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stocksync::worker::webhooks {

class IngestPool {
public:
  IngestPool(boost::asio::io_context &io, std::string conninfo, int threads, std::size_t queue_limit,
             std::size_t batch_max);
  ~IngestPool();
  IngestPool(const IngestPool &) = delete;
  IngestPool &operator=(const IngestPool &) = delete;

  // Applies one delivery (params as ingest_webhook() takes them); order: an
  // "order" event, which may share a transaction with other orders. done
  // runs on the io_context, never inline. after (optional) runs on the pool
  // thread with its connection once done is posted (a follow-up read that
  // must not delay the answer).
  using After = std::function<void(IngestConnection &, const IngestResult &)>;
  void ingest(IngestParams params, bool order, std::function<void(IngestResult)> done, After after = {});
  // Prunes receipts older than keep_s (when keep_s > 0) and counts the open
  // unmatched order lines.
  void housekeeping(std::int64_t keep_s, std::function<void(Housekeeping)> done);
  // Stops taking jobs, lets the threads finish theirs, joins them.
  void stop();
  std::size_t queued() const;

private:
  struct Delivery {
    IngestParams params;
    bool order = false;
    std::function<void(IngestResult)> done;
    After after;
  };
  // A delivery, or other work for a pool connection.
  struct Job {
    std::unique_ptr<Delivery> delivery;
    std::function<void(IngestConnection &)> work;
  };
  void run();
  std::vector<Job> take(std::unique_lock<std::mutex> &lock);
  void apply(IngestConnection &c, std::vector<Job> &jobs);
  void answer(Delivery &d, IngestResult res);
  bool enqueue(Job &job);  // moves job into the queue when it has room

  boost::asio::io_context &io_;
  std::string conninfo_;
  std::size_t queue_limit_;
  std::size_t batch_max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace stocksync::worker::webhooks
