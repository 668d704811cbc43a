// CurlHttpClient: HttpClient on the libcurl multi interface, driven by the
// worker's one io_context (the shape of curl's asiohiper example).
//
// curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
// wake it up (CURLMOPT_TIMERFUNCTION); each socket gets a
// posix::stream_descriptor that only waits for readiness (assign and release,
// never close: curl owns the socket) and one steady_timer carries curl's
// timeout. No thread per request; the multi handle's connection cache keeps
// connections alive between requests to the same host.
//
// Bounds on what a channel may send back: the body (max_body_bytes, counted
// after content decoding, so a gzip bomb stops there too), the header block
// (max_header_bytes, max_headers). Redirects are not followed.
//
// Threading: construct, send and destroy on the io_context's thread only.
#pragma once

#include "http/http_client.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace stocksync::worker {

struct CurlHttpClientOptions {
  std::size_t max_body_bytes = 8u << 20;     // 8 MiB; a push answer is a few KiB
  std::size_t max_header_bytes = 64u << 10;  // whole header block
  std::size_t max_headers = 200;
  std::chrono::milliseconds connect_timeout{5000};  // within HttpRequest::timeout
  long max_host_connections = 16;  // per host; further transfers queue inside curl
  long max_total_connections = 64;
  long max_cached_connections = 32;  // idle keep-alive connections kept
  std::string ca_file;               // empty: the system's CA bundle
  bool verify_tls = true;            // false only for tests against self-signed peers
  std::string user_agent = "stocksync-worker/0.1";
};

class CurlHttpClient : public HttpClient {
public:
  explicit CurlHttpClient(boost::asio::io_context &io);
  CurlHttpClient(boost::asio::io_context &io, CurlHttpClientOptions options);
  // Aborts what is still in flight; those callbacks get error "client shut down".
  ~CurlHttpClient() override;

  CurlHttpClient(const CurlHttpClient &) = delete;
  CurlHttpClient &operator=(const CurlHttpClient &) = delete;

  void send(HttpRequest request, std::function<void(HttpResponse)> done) override;

  // Requests sent and not yet answered.
  std::size_t in_flight() const;
  // New connections opened so far (keep-alive reuse shows as a small number).
  std::uint64_t connections_opened() const;
  // Sockets curl currently asks the loop to watch.
  std::size_t watched_sockets() const;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared: Asio handlers hold weak references
};

}  // namespace stocksync::worker
