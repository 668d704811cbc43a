// ISO 8601 formatting and parsing of scenario time (unix seconds, UTC).
#pragma once

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

}  // namespace sim
