// Shared test helpers: build a Sim from TOML text on a manual clock and talk
// to it with sim::Request values (no sockets).
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "clock.hpp"
#include "scenario.hpp"
#include "signing.hpp"
#include "sim.hpp"

namespace simtest {

using json = nlohmann::ordered_json;
constexpr double kStart = 1795341600;  // 2026-11-22T10:00:00Z

struct Harness {
  std::shared_ptr<sim::ManualClock> clock = std::make_shared<sim::ManualClock>(kStart);
  std::unique_ptr<sim::Sim> sim;

  explicit Harness(const std::string& toml) {
    sim::Scenario sc = sim::parse_scenario(toml);
    sim = std::make_unique<sim::Sim>(sc, clock);
  }
  sim::Response call(const std::string& method, const std::string& target, sim::HeaderMap headers = {},
                     std::string body = {}) {
    return sim->handle(sim::make_request(method, target, std::move(headers), std::move(body)));
  }
  static json body(const sim::Response& r) { return json::parse(r.body); }
  void advance(double s) {
    clock->advance(s);
    sim->tick();
  }
  sim::Channel& ch(const std::string& name) { return *sim->channel(name); }
};

// Runs a shell command and returns its stdout (trailing newline stripped).
inline std::string shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// Single-quotes a string for the shell.
inline std::string sq(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace simtest
