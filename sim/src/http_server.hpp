// The loopback HTTP/1.1 server (Boost.Beast): one io_context, one thread.
// Each request becomes a sim::Request, goes through Sim::handle, and the
// sim::Response is written back after its injected latency; an injected
// timeout holds the connection open without answering, then closes it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace sim {

class Sim;

class HttpServer {
 public:
  // Binds host:port (port 0 = any free port); throws std::runtime_error on failure.
  HttpServer(boost::asio::io_context& ioc, Sim& sim, const std::string& host, uint16_t port);
  ~HttpServer();
  uint16_t port() const;
  void start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sim
