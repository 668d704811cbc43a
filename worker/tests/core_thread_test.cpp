// CrossThreadAdapter: push() runs the inner adapter on the I/O thread and
// delivers its answer on the core's thread, once; max_batch() follows the
// inner adapter's after each answer.
#include "sync/core_thread.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace stocksync::worker {
namespace {

// Answers every listing acked, posted on its io_context; halves its batch
// limit after each push (as WooCommerce does on a 413).
class InnerAdapter : public ChannelAdapter {
public:
  explicit InnerAdapter(boost::asio::io_context &io) : io_(io) {}
  std::size_t max_batch() const override { return batch_; }
  std::size_t max_in_flight() const override { return 3; }
  bool compare_and_set() const override { return true; }
  void push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) override {
    push_thread = std::this_thread::get_id();
    batch_ /= 2;
    std::vector<PushResult> rs;
    for (auto &p : batch) {
      PushResult r;
      r.external_id = p.external_id;
      r.outcome = PushOutcome::acked;
      r.acked_qty = p.desired_qty;
      rs.push_back(r);
    }
    boost::asio::post(io_, [this, done = std::move(done), rs = std::move(rs)] {
      done(rs);
      if (answer_handed_over)
        answer_handed_over->set_value(std::chrono::system_clock::now());
    });
  }
  std::thread::id push_thread;
  // Set, if given, on the I/O thread once the wrapper has taken the answer.
  std::promise<std::chrono::system_clock::time_point> *answer_handed_over = nullptr;

private:
  boost::asio::io_context &io_;
  std::size_t batch_ = 100;
};

// The worker's two event loops (I/O and core), each run by a thread of its
// own from run() until stop() or the end of run()'s guard, which a test
// declares after the objects the loops' handlers use, so that the threads
// are joined before those go.
struct TwoLoops {
  boost::asio::io_context io, core_io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> io_work = boost::asio::make_work_guard(io);
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> core_work =
      boost::asio::make_work_guard(core_io);
  std::thread io_thread, core_thread;

  struct Running {
    TwoLoops &loops;
    ~Running() { loops.stop(); }
  };
  [[nodiscard]] Running run() {
    io_thread = std::thread([this] { io.run(); });
    core_thread = std::thread([this] { core_io.run(); });
    return Running{*this};
  }
  void stop() {
    io_work.reset();
    core_work.reset();
    io.stop();
    core_io.stop();
    if (io_thread.joinable())
      io_thread.join();
    if (core_thread.joinable())
      core_thread.join();
  }
};

ListingPush push_of(const std::string &external_id, int qty) {
  ListingPush p;
  p.external_id = external_id;
  p.desired_qty = qty;
  return p;
}

TEST(WorkerCoreThread, PushRunsOnTheIoThreadAnswerOnTheCoreThread) {
  TwoLoops loops;
  InnerAdapter inner(loops.io);
  CrossThreadAdapter wrapped(inner, loops.io, loops.core_io);
  EXPECT_EQ(wrapped.max_batch(), 100u);
  EXPECT_EQ(wrapped.max_in_flight(), 3u);
  EXPECT_TRUE(wrapped.compare_and_set());

  auto running = loops.run();
  std::promise<std::pair<std::thread::id, std::size_t>> answered;
  std::atomic<int> calls{0};
  boost::asio::post(loops.core_io, [&] {
    wrapped.push({push_of("A", 4)}, [&](std::vector<PushResult> rs) {
      ++calls;
      answered.set_value({std::this_thread::get_id(), rs.size()});
    });
  });
  auto [answer_thread, n] = answered.get_future().get();
  EXPECT_EQ(answer_thread, loops.core_thread.get_id());
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(inner.push_thread, loops.io_thread.get_id());
  EXPECT_EQ(wrapped.max_batch(), 50u);  // read again after the answer
  loops.stop();
  EXPECT_EQ(calls.load(), 1);
}

// The answer carries the time it reached the I/O thread, so that the
// commit-to-acknowledge lag does not count the wait for a busy core thread.
TEST(WorkerCoreThread, AnswerIsStampedWhenItReachesTheIoThread) {
  using namespace std::chrono_literals;
  TwoLoops loops;
  InnerAdapter inner(loops.io);
  std::promise<std::chrono::system_clock::time_point> handed_over;
  inner.answer_handed_over = &handed_over;
  CrossThreadAdapter wrapped(inner, loops.io, loops.core_io);
  auto running = loops.run();

  std::promise<std::pair<std::optional<std::chrono::system_clock::time_point>, std::chrono::system_clock::time_point>>
      answered;
  std::chrono::system_clock::time_point io_took_it;
  boost::asio::post(loops.core_io, [&] {
    wrapped.push({push_of("A", 4)}, [&](std::vector<PushResult> rs) {
      answered.set_value({rs.at(0).received_at, std::chrono::system_clock::now()});
    });
    // The core stays busy past the answer's arrival.
    io_took_it = handed_over.get_future().get();
    std::this_thread::sleep_for(50ms);
  });
  auto [received_at, read_at] = answered.get_future().get();
  ASSERT_TRUE(received_at.has_value());
  EXPECT_LE(*received_at, io_took_it);
  EXPECT_GE(read_at - *received_at, 40ms);  // wall clock: some room for its slew
}

}  // namespace
}  // namespace stocksync::worker
