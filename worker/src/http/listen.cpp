// bind_and_listen(); see listen.hpp.
#include "http/listen.hpp"

#include <boost/asio/ip/address.hpp>

#include <stdexcept>

namespace stocksync::worker {

unsigned short bind_and_listen(boost::asio::ip::tcp::acceptor &acceptor, const std::string &address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("address must be host:port");
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port = static_cast<unsigned short>(std::stoi(address.substr(colon + 1)));
  boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(host), port);
  acceptor.open(ep.protocol());
  acceptor.set_option(boost::asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen();
  return acceptor.local_endpoint().port();
}

}  // namespace stocksync::worker
