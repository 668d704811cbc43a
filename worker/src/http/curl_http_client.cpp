// CurlHttpClient: libcurl multi driven by Asio; see curl_http_client.hpp.
//
// The loop, step by step (as in curl's asiohiper example):
//   send()            -> curl_multi_add_handle; curl calls on_timer(0) to be
//                        kicked, we call socket_action(TIMEOUT) from the loop.
//   on_socket(s, IN)  -> assign s to a stream_descriptor, async_wait(read).
//   wait completes    -> curl_multi_socket_action(s, CSELECT_IN), re-arm while
//                        curl still wants that direction.
//   on_socket(REMOVE) -> release the descriptor (curl closes the socket).
//   on_timer(ms)      -> steady_timer; on expiry socket_action(TIMEOUT).
//   after every socket_action: curl_multi_info_read -> finished transfers ->
//                        their callbacks are posted to the io_context.
#include "http/curl_http_client.hpp"

#include "http/curl_handles.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace stocksync::worker {

namespace asio = boost::asio;

// curl_global_init is not thread-safe; once per process is enough.
void curl_global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

namespace {

// Trims spaces, tabs and the trailing CR LF of a header line part.
std::string trim(const char *begin, const char *end) {
  while (begin < end && (*begin == ' ' || *begin == '\t'))
    ++begin;
  while (end > begin && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
    --end;
  return std::string(begin, end);
}

}  // namespace

struct CurlHttpClient::Impl : std::enable_shared_from_this<Impl> {
  // One socket curl asked us to watch.
  struct Socket {
    explicit Socket(asio::io_context &io) : sd(io) {}
    asio::posix::stream_descriptor sd;
    int wanted = 0;        // CURL_POLL_IN / OUT / INOUT
    bool read_armed = false;
    bool write_armed = false;
    bool removed = false;  // curl said REMOVE: pending waits must not touch curl
  };

  // One request in flight.
  struct Transfer {
    Impl *impl = nullptr;
    CurlEasyPtr easy;
    CurlSlistPtr headers;
    HttpRequest request;  // owns the body curl sends (CURLOPT_POSTFIELDS points into it)
    HttpResponse response;
    std::function<void(HttpResponse)> done;
    std::size_t header_bytes = 0;
    bool body_too_large = false;
    bool headers_too_large = false;
    char errbuf[CURL_ERROR_SIZE] = {0};
  };

  Impl(asio::io_context &io, CurlHttpClientOptions options)
      : io(io), opts(std::move(options)), timer(io) {}

  asio::io_context &io;
  CurlHttpClientOptions opts;
  CurlMultiPtr multi;
  asio::steady_timer timer;
  std::map<curl_socket_t, std::shared_ptr<Socket>> sockets;
  std::map<CURL *, std::unique_ptr<Transfer>> transfers;
  std::uint64_t connects = 0;
  bool closing = false;

  void init();
  void shutdown();
  void start(HttpRequest request, std::function<void(HttpResponse)> done);
  void fail_now(std::function<void(HttpResponse)> done, std::string error);
  void arm(const std::shared_ptr<Socket> &sock);
  void arm_one(const std::shared_ptr<Socket> &sock, bool write);
  void socket_action(curl_socket_t s, int ev);
  void drain_finished();
  void finish(CURL *easy, CURLcode code);

  static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
  static int on_timer(CURLM *multi, long timeout_ms, void *userp);
  static size_t on_body(char *data, size_t size, size_t n, void *userp);
  static size_t on_header(char *data, size_t size, size_t n, void *userp);
};

// Creates the multi handle and hooks curl's socket and timer callbacks to us.
void CurlHttpClient::Impl::init() {
  curl_global_init_once();
  multi.reset(curl_multi_init());
  if (!multi)
    throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi.get(), CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
  curl_multi_setopt(multi.get(), CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi.get(), CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
  curl_multi_setopt(multi.get(), CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS, opts.max_host_connections);
  curl_multi_setopt(multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, opts.max_total_connections);
  curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, opts.max_cached_connections);
}

// Aborts every transfer (callbacks posted with an error) and lets go of every
// socket without closing it. Safe to call twice.
void CurlHttpClient::Impl::shutdown() {
  if (closing)
    return;
  closing = true;
  for (auto &[easy, t] : transfers) {
    curl_multi_remove_handle(multi.get(), easy);
    HttpResponse r;
    r.error = "client shut down";
    asio::post(io, [done = std::move(t->done), r = std::move(r)]() mutable { done(std::move(r)); });
  }
  transfers.clear();
  multi.reset();  // closes cached connections; may call on_socket(REMOVE)
  for (auto &[fd, sock] : sockets) {
    sock->removed = true;
    sock->sd.release();
  }
  sockets.clear();
  timer.cancel();
}

// Posts a failure for a request that never reached curl.
void CurlHttpClient::Impl::fail_now(std::function<void(HttpResponse)> done, std::string error) {
  HttpResponse r;
  r.error = std::move(error);
  asio::post(io, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

// Builds the easy handle for one request and hands it to the multi handle.
void CurlHttpClient::Impl::start(HttpRequest request, std::function<void(HttpResponse)> done) {
  if (closing)
    return fail_now(std::move(done), "client shut down");
  auto t = std::make_unique<Transfer>();
  t->impl = this;
  t->easy.reset(curl_easy_init());
  if (!t->easy)
    return fail_now(std::move(done), "curl_easy_init failed");
  t->request = std::move(request);
  t->done = std::move(done);
  CURL *e = t->easy.get();

  // Headers: as given, plus "Expect:" so a body is sent without waiting for
  // 100-continue (one round trip less per push).
  curl_slist *list = nullptr;
  for (const auto &[name, value] : t->request.headers) {
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    curl_slist *next = curl_slist_append(list, line.c_str());
    if (!next) {
      curl_slist_free_all(list);
      return fail_now(std::move(t->done), "out of memory building headers");
    }
    list = next;
  }
  if (curl_slist *next = curl_slist_append(list, "Expect:"))
    list = next;
  t->headers.reset(list);

  curl_easy_setopt(e, CURLOPT_URL, t->request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // any encoding curl can decode
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, opts.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t->request.timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(opts.connect_timeout, t->request.timeout).count()));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(opts.max_body_bytes));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, opts.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, opts.verify_tls ? 2L : 0L);
  if (!opts.ca_file.empty())
    curl_easy_setopt(e, CURLOPT_CAINFO, opts.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());

  // Method and body. POSTFIELDS points into t->request.body, which lives as
  // long as the transfer.
  const std::string &m = t->request.method;
  if (m == "GET" && t->request.body.empty()) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (m == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    if (m != "POST")
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->request.body.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request.body.c_str());
  }

  CURLMcode rc = curl_multi_add_handle(multi.get(), e);
  if (rc != CURLM_OK)
    return fail_now(std::move(t->done), std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc));
  transfers.emplace(e, std::move(t));
}

// CURLMOPT_SOCKETFUNCTION: curl wants socket s watched for `what`, or forgotten.
int CurlHttpClient::Impl::on_socket(CURL *, curl_socket_t s, int what, void *userp, void *) {
  auto *self = static_cast<Impl *>(userp);
  if (what == CURL_POLL_REMOVE) {
    auto it = self->sockets.find(s);
    if (it != self->sockets.end()) {
      it->second->removed = true;
      it->second->sd.release();  // pending waits finish with operation_aborted
      self->sockets.erase(it);
    }
    return 0;
  }
  auto &sock = self->sockets[s];
  if (!sock) {
    sock = std::make_shared<Socket>(self->io);
    boost::system::error_code ec;
    sock->sd.assign(s, ec);
    if (ec) {
      self->sockets.erase(s);
      return -1;  // curl fails the transfers on this socket
    }
  }
  sock->wanted = what;
  self->arm(sock);
  return 0;
}

// Starts a readiness wait for each direction curl wants and none is pending.
void CurlHttpClient::Impl::arm(const std::shared_ptr<Socket> &sock) {
  if ((sock->wanted & CURL_POLL_IN) && !sock->read_armed)
    arm_one(sock, false);
  if ((sock->wanted & CURL_POLL_OUT) && !sock->write_armed)
    arm_one(sock, true);
}

// One async_wait; on readiness tell curl, then re-arm while curl still wants it.
void CurlHttpClient::Impl::arm_one(const std::shared_ptr<Socket> &sock, bool write) {
  (write ? sock->write_armed : sock->read_armed) = true;
  auto kind = write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read;
  std::weak_ptr<Impl> weak = shared_from_this();
  sock->sd.async_wait(kind, [weak, sock, write](const boost::system::error_code &ec) {
    (write ? sock->write_armed : sock->read_armed) = false;
    auto self = weak.lock();
    if (!self || sock->removed || ec == asio::error::operation_aborted)
      return;
    int flag = write ? CURL_POLL_OUT : CURL_POLL_IN;
    if (!(sock->wanted & flag))
      return;  // curl changed its mind while we waited
    int ev = ec ? CURL_CSELECT_ERR : (write ? CURL_CSELECT_OUT : CURL_CSELECT_IN);
    self->socket_action(sock->sd.native_handle(), ev);
    if (!sock->removed && !ec)
      self->arm(sock);
  });
}

// CURLMOPT_TIMERFUNCTION: -1 cancels, otherwise wake curl after timeout_ms
// (0 included: never call curl back from inside its own callback).
int CurlHttpClient::Impl::on_timer(CURLM *, long timeout_ms, void *userp) {
  auto *self = static_cast<Impl *>(userp);
  self->timer.cancel();
  if (timeout_ms < 0 || self->closing)
    return 0;
  self->timer.expires_after(std::chrono::milliseconds(timeout_ms));
  std::weak_ptr<Impl> weak = self->shared_from_this();
  self->timer.async_wait([weak](const boost::system::error_code &ec) {
    auto s = weak.lock();
    if (!s || ec || s->closing)
      return;
    s->socket_action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

// Lets curl do its work for one socket (or its timers), then reaps.
void CurlHttpClient::Impl::socket_action(curl_socket_t s, int ev) {
  if (!multi)
    return;
  int running = 0;
  curl_multi_socket_action(multi.get(), s, ev, &running);
  drain_finished();
}

// Every finished transfer leaves the multi handle and gets its answer.
void CurlHttpClient::Impl::drain_finished() {
  int left = 0;
  while (CURLMsg *msg = curl_multi_info_read(multi.get(), &left)) {
    if (msg->msg == CURLMSG_DONE)
      finish(msg->easy_handle, msg->data.result);
  }
}

// Turns curl's result into an HttpResponse and posts the callback.
void CurlHttpClient::Impl::finish(CURL *easy, CURLcode code) {
  auto it = transfers.find(easy);
  if (it == transfers.end())
    return;
  std::unique_ptr<Transfer> t = std::move(it->second);
  transfers.erase(it);
  long conns = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &conns);
  connects += static_cast<std::uint64_t>(conns);
  curl_multi_remove_handle(multi.get(), easy);

  HttpResponse &r = t->response;
  if (code == CURLE_OK) {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
  } else {
    r.status = 0;
    if (t->body_too_large || code == CURLE_FILESIZE_EXCEEDED)
      r.error = "response body larger than " + std::to_string(opts.max_body_bytes) + " bytes";
    else if (t->headers_too_large)
      r.error = "response headers exceed " + std::to_string(opts.max_header_bytes) + " bytes or " +
                std::to_string(opts.max_headers) + " lines";
    else if (code == CURLE_OPERATION_TIMEDOUT) {
      r.error = "timeout after " + std::to_string(t->request.timeout.count()) + " ms";
      r.timed_out = true;
    } else {
      r.error = curl_easy_strerror(code);
      if (t->errbuf[0])
        r.error += std::string(": ") + t->errbuf;
    }
    r.body.clear();
  }
  asio::post(io, [done = std::move(t->done), r = std::move(r)]() mutable { done(std::move(r)); });
}

// CURLOPT_WRITEFUNCTION: append body bytes, refuse past the size limit.
size_t CurlHttpClient::Impl::on_body(char *data, size_t size, size_t n, void *userp) {
  auto *t = static_cast<Transfer *>(userp);
  size_t len = size * n;
  if (t->response.body.size() + len > t->impl->opts.max_body_bytes) {
    t->body_too_large = true;
    return 0;  // anything but len aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, len);
  return len;
}

// CURLOPT_HEADERFUNCTION: one header line per call, status lines included.
size_t CurlHttpClient::Impl::on_header(char *data, size_t size, size_t n, void *userp) {
  auto *t = static_cast<Transfer *>(userp);
  size_t len = size * n;
  t->header_bytes += len;
  if (t->header_bytes > t->impl->opts.max_header_bytes) {
    t->headers_too_large = true;
    return 0;
  }
  const char *end = data + len;
  if (len >= 5 && std::string_view(data, 5) == "HTTP/") {
    t->response.headers.clear();  // a new response (after a 1xx): start over
    return len;
  }
  const char *colon = static_cast<const char *>(memchr(data, ':', len));
  if (!colon)
    return len;  // the blank line that ends the block
  if (t->response.headers.size() >= t->impl->opts.max_headers) {
    t->headers_too_large = true;
    return 0;
  }
  t->response.headers.emplace_back(trim(data, colon), trim(colon + 1, end));
  return len;
}

CurlHttpClient::CurlHttpClient(asio::io_context &io) : CurlHttpClient(io, CurlHttpClientOptions{}) {}

CurlHttpClient::CurlHttpClient(asio::io_context &io, CurlHttpClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
  impl_->init();
}

CurlHttpClient::~CurlHttpClient() { impl_->shutdown(); }

void CurlHttpClient::send(HttpRequest request, std::function<void(HttpResponse)> done) {
  impl_->start(std::move(request), std::move(done));
}

std::size_t CurlHttpClient::in_flight() const { return impl_->transfers.size(); }

std::uint64_t CurlHttpClient::connections_opened() const { return impl_->connects; }

std::size_t CurlHttpClient::watched_sockets() const { return impl_->sockets.size(); }

}  // namespace stocksync::worker
