// A small HTTP/1.1 server for CurlHttpClient tests: Boost.Beast on
// 127.0.0.1:0, its own io_context on its own thread (test infrastructure; the
// client under test stays on the test's one thread). Keep-alive, and a few
// routes that misbehave on purpose:
//   /echo          200, body = request body, X-Method / X-Target / X-Seen-<name> headers
//   /slow?ms=N     answers after N ms
//   /big?bytes=N   N bytes of 'x'
//   /status/N      status N (Retry-After: 7 with 429/503)
//   /headers?n=N   N extra headers
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace stocksync::worker::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

class BeastTestServer {
public:
  BeastTestServer() : acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~BeastTestServer() {
    net::post(ioc_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      ioc_.stop();
    });
    thread_.join();
  }

  unsigned short port() const { return port_; }
  std::string url(const std::string &path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }

private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(net::ip::tcp::socket s, BeastTestServer *srv) : stream(std::move(s)), timer(stream.get_executor()), server(srv) {}
    beast::tcp_stream stream;
    net::steady_timer timer;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    BeastTestServer *server;

    void read() {
      req = {};
      http::async_read(stream, buffer, req, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec)
          return;
        self->server->requests_++;
        self->route();
      });
    }

    void route() {
      auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, req.version());
      res->keep_alive(req.keep_alive());
      std::string target(req.target());
      std::string path = target.substr(0, target.find('?'));
      auto param = [&](const std::string &k) -> long {
        auto q = target.find('?');
        if (q == std::string::npos)
          return 0;
        auto p = target.find(k + "=", q);
        return p == std::string::npos ? 0 : std::stol(target.substr(p + k.size() + 1));
      };
      if (path == "/echo") {
        res->set("X-Method", std::string(req.method_string()));
        res->set("X-Target", target);
        for (auto &h : req)
          res->set("X-Seen-" + std::string(h.name_string()), h.value());
        res->body() = req.body();
      } else if (path == "/big") {
        res->body() = std::string(static_cast<std::size_t>(param("bytes")), 'x');
      } else if (path.rfind("/status/", 0) == 0) {
        int st = std::stoi(path.substr(8));
        res->result(static_cast<unsigned>(st));
        if (st == 429 || st == 503)
          res->set(http::field::retry_after, "7");
        res->body() = "{\"status\":" + std::to_string(st) + "}";
      } else if (path == "/headers") {
        for (long i = 0; i < param("n"); ++i)
          res->insert("X-H" + std::to_string(i), std::string(100, 'h'));
      } else if (path == "/slow") {
        res->body() = "slow";
        timer.expires_after(std::chrono::milliseconds(param("ms")));
        timer.async_wait([self = shared_from_this(), res](beast::error_code) { self->write(res); });
        return;
      } else {
        res->result(http::status::not_found);
      }
      write(res);
    }

    void write(std::shared_ptr<http::response<http::string_body>> res) {
      res->prepare_payload();
      http::async_write(stream, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
        if (ec || !res->keep_alive())
          return;
        self->read();
      });
    }
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, net::ip::tcp::socket s) {
      if (ec)
        return;
      connections_++;
      std::make_shared<Session>(std::move(s), this)->read();
      accept();
    });
  }

  net::io_context ioc_;
  net::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace stocksync::worker::testing
