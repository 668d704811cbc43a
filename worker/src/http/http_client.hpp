// The worker's asynchronous HTTP client interface.
//
// Adapters code against HttpClient; production uses CurlHttpClient
// (http/curl_http_client.hpp: libcurl multi driven by the Asio loop), tests
// use a fake that answers from a script. Everything runs on the worker's one
// io_context thread.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stocksync::worker {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive ASCII comparison of header names.
inline bool header_name_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The first value of a header, by case-insensitive name.
inline std::optional<std::string> find_header(const HttpHeaders &headers, std::string_view name) {
  for (const auto &[k, v] : headers)
    if (header_name_equal(k, name))
      return v;
  return std::nullopt;
}

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT, PATCH, DELETE
  std::string url;             // absolute: scheme://host[:port]/path?query
  HttpHeaders headers;         // sent as given (the client adds Host, Content-Length)
  std::string body;            // sent as is; empty means no body
  std::chrono::milliseconds timeout{10000};  // whole request, connect included
};

struct HttpResponse {
  long status = 0;      // HTTP status; 0 when the request never got a response
  HttpHeaders headers;  // response headers in arrival order
  std::string body;     // raw body (the client caps its size, see CurlHttpClient)
  std::string error;    // transport error (DNS, connect, TLS, timeout, body too
                        // large); empty when a response arrived
  bool timed_out = false;  // error is a timeout: the request may have been applied

  std::optional<std::string> header(std::string_view name) const { return find_header(headers, name); }
  bool transport_failed() const { return !error.empty(); }
  bool success() const { return error.empty() && status >= 200 && status < 300; }
};

// Sends requests; one callback per request, exactly once, always invoked from
// the io_context (never from inside send()), also on transport failure and on
// shutdown (with error set).
class HttpClient {
public:
  virtual ~HttpClient() = default;
  virtual void send(HttpRequest request, std::function<void(HttpResponse)> done) = 0;
};

}  // namespace stocksync::worker
