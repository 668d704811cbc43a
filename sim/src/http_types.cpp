#include "http_types.hpp"

#include <algorithm>
#include <cctype>

namespace sim {

std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Request::header(const std::string& name) const {
  auto it = headers.find(to_lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool Request::has_header(const std::string& name) const { return headers.count(to_lower(name)) > 0; }

std::string Request::param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

bool Request::has_param(const std::string& name) const { return query.count(name) > 0; }

void Response::set_header(const std::string& name, const std::string& value) {
  for (auto& h : headers) {
    if (to_lower(h.first) == to_lower(name)) {
      h.second = value;
      return;
    }
  }
  headers.emplace_back(name, value);
}

std::string Response::header(const std::string& name) const {
  for (auto& h : headers)
    if (to_lower(h.first) == to_lower(name)) return h.second;
  return {};
}

Response json_response(int status, const std::string& body) {
  Response r;
  r.status = status;
  r.body = body;
  r.set_header("Content-Type", "application/json; charset=utf-8");
  return r;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(const std::string& s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::multimap<std::string, std::string> parse_query(const std::string& q) {
  std::multimap<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= q.size()) {
    size_t amp = q.find('&', pos);
    if (amp == std::string::npos) amp = q.size();
    std::string part = q.substr(pos, amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string::npos)
        out.emplace(url_decode(part), "");
      else
        out.emplace(url_decode(part.substr(0, eq)), url_decode(part.substr(eq + 1)));
    }
    pos = amp + 1;
  }
  return out;
}

Request make_request(const std::string& method, const std::string& target, HeaderMap headers,
                     std::string body) {
  Request r;
  r.method = method;
  r.target = target;
  size_t qm = target.find('?');
  std::string raw_path = target.substr(0, qm);
  r.path = url_decode(raw_path, false);
  // Segments are split before decoding so that an encoded '/' (e.g. in a SKU) stays inside one.
  for (auto& seg : split_path(raw_path)) r.segments.push_back(url_decode(seg, false));
  if (qm != std::string::npos) r.query = parse_query(target.substr(qm + 1));
  for (auto& h : headers) r.headers[to_lower(h.first)] = h.second;
  r.body = std::move(body);
  return r;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    if (slash > pos) out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

}  // namespace sim
