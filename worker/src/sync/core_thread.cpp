// The sync core on its own thread; see core_thread.hpp.
#include "sync/core_thread.hpp"

#include <boost/asio/post.hpp>

#include <future>

namespace stocksync::worker {

CrossThreadAdapter::CrossThreadAdapter(ChannelAdapter &inner, boost::asio::io_context &adapter_io,
                                       boost::asio::io_context &core_io, Histogram *push_seconds)
    : inner_(inner), adapter_io_(adapter_io), core_io_(core_io), push_seconds_(push_seconds),
      max_batch_(inner.max_batch()),
      max_in_flight_(inner.max_in_flight()), cas_(inner.compare_and_set()),
      one_key_per_call_(inner.one_key_per_call()) {}

void CrossThreadAdapter::push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) {
  boost::asio::post(adapter_io_, [this, batch = std::move(batch), done = std::move(done)]() mutable {
    auto sent = std::chrono::steady_clock::now();
    inner_.push(std::move(batch), [this, done = std::move(done), sent](std::vector<PushResult> rs) mutable {
      if (push_seconds_)
        push_seconds_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count());
      auto received = std::chrono::system_clock::now();
      for (auto &r : rs)
        r.received_at = received;
      max_batch_.store(inner_.max_batch());
      boost::asio::post(core_io_, [done = std::move(done), rs = std::move(rs)]() mutable { done(std::move(rs)); });
    });
  });
}

CoreThread::CoreThread(boost::asio::io_context &io, Database &db, SyncConfig cfg,
                       std::vector<SyncCore::Channel> channels, Metrics *metrics, std::uint64_t seed)
    : work_(boost::asio::make_work_guard(core_io_)), sched_(core_io_) {
  for (auto &c : channels)
    if (c.adapter) {
      wrappers_.push_back(std::make_unique<CrossThreadAdapter>(
          *c.adapter, io, core_io_, metrics ? &metrics->channel(c.cfg.code).push_seconds : nullptr));
      c.adapter = wrappers_.back().get();
    }
  core_ = std::make_unique<SyncCore>(sched_, db, cfg, std::move(channels), metrics, seed);
}

CoreThread::~CoreThread() { stop(); }

void CoreThread::start() {
  boost::asio::post(core_io_, [this] { core_->start(); });
  thread_ = std::thread([this] { core_io_.run(); });
}

void CoreThread::post(std::function<void(SyncCore &)> fn) {
  boost::asio::post(core_io_, [this, fn = std::move(fn)] { fn(*core_); });
}

void CoreThread::stop() {
  if (!thread_.joinable())
    return;
  std::promise<void> stopped;
  boost::asio::post(core_io_, [this, &stopped] {
    core_->flush();
    core_->stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  work_.reset();
  core_io_.stop();
  thread_.join();
}

}  // namespace stocksync::worker
