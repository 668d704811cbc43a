// The HTTP client that delivers outgoing webhooks (Boost.Beast, on the
// simulator's io_context). Plain http:// URLs only: the worker listens on
// loopback in every test and demo.
#pragma once

#include <memory>

#include "webhook_queue.hpp"

namespace boost::asio {
class io_context;
}

namespace sim {

class BeastTransport : public Transport {
 public:
  explicit BeastTransport(boost::asio::io_context& ioc) : ioc_(ioc) {}
  void post(const std::string& url, const HeaderMap& headers, const std::string& body, double timeout_s,
            std::function<void(int status, std::string error)> done) override;

 private:
  boost::asio::io_context& ioc_;
};

struct ParsedUrl {
  std::string host, port, target;
};
// Parses http://host[:port]/path; returns false for anything else.
bool parse_http_url(const std::string& url, ParsedUrl& out);

}  // namespace sim
