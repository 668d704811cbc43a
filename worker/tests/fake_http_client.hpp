// A scripted HttpClient for adapter tests: records every request and answers
// through a handler, posted to the io_context like a real client.
#pragma once

#include "http/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <string>
#include <vector>

namespace stocksync::worker::testing {

class FakeHttpClient : public HttpClient {
public:
  using Handler = std::function<HttpResponse(const HttpRequest &)>;

  FakeHttpClient(boost::asio::io_context &io, Handler handler) : io_(io), handler_(std::move(handler)) {}

  void send(HttpRequest request, std::function<void(HttpResponse)> done) override {
    requests.push_back(request);
    HttpResponse r = handler_(request);
    boost::asio::post(io_, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }

  void set_handler(Handler h) { handler_ = std::move(h); }

  std::vector<HttpRequest> requests;

private:
  boost::asio::io_context &io_;
  Handler handler_;
};

inline HttpResponse json_reply(long status, std::string body, HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

inline bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

inline bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

}  // namespace stocksync::worker::testing
