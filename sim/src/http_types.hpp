// Transport-neutral HTTP request and response used by every protocol handler.
// Handlers are pure functions of (Request, state, now) -> Response, so they are
// unit-tested without sockets; only http_server.cpp knows about Beast.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sim {

// Header names are stored lower-cased; HTTP header names are case-insensitive.
using HeaderMap = std::map<std::string, std::string>;

std::string to_lower(std::string s);

struct Request {
  std::string method;                       // "GET", "POST", ...
  std::string target;                       // raw target incl. query string
  std::string path;                         // percent-decoded path without query
  std::vector<std::string> segments;        // path segments, each percent-decoded
  std::multimap<std::string, std::string> query;  // decoded query parameters
  HeaderMap headers;                        // lower-case names
  std::string body;                         // raw body bytes

  // First value of a header (name in any case), or "" when absent.
  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const;
  // First value of a query parameter, or "" when absent.
  std::string param(const std::string& name) const;
  bool has_param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Fault injection: how long (real seconds) the server waits before writing,
  // and whether it never answers (the client sees a timeout / closed socket).
  double delay_s = 0;
  bool timeout = false;
  double timeout_s = 0;

  void set_header(const std::string& name, const std::string& value);
  std::string header(const std::string& name) const;
};

Response json_response(int status, const std::string& body);

// Parses "a=1&b=x%20y" (also used for application/x-www-form-urlencoded bodies).
std::multimap<std::string, std::string> parse_query(const std::string& q);
std::string url_decode(const std::string& s, bool plus_is_space = true);
std::string url_encode(const std::string& s);

// Builds a Request from method, target, headers and body (splits and decodes the target).
Request make_request(const std::string& method, const std::string& target, HeaderMap headers = {},
                     std::string body = {});

// Splits "/a/b/c" into {"a","b","c"} (empty segments dropped).
std::vector<std::string> split_path(const std::string& path);

}  // namespace sim
