// The p99 push lag the worker reports for the dynamic safety buffer.
#include "sync/push_lag_report.hpp"

#include <gtest/gtest.h>

using namespace stocksync::worker;

TEST(PushLag, QuantileIsTheUpperBoundOfItsBucket) {
  Histogram h;
  for (int i = 0; i < 98; ++i)
    h.observe(0.004);  // bucket <= 0.005
  h.observe(0.3);      // bucket <= 0.5
  h.observe(0.3);
  EXPECT_EQ(histogram_quantile(snapshot(h), 0.99), 0.5);
  EXPECT_EQ(histogram_quantile(snapshot(h), 0.5), 0.005);
  EXPECT_EQ(histogram_quantile(snapshot(Histogram{}), 0.99), std::nullopt);
}

TEST(PushLag, BeyondTheLastBoundCountsAsIt) {
  Histogram h;
  h.observe(500);
  EXPECT_EQ(histogram_quantile(snapshot(h), 0.99), Histogram::bounds.back());
}

TEST(PushLag, WindowSeesOnlyNewObservationsAndWaitsForEnough) {
  Metrics m;
  PushLagWindow window(10);
  for (int i = 0; i < 20; ++i)
    m.channel("amzn").ack_lag_seconds.observe(2.0);  // bucket <= 2.5
  for (int i = 0; i < 3; ++i)
    m.channel("shop").ack_lag_seconds.observe(0.02);
  auto first = window.take(m);
  ASSERT_EQ(first.size(), 1u);  // shop has too few observations
  EXPECT_EQ(first[0].first, "amzn");
  EXPECT_EQ(first[0].second, 2.5);

  // The lag improved: the old slow observations no longer count.
  for (int i = 0; i < 10; ++i)
    m.channel("amzn").ack_lag_seconds.observe(0.01);
  for (int i = 0; i < 7; ++i)
    m.channel("shop").ack_lag_seconds.observe(0.02);  // 3 + 7 carried over: enough now
  auto second = window.take(m);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0], std::make_pair(std::string("amzn"), 0.01));
  EXPECT_EQ(second[1], std::make_pair(std::string("shop"), 0.02));
  EXPECT_TRUE(window.take(m).empty());
}
