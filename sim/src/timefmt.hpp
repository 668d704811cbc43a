// ISO 8601 formatting and parsing of scenario time (unix seconds, UTC), and
// eBay's US Pacific day.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sim {

// "2026-11-22T10:00:00Z"
std::string iso8601(double unix_s);
// "2026-11-22T10:00:00.000Z" (eBay style)
std::string iso8601_ms(double unix_s);
// "2026-11-22T10:00:00" (WooCommerce *_gmt fields)
std::string iso8601_naive(double unix_s);
// Parses YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM] (no zone = UTC).
std::optional<double> parse_iso8601(const std::string& s);

// US Pacific time's offset from UTC in seconds: -25200 (PDT) from the second
// Sunday of March 02:00 PST to the first Sunday of November 02:00 PDT, else
// -28800 (PST). Rules since 2007.
int pacific_utc_offset_s(double unix_s);
// Days since 1970-01-01 of the Pacific date (eBay's daily limits reset at
// Pacific midnight).
int64_t pacific_day(double unix_s);

}  // namespace sim
