// Helpers for the adapter tests: a controllable clock, a batch builder and a
// loop runner that waits for push() to finish.
#pragma once

#include "adapters/adapter_util.hpp"
#include "channel_adapter.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stocksync::worker::testing {

struct FakeClock {
  double mono = 1000;
  std::int64_t wall = 1795000000;  // 2026-11-18T11:06:40Z
  AdapterClock clock() {
    AdapterClock c;
    c.mono = [this] { return mono; };
    c.wall = [this] { return wall; };
    return c;
  }
};

inline ListingPush listing(std::string external_id, int qty, std::optional<int> prev = std::nullopt) {
  ListingPush p;
  p.external_id = std::move(external_id);
  p.sku = "SKU";
  p.desired_qty = qty;
  p.previous_acked_qty = prev;
  p.idempotency_key = "00000000-0000-4000-8000-000000000000";
  return p;
}

// Pushes and runs the loop until done; results keyed by external_id.
inline std::map<std::string, PushResult> push_and_wait(boost::asio::io_context &io, ChannelAdapter &a,
                                                       std::vector<ListingPush> batch) {
  std::optional<std::vector<PushResult>> got;
  std::size_t n = batch.size();
  a.push(std::move(batch), [&](std::vector<PushResult> r) { got = std::move(r); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!got && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  std::map<std::string, PushResult> out;
  if (got) {
    EXPECT_EQ(got->size(), n) << "one result per listing";
    for (auto &r : *got)
      out[r.external_id] = r;
  } else {
    ADD_FAILURE() << "push never finished";
  }
  return out;
}

// The core keeps at most max_in_flight() push() calls outstanding: the
// adapter made from cfg must report expected_default (not the base class's
// 1) when the config leaves it unset, and each of `configured` when set.
inline void expect_max_in_flight(ChannelConfig cfg, AdapterEnv &env, std::size_t expected_default,
                                 std::initializer_list<int> configured) {
  std::string err;
  auto a = make_adapter(cfg, env, err);
  ASSERT_TRUE(a) << err;
  EXPECT_EQ(a->max_in_flight(), expected_default);
  for (int n : configured) {
    cfg.max_in_flight = n;
    a = make_adapter(cfg, env, err);
    ASSERT_TRUE(a) << err;
    EXPECT_EQ(a->max_in_flight(), static_cast<std::size_t>(n));
  }
}

}  // namespace stocksync::worker::testing
