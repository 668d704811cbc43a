// Scheduler on the io_context: steady_timer per call_at.
#pragma once

#include "sync/interfaces.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace stocksync::worker {

class AsioScheduler : public Scheduler {
public:
  explicit AsioScheduler(boost::asio::io_context &io) : io_(io) {}
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  void post(std::function<void()> fn) override { boost::asio::post(io_, std::move(fn)); }
  void call_at(SteadyTime t, std::function<void()> fn) override {
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, t);
    timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
      if (!ec)
        fn();
    });
  }

private:
  boost::asio::io_context &io_;
};

}  // namespace stocksync::worker
