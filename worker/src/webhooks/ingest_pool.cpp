// The webhook server's database threads; see ingest_pool.hpp.
#include "webhooks/ingest_pool.hpp"

#include <boost/asio/post.hpp>

namespace stocksync::worker::webhooks {

IngestPool::IngestPool(boost::asio::io_context &io, std::string conninfo, int threads, std::size_t queue_limit,
                       std::size_t batch_max)
    : io_(io), conninfo_(std::move(conninfo)), queue_limit_(queue_limit), batch_max_(std::max<std::size_t>(batch_max, 1)) {
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([this] { run(); });
}

IngestPool::~IngestPool() { stop(); }

void IngestPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto &t : threads_)
    if (t.joinable())
      t.join();
}

std::size_t IngestPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool IngestPool::enqueue(Job &job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= queue_limit_)
      return false;  // job left to the caller
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

// The front job, and when it is an order the orders queued right behind it.
std::vector<IngestPool::Job> IngestPool::take(std::unique_lock<std::mutex> &) {
  std::vector<Job> jobs;
  jobs.push_back(std::move(queue_.front()));
  queue_.pop_front();
  while (jobs.front().delivery && jobs.front().delivery->order && jobs.size() < batch_max_ && !queue_.empty() &&
         queue_.front().delivery && queue_.front().delivery->order) {
    jobs.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return jobs;
}

void IngestPool::run() {
  IngestConnection c;
  c.conninfo = conninfo_;
  for (;;) {
    std::vector<Job> jobs;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;  // stopping, and every job taken was finished
      jobs = take(lock);
    }
    apply(c, jobs);
  }
}

void IngestPool::apply(IngestConnection &c, std::vector<Job> &jobs) {
  if (!jobs.front().delivery) {
    jobs.front().work(c);
    return;
  }
  std::vector<std::optional<IngestResult>> results(jobs.size());
  if (jobs.size() > 1) {
    std::vector<const IngestParams *> params;
    for (const Job &j : jobs)
      params.push_back(&j.delivery->params);
    results = ingest_orders(c, params);
  }
  // Deferred by the group, or the group failed: one transaction each, after
  // the group's commit.
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    Delivery &d = *jobs[i].delivery;
    IngestResult res = results[i] ? std::move(*results[i]) : ingest_one(c, d.params);
    IngestResult kept = d.after ? res : IngestResult{};
    answer(d, std::move(res));
    if (d.after)
      d.after(c, kept);
  }
}

void IngestPool::answer(Delivery &d, IngestResult res) {
  boost::asio::post(io_, [done = std::move(d.done), res = std::move(res)]() mutable { done(std::move(res)); });
}

void IngestPool::ingest(IngestParams params, bool order, std::function<void(IngestResult)> done, After after) {
  Job job{std::make_unique<Delivery>(Delivery{std::move(params), order, std::move(done), std::move(after)}), {}};
  if (!enqueue(job))
    answer(*job.delivery, {IngestResult::Kind::unavailable, "", "too many webhooks waiting for the database"});
}

void IngestPool::housekeeping(std::int64_t keep_s, std::function<void(Housekeeping)> done) {
  Job job{nullptr, [this, keep_s, done = std::move(done)](IngestConnection &c) {
            boost::asio::post(io_, [done, h = housekeep(c, keep_s)]() mutable { done(std::move(h)); });
          }};
  enqueue(job);
}

}  // namespace stocksync::worker::webhooks
