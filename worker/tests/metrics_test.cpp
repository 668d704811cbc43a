// The Prometheus text of the worker's histograms: each family's buckets are
// its own (batch sizes in listings, durations in seconds), cumulative, with
// +Inf, _sum and _count, labelled or not.
#include "metrics.hpp"
#include "webhooks/webhook_metrics.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace stocksync::worker {
namespace {

void expect_lines(const std::string &text, std::initializer_list<std::string> lines) {
  for (const auto &line : lines)
    EXPECT_NE(text.find("\n" + line + "\n"), std::string::npos) << line << " not in:\n" << text;
}

TEST(WorkerMetrics, BatchSizesHaveListingBuckets) {
  Metrics m;
  m.channel("shop").batch_size.observe(100);
  m.channel("shop").batch_size.observe(250);
  m.channel("shop").batch_size.observe(3);
  expect_lines(m.render(), {R"(stocksync_batch_size_bucket{channel="shop",le="2"} 0)",
                            R"(stocksync_batch_size_bucket{channel="shop",le="5"} 1)",
                            R"(stocksync_batch_size_bucket{channel="shop",le="100"} 2)",
                            R"(stocksync_batch_size_bucket{channel="shop",le="250"} 3)",
                            R"(stocksync_batch_size_bucket{channel="shop",le="+Inf"} 3)",
                            R"(stocksync_batch_size_sum{channel="shop"} 353)",
                            R"(stocksync_batch_size_count{channel="shop"} 3)"});
}

TEST(WorkerMetrics, AckLagHasBucketsAroundTheTwentyMillisecondTarget) {
  Metrics m;
  m.channel("shop").ack_lag_seconds.observe(0.012);
  m.channel("shop").ack_lag_seconds.observe(0.025);
  expect_lines(m.render(), {R"(stocksync_ack_lag_seconds_bucket{channel="shop",le="0.01"} 0)",
                            R"(stocksync_ack_lag_seconds_bucket{channel="shop",le="0.015"} 1)",
                            R"(stocksync_ack_lag_seconds_bucket{channel="shop",le="0.02"} 1)",
                            R"(stocksync_ack_lag_seconds_bucket{channel="shop",le="0.03"} 2)"});
}

// Every digit of a large counter or sum (an ostream's default six would
// print 1234567 as 1.23457e+06, and rate() would see the counter stand still).
TEST(WorkerMetrics, LargeValuesKeepEveryDigit) {
  Metrics m;
  m.changes_decoded = 1234567;
  for (int i = 0; i < 4; ++i)
    m.channel("shop").batch_size.observe(250000.5);
  expect_lines(m.render(), {"stocksync_changes_decoded_total 1234567",
                            R"(stocksync_batch_size_sum{channel="shop"} 1000002)"});
}

TEST(WorkerMetrics, UnlabelledHistogram) {
  webhooks::WebhookMetrics w;
  w.seconds.observe(0.004);
  expect_lines(w.render(), {R"(stocksync_webhook_seconds_bucket{le="0.0025"} 0)",
                            R"(stocksync_webhook_seconds_bucket{le="0.005"} 1)",
                            R"(stocksync_webhook_seconds_bucket{le="+Inf"} 1)", "stocksync_webhook_seconds_sum 0.004",
                            "stocksync_webhook_seconds_count 1"});
}

}  // namespace
}  // namespace stocksync::worker
