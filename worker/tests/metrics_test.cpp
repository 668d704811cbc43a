// The Prometheus text of the worker's histograms: each family's buckets are
// its own (batch sizes in listings, durations in seconds), cumulative, with
// +Inf, _sum and _count, labelled or not.
#include "metrics.hpp"
#include "webhooks/webhook_metrics.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stocksync::worker {
namespace {

bool has_line(const std::string &text, const std::string &line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(WorkerMetrics, BatchSizesHaveListingBuckets) {
  Metrics m;
  m.channel("shop").batch_size.observe(100);
  m.channel("shop").batch_size.observe(250);
  m.channel("shop").batch_size.observe(3);
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(stocksync_batch_size_bucket{channel="shop",le="2"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_batch_size_bucket{channel="shop",le="5"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_batch_size_bucket{channel="shop",le="100"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_batch_size_bucket{channel="shop",le="250"} 3)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_batch_size_bucket{channel="shop",le="+Inf"} 3)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_batch_size_sum{channel="shop"} 353)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_batch_size_count{channel="shop"} 3)")) << text;
}

TEST(WorkerMetrics, AckLagHasBucketsAroundTheTwentyMillisecondTarget) {
  Metrics m;
  m.channel("shop").ack_lag_seconds.observe(0.012);
  m.channel("shop").ack_lag_seconds.observe(0.025);
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(stocksync_ack_lag_seconds_bucket{channel="shop",le="0.01"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_ack_lag_seconds_bucket{channel="shop",le="0.015"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_ack_lag_seconds_bucket{channel="shop",le="0.02"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_ack_lag_seconds_bucket{channel="shop",le="0.03"} 2)")) << text;
}

TEST(WorkerMetrics, UnlabelledHistogram) {
  webhooks::WebhookMetrics w;
  w.seconds.observe(0.004);
  std::string text = w.render();
  EXPECT_TRUE(has_line(text, R"(stocksync_webhook_seconds_bucket{le="0.0025"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_webhook_seconds_bucket{le="0.005"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(stocksync_webhook_seconds_bucket{le="+Inf"} 1)")) << text;
  EXPECT_TRUE(has_line(text, "stocksync_webhook_seconds_sum 0.004")) << text;
  EXPECT_TRUE(has_line(text, "stocksync_webhook_seconds_count 1")) << text;
}

}  // namespace
}  // namespace stocksync::worker
