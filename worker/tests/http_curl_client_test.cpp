// CurlHttpClient against a real local HTTP server: keep-alive reuse, the
// per-request timeout, the body and header limits, many concurrent requests
// on one thread, and shutdown with requests in flight.
#include "beast_test_server.hpp"
#include "http/curl_http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <vector>

namespace stocksync::worker {
namespace {

using testing::BeastTestServer;

// Runs the loop until `n` callbacks have fired (or 10 s pass).
void run_until(boost::asio::io_context &io, const int &done, int n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (done < n && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
  }
}

HttpRequest get(const std::string &url, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  HttpRequest r;
  r.method = "GET";
  r.url = url;
  r.timeout = timeout;
  return r;
}

TEST(HttpCurlClient, PostsBodyAndHeadersAndReadsResponse) {
  BeastTestServer server;
  boost::asio::io_context io;
  CurlHttpClient client(io);
  HttpRequest req;
  req.method = "PATCH";
  req.url = server.url("/echo?x=1");
  req.headers = {{"Content-Type", "application/json"}, {"x-amz-access-token", "Atza|t"}};
  req.body = R"({"a":1})";
  HttpResponse got;
  int done = 0;
  client.send(req, [&](HttpResponse r) {
    got = std::move(r);
    ++done;
  });
  EXPECT_EQ(done, 0) << "callback must not run inside send()";
  run_until(io, done, 1);
  ASSERT_EQ(done, 1);
  EXPECT_EQ(got.error, "");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, R"({"a":1})");
  EXPECT_EQ(got.header("x-method").value_or(""), "PATCH");
  EXPECT_EQ(got.header("X-Target").value_or(""), "/echo?x=1");
  EXPECT_EQ(got.header("X-Seen-x-amz-access-token").value_or(""), "Atza|t");
  EXPECT_EQ(got.header("X-Seen-Content-Type").value_or(""), "application/json");
  EXPECT_FALSE(got.header("X-Seen-Expect")) << "no 100-continue round trip";
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST(HttpCurlClient, ReusesOneConnectionForSequentialRequests) {
  BeastTestServer server;
  boost::asio::io_context io;
  CurlHttpClient client(io);
  int done = 0;
  std::function<void()> next = [&] {
    client.send(get(server.url("/echo")), [&](HttpResponse r) {
      EXPECT_EQ(r.status, 200);
      if (++done < 20)
        next();
    });
  };
  next();
  run_until(io, done, 20);
  EXPECT_EQ(done, 20);
  EXPECT_EQ(server.requests(), 20);
  EXPECT_EQ(server.connections(), 1) << "keep-alive: one TCP connection for 20 requests";
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST(HttpCurlClient, TimesOutSlowRequestWithoutBlockingOthers) {
  BeastTestServer server;
  boost::asio::io_context io;
  CurlHttpClient client(io);
  int done = 0;
  HttpResponse slow, fast;
  auto t0 = std::chrono::steady_clock::now();
  client.send(get(server.url("/slow?ms=3000"), std::chrono::milliseconds(200)), [&](HttpResponse r) {
    slow = std::move(r);
    ++done;
  });
  client.send(get(server.url("/echo")), [&](HttpResponse r) {
    fast = std::move(r);
    ++done;
  });
  run_until(io, done, 2);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(done, 2);
  EXPECT_EQ(fast.status, 200);
  EXPECT_EQ(slow.status, 0);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_NE(slow.error.find("timeout"), std::string::npos) << slow.error;
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

TEST(HttpCurlClient, RefusesBodyOverLimit) {
  BeastTestServer server;
  boost::asio::io_context io;
  CurlHttpClientOptions opts;
  opts.max_body_bytes = 1000;
  CurlHttpClient client(io, opts);
  int done = 0;
  HttpResponse small, big;
  client.send(get(server.url("/big?bytes=1000")), [&](HttpResponse r) {
    small = std::move(r);
    ++done;
  });
  client.send(get(server.url("/big?bytes=200000")), [&](HttpResponse r) {
    big = std::move(r);
    ++done;
  });
  run_until(io, done, 2);
  EXPECT_EQ(small.status, 200);
  EXPECT_EQ(small.body.size(), 1000u);
  EXPECT_EQ(big.status, 0);
  EXPECT_TRUE(big.body.empty());
  EXPECT_NE(big.error.find("larger than 1000"), std::string::npos) << big.error;
}

TEST(HttpCurlClient, RefusesTooManyHeaders) {
  BeastTestServer server;
  boost::asio::io_context io;
  CurlHttpClientOptions opts;
  opts.max_header_bytes = 4096;
  CurlHttpClient client(io, opts);
  int done = 0;
  HttpResponse r;
  client.send(get(server.url("/headers?n=100")), [&](HttpResponse x) {
    r = std::move(x);
    ++done;
  });
  run_until(io, done, 1);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("headers exceed"), std::string::npos) << r.error;
}

TEST(HttpCurlClient, ManyConcurrentRequestsOnOneThread) {
  BeastTestServer server;
  boost::asio::io_context io;
  CurlHttpClientOptions opts;
  opts.max_host_connections = 8;
  CurlHttpClient client(io, opts);
  constexpr int kN = 300;
  int done = 0, ok = 0;
  for (int i = 0; i < kN; ++i) {
    HttpRequest r;
    r.method = "POST";
    r.url = server.url("/echo");
    r.body = "n=" + std::to_string(i);
    client.send(r, [&, i](HttpResponse resp) {
      ++done;
      if (resp.status == 200 && resp.body == "n=" + std::to_string(i))
        ++ok;
    });
  }
  EXPECT_EQ(client.in_flight(), static_cast<std::size_t>(kN));
  run_until(io, done, kN);
  EXPECT_EQ(done, kN);
  EXPECT_EQ(ok, kN);
  EXPECT_LE(server.connections(), 8) << "connections capped per host and reused";
}

TEST(HttpCurlClient, ReportsStatusAndRetryAfter) {
  BeastTestServer server;
  boost::asio::io_context io;
  CurlHttpClient client(io);
  int done = 0;
  HttpResponse r;
  client.send(get(server.url("/status/429")), [&](HttpResponse x) {
    r = std::move(x);
    ++done;
  });
  run_until(io, done, 1);
  EXPECT_EQ(r.status, 429);
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.header("retry-after").value_or(""), "7");
}

TEST(HttpCurlClient, ConnectionRefusedIsTransportError) {
  unsigned short port;
  {
    BeastTestServer server;
    port = server.port();
  }
  boost::asio::io_context io;
  CurlHttpClient client(io);
  int done = 0;
  HttpResponse r;
  client.send(get("http://127.0.0.1:" + std::to_string(port) + "/echo"), [&](HttpResponse x) {
    r = std::move(x);
    ++done;
  });
  run_until(io, done, 1);
  EXPECT_EQ(done, 1);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(r.timed_out);
}

TEST(HttpCurlClient, DestructionFailsInFlightRequestsOnce) {
  BeastTestServer server;
  boost::asio::io_context io;
  int done = 0;
  std::string error;
  {
    CurlHttpClient client(io);
    client.send(get(server.url("/slow?ms=5000")), [&](HttpResponse r) {
      error = r.error;
      ++done;
    });
    io.run_for(std::chrono::milliseconds(100));  // connected, waiting for the answer
    EXPECT_EQ(client.in_flight(), 1u);
  }
  io.restart();
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(done, 1);
  EXPECT_EQ(error, "client shut down");
}

}  // namespace
}  // namespace stocksync::worker
