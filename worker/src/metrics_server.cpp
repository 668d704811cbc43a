// The /metrics and /healthz server; see metrics_server.hpp.
#include "metrics_server.hpp"

#include "http/listen.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <optional>

namespace stocksync::worker {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
public:
  Session(tcp::socket s, const Metrics &m, std::function<std::pair<bool, std::string>()> &h)
      : stream_(std::move(s)), metrics_(m), healthy_(h) {}
  void run() { read(); }

private:
  void read() {
    parser_.emplace();
    parser_->header_limit(8192);
    parser_->body_limit(0);
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec)
        return;
      self->respond(self->parser_->release());
    });
  }
  void respond(http::request<http::empty_body> req) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    res->keep_alive(req.keep_alive());
    std::string target(req.target());
    if (req.method() != http::verb::get) {
      res->result(http::status::method_not_allowed);
      res->body() = "only GET\n";
    } else if (target == "/metrics") {
      res->result(http::status::ok);
      res->set(http::field::content_type, "text/plain; version=0.0.4");
      res->body() = metrics_.render();
    } else if (target == "/healthz") {
      auto [ok, detail] = healthy_();
      res->result(ok ? http::status::ok : http::status::service_unavailable);
      res->set(http::field::content_type, "text/plain");
      res->body() = detail + "\n";
    } else {
      res->result(http::status::not_found);
      res->body() = "not found\n";
    }
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (!ec && res->keep_alive())
        self->read();
    });
  }
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  const Metrics &metrics_;
  std::function<std::pair<bool, std::string>()> &healthy_;
};

}  // namespace

MetricsServer::MetricsServer(boost::asio::io_context &io, const Metrics &metrics,
                             std::function<std::pair<bool, std::string>()> healthy)
    : io_(io), metrics_(metrics), healthy_(std::move(healthy)), acceptor_(io) {}

unsigned short MetricsServer::listen(const std::string &address) {
  unsigned short port = bind_and_listen(acceptor_, address);
  accept();
  return port;
}

void MetricsServer::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void MetricsServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
    if (ec)
      return;
    std::make_shared<Session>(std::move(s), metrics_, healthy_)->run();
    accept();
  });
}

}  // namespace stocksync::worker
