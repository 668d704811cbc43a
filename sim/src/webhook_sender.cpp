#include "webhook_sender.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

namespace sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

bool parse_http_url(const std::string& url, ParsedUrl& out) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return false;
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    out.host = hostport;
    out.port = "80";
  } else {
    out.host = hostport.substr(0, colon);
    out.port = hostport.substr(colon + 1);
  }
  return !out.host.empty() && !out.port.empty();
}

namespace {

class HttpDelivery : public std::enable_shared_from_this<HttpDelivery> {
 public:
  HttpDelivery(net::io_context& ioc, std::function<void(int, std::string)> done)
      : resolver_(ioc), stream_(ioc), done_(std::move(done)) {}

  void start(const ParsedUrl& u, const HeaderMap& headers, const std::string& body, double timeout_s) {
    req_.method(http::verb::post);
    req_.target(u.target);
    req_.version(11);
    req_.set(http::field::host, u.host + ":" + u.port);
    for (auto& h : headers) req_.set(h.first, h.second);
    req_.body() = body;
    req_.keep_alive(false);
    req_.prepare_payload();
    timeout_ = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    resolver_.async_resolve(u.host, u.port,
                            [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
                              if (ec) return self->finish(0, "resolve: " + ec.message());
                              self->stream_.expires_after(self->timeout_);
                              self->stream_.async_connect(r, [self](beast::error_code ec2, tcp::endpoint) {
                                if (ec2) return self->finish(0, "connect: " + ec2.message());
                                self->write();
                              });
                            });
  }

 private:
  void write() {
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->finish(0, "write: " + ec.message());
      http::async_read(self->stream_, self->buffer_, self->res_, [self](beast::error_code ec2, std::size_t) {
        if (ec2) return self->finish(0, "read: " + ec2.message());
        self->finish(static_cast<int>(self->res_.result_int()), "");
      });
    });
  }

  void finish(int status, std::string error) {
    if (!done_) return;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    auto done = std::move(done_);
    done_ = nullptr;
    done(status, std::move(error));
  }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  std::chrono::milliseconds timeout_{5000};
  std::function<void(int, std::string)> done_;
};

}  // namespace

void BeastTransport::post(const std::string& url, const HeaderMap& headers, const std::string& body,
                          double timeout_s, std::function<void(int status, std::string error)> done) {
  ParsedUrl u;
  if (!parse_http_url(url, u)) {
    net::post(ioc_, [done]() { done(0, "unsupported url (only http://host:port/path)"); });
    return;
  }
  std::make_shared<HttpDelivery>(ioc_, std::move(done))->start(u, headers, body, timeout_s);
}

}  // namespace sim
