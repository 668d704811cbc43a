#include "http_server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

#include "sim.hpp"

namespace sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr uint64_t kBodyLimit = 16 * 1024 * 1024;  // untrusted input is bounded before it is parsed
constexpr uint32_t kHeaderLimit = 64 * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Sim& sim) : stream_(std::move(socket)), timer_(stream_.get_executor()), sim_(sim) {}

  void run() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(std::chrono::seconds(120));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  // Clients such as libcurl wait for "100 Continue" before sending a large body.
  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code ec2, std::size_t) {
        if (ec2) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof) return close();
    if (ec == http::error::body_limit) {
      Response r = json_response(413, R"({"error":"request body too large"})");
      keep_alive_ = false;
      return write(r);
    }
    if (ec) return close();
    auto& req = parser_->get();
    HeaderMap headers;
    for (auto& f : req) headers[to_lower(std::string(f.name_string()))] = std::string(f.value());
    Request r = make_request(std::string(req.method_string()), std::string(req.target()), std::move(headers),
                             std::move(req.body()));
    keep_alive_ = req.keep_alive();
    Response resp = sim_.handle(r);
    spdlog::debug("{} {} -> {}", r.method, r.target, resp.timeout ? std::string("timeout") : std::to_string(resp.status));
    if (resp.timeout) {
      // Never answer: hold the socket, then drop it.
      stream_.expires_never();
      timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(resp.timeout_s * 1000)));
      timer_.async_wait([self = shared_from_this()](beast::error_code) { self->close(); });
      return;
    }
    if (resp.delay_s > 0) {
      timer_.expires_after(std::chrono::microseconds(static_cast<int64_t>(resp.delay_s * 1e6)));
      timer_.async_wait([self = shared_from_this(), resp](beast::error_code) { self->write(resp); });
      return;
    }
    write(resp);
  }

  void write(const Response& r) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::server, "stocksync-sim");
    for (auto& h : r.headers) res->set(h.first, h.second);
    res->body() = r.body;
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !self->keep_alive_) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  net::steady_timer timer_;
  Sim& sim_;
  bool keep_alive_ = true;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(net::io_context& ioc, Sim& s) : acceptor(ioc), sim(s) {}
  tcp::acceptor acceptor;
  Sim& sim;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (!self->acceptor.is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(socket), self->sim)->run();
      self->accept();
    });
  }
};

HttpServer::HttpServer(net::io_context& ioc, Sim& sim, const std::string& host, uint16_t port)
    : impl_(std::make_shared<Impl>(ioc, sim)) {
  beast::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("bad listen address " + host + ": " + ec.message());
  tcp::endpoint ep(addr, port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
}

HttpServer::~HttpServer() = default;

uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::start() { impl_->accept(); }

void HttpServer::stop() {
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace sim
