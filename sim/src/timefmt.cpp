#include "timefmt.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace sim {

static std::string fmt(double unix_s, bool ms, bool zone) {
  double fl = std::floor(unix_s);
  time_t secs = static_cast<time_t>(fl);
  int millis = static_cast<int>(std::lround((unix_s - fl) * 1000.0));
  if (millis >= 1000) {
    millis -= 1000;
    secs += 1;
  }
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out(buf, static_cast<size_t>(n));
  if (ms) {
    std::snprintf(buf, sizeof buf, ".%03d", millis);
    out += buf;
  }
  if (zone) out += "Z";
  return out;
}

std::string iso8601(double unix_s) { return fmt(unix_s, false, true); }
std::string iso8601_ms(double unix_s) { return fmt(unix_s, true, true); }
std::string iso8601_naive(double unix_s) { return fmt(unix_s, false, false); }

std::optional<double> parse_iso8601(const std::string& s) {
  int Y, M, D, h, m, sec;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &consumed) != 6 &&
      std::sscanf(s.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &consumed) != 6)
    return std::nullopt;
  if (consumed != 19) return std::nullopt;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
  size_t pos = 19;
  double frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
    frac = std::stod("0." + s.substr(start, pos - start));
  }
  int offset = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh, om;
      if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
      offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
      pos += 6;
    } else {
      return std::nullopt;
    }
  }
  if (pos != s.size()) return std::nullopt;
  struct tm tm {};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  return static_cast<double>(t) - offset + frac;
}

int pacific_utc_offset_s(double unix_s) {
  time_t t = static_cast<time_t>(std::floor(unix_s));
  struct tm now {};
  gmtime_r(&t, &now);
  // Midnight UTC of the nth Sunday of month mon (0-based) of this year; the
  // transitions are months from a new year, so the UTC year is the local one.
  auto sunday = [&](int mon, int nth) {
    struct tm d {};
    d.tm_year = now.tm_year;
    d.tm_mon = mon;
    d.tm_mday = 1;
    time_t first = timegm(&d);  // also sets d.tm_wday
    return first + static_cast<time_t>((7 - d.tm_wday) % 7 + 7 * (nth - 1)) * 86400;
  };
  time_t start = sunday(2, 2) + 10 * 3600;  // 02:00 PST
  time_t end = sunday(10, 1) + 9 * 3600;    // 02:00 PDT
  return t >= start && t < end ? -7 * 3600 : -8 * 3600;
}

int64_t pacific_day(double unix_s) {
  return static_cast<int64_t>(std::floor((unix_s + pacific_utc_offset_s(unix_s)) / 86400));
}

}  // namespace sim
