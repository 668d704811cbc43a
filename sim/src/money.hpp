// Amounts as the channels print them in orders: a string with two decimals.
#pragma once

#include <cstdio>
#include <string>

namespace sim {

inline std::string money(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

} // namespace sim
