// Cursor arithmetic and ISO 8601 times; see poll_cursor.hpp.
#include "orders_in/poll_cursor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace stocksync::worker::orders_in {

double window_start(std::optional<double> polled_through, double now, const CursorRules &rules) {
  if (!polled_through)
    return now - rules.initial_lookback_s;
  return *polled_through - rules.overlap_s;
}

double advance(std::optional<double> polled_through, double bound) {
  return polled_through ? std::max(*polled_through, bound) : bound;
}

std::string iso8601_utc(double unix_s) {
  double whole = std::floor(unix_s);
  auto secs = static_cast<std::time_t>(whole);
  int ms = static_cast<int>(std::lround((unix_s - whole) * 1000));
  if (ms == 1000) {
    ++secs;
    ms = 0;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler can imagine
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::optional<double> parse_iso8601_utc(std::string_view s) {
  auto digits = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
    if (pos + n > s.size())
      return std::nullopt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9')
        return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto Y = digits(0, 4), M = digits(5, 2), D = digits(8, 2), h = digits(11, 2), m = digits(14, 2), sec = digits(17, 2);
  if (!Y || !M || !D || !h || !m || !sec || s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':' || *M < 1 || *M > 12 || *D < 1 || *D > 31 || *h > 23 || *m > 59 || *sec > 60)
    return std::nullopt;
  std::size_t pos = 19;
  double frac = 0;
  if (s[pos] == '.') {
    double scale = 0.1;
    ++pos;
    std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start)
      return std::nullopt;
  }
  int offset_s = 0;
  if (pos < s.size() && s[pos] == 'Z' && pos + 1 == s.size()) {
    offset_s = 0;
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59)
      return std::nullopt;
    offset_s = (*oh * 3600 + *om * 60) * (s[pos] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = *Y - 1900;
  tm.tm_mon = *M - 1;
  tm.tm_mday = *D;
  tm.tm_hour = *h;
  tm.tm_min = *m;
  tm.tm_sec = *sec;
  return static_cast<double>(timegm(&tm)) + frac - offset_s;
}

}  // namespace stocksync::worker::orders_in
