// /metrics (Prometheus text) and /healthz on a small Beast server that runs
// on the worker's io_context. Requests are bounded (8 KiB header, no body).
#pragma once

#include "metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <string>

namespace stocksync::worker {

class MetricsServer {
public:
  // healthy() returns (ok, detail) for /healthz.
  MetricsServer(boost::asio::io_context &io, const Metrics &metrics, std::function<std::pair<bool, std::string>()> healthy);
  // Binds host:port; throws on failure. Returns the bound port.
  unsigned short listen(const std::string &address);
  void stop();

private:
  void accept();
  boost::asio::io_context &io_;
  const Metrics &metrics_;
  std::function<std::pair<bool, std::string>()> healthy_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace stocksync::worker
