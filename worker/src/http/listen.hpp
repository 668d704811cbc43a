// Binds an acceptor to "host:port" (IPv6 as "[::1]:port"; port 0: any free
// port) and starts listening: shared by the /metrics and webhook servers.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace stocksync::worker {

// Throws on a malformed address or when the socket cannot be bound.
// Returns the bound port.
unsigned short bind_and_listen(boost::asio::ip::tcp::acceptor &acceptor, const std::string &address);

}  // namespace stocksync::worker
