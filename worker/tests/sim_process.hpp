// Starts the real stocksync-sim (built from sim/, target stocksync-sim) on a
// free loopback port with a scenario, for end-to-end adapter tests, and reads
// its /_sim/state. The binary is found via $STOCKSYNC_SIM, the path CMake
// compiled in (STOCKSYNC_SIM_BINARY) or next to the test binary
// (build/sim/stocksync-sim). The top-level build always builds it, so a
// missing or non-starting simulator FAILS the test; set
// STOCKSYNC_SKIP_SIM_TESTS=1 to skip these tests instead (worker built alone).
#pragma once

#include "channel_adapter.hpp"
#include "http/curl_http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

// In a test body or SetUp: returns from it with a failure when the simulator
// `sim` (a SimProcess) is not running, or with a skip when the run opted out
// with STOCKSYNC_SKIP_SIM_TESTS.
#define STOCKSYNC_REQUIRE_SIM(sim)                                                                   \
  do {                                                                                             \
    if (!(sim).running()) {                                                                        \
      if (::stocksync::worker::testing::sim_tests_opted_out())                                     \
        GTEST_SKIP() << "STOCKSYNC_SKIP_SIM_TESTS set: " << (sim).error();                         \
      FAIL() << (sim).error() << " (set STOCKSYNC_SKIP_SIM_TESTS=1 to skip the simulator tests)"; \
    }                                                                                              \
  } while (0)

namespace stocksync::worker::testing {

inline std::string find_sim_binary() {
  if (const char *env = std::getenv("STOCKSYNC_SIM"))
    return env;
#ifdef STOCKSYNC_SIM_BINARY
  if (access(STOCKSYNC_SIM_BINARY, X_OK) == 0)
    return STOCKSYNC_SIM_BINARY;
#endif
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return {};
  self[n] = '\0';
  std::string dir(self);
  dir = dir.substr(0, dir.rfind('/'));  // build/worker
  for (const char *rel : {"/../sim/stocksync-sim", "/sim/stocksync-sim"}) {
    std::string p = dir + rel;
    if (access(p.c_str(), X_OK) == 0)
      return p;
  }
  return {};
}

// True when STOCKSYNC_SKIP_SIM_TESTS is set to something other than "" or "0":
// the only case in which a missing simulator is a skip rather than a failure.
inline bool sim_tests_opted_out() {
  const char *v = std::getenv("STOCKSYNC_SKIP_SIM_TESTS");
  return v && *v && std::string(v) != "0";
}

class SimProcess {
public:
  // Writes the scenario, starts the simulator, waits for its port file.
  explicit SimProcess(const std::string &scenario_toml) {
    binary_ = find_sim_binary();
    if (binary_.empty()) {
      error_ = "stocksync-sim not found ($STOCKSYNC_SIM, build/sim/stocksync-sim; target stocksync-sim)";
      return;
    }
    char tmpl[] = "/tmp/stocksync-sim-test-XXXXXX";
    if (!mkdtemp(tmpl)) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    std::ofstream(dir_ + "/scenario.toml") << scenario_toml;
    std::string port_file = dir_ + "/port";
    pid_ = fork();
    if (pid_ == 0) {
      std::string log = dir_ + "/sim.log";
      freopen(log.c_str(), "w", stdout);
      freopen(log.c_str(), "a", stderr);
      execl(binary_.c_str(), binary_.c_str(), "--scenario", (dir_ + "/scenario.toml").c_str(), "--listen",
            "127.0.0.1:0", "--port-file", port_file.c_str(), "--log-level", "warn", static_cast<char *>(nullptr));
      _exit(127);
    }
    if (pid_ < 0) {
      error_ = "fork failed";
      return;
    }
    std::string exited;  // set when the simulator ended before writing its port
    for (int i = 0; i < 500 && port_ == 0 && exited.empty(); ++i) {
      std::ifstream in(port_file);
      if (in >> port_)
        break;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exited = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                   : "was killed by signal " + std::to_string(WTERMSIG(status));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (port_ == 0) {
      std::ifstream log(dir_ + "/sim.log");
      std::stringstream ss;
      ss << log.rdbuf();
      error_ = binary_ + (exited.empty() ? " did not write its port file within 5 s" : " " + exited) +
               "; log: " + ss.str();
    }
  }
  ~SimProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (!dir_.empty())
      std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  bool running() const { return port_ != 0; }
  // Why running() is false ("" when it is true).
  const std::string &error() const { return error_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Sends r through http and runs io until the answer (or about 5 s).
  static std::optional<HttpResponse> send_and_wait(boost::asio::io_context &io, HttpClient &http,
                                                   const HttpRequest &r) {
    std::optional<HttpResponse> got;
    http.send(r, [&](HttpResponse x) { got = std::move(x); });
    for (int i = 0; i < 500 && !got; ++i) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    return got;
  }

  // GET /_sim/state through a CurlHttpClient on io.
  nlohmann::json state(boost::asio::io_context &io, HttpClient &http) const {
    HttpRequest r;
    r.url = base() + "/_sim/state";
    auto got = send_and_wait(io, http, r);
    if (!got || got->status != 200)
      return {};
    return nlohmann::json::parse(got->body, nullptr, false);
  }

  // The `shown` quantity of listing `id` on channel `name`, from a state.
  static std::optional<long long> shown(const nlohmann::json &state, const std::string &name, const std::string &id) {
    if (!state.is_object() || !state.contains("channels"))
      return std::nullopt;
    for (const auto &c : state["channels"])
      if (c.value("name", "") == name)
        for (const auto &l : c["listings"])
          if (l.value("id", "") == id)
            return l.value("shown", -1LL);
    return std::nullopt;
  }

private:
  std::string binary_, dir_, error_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Fixture base for tests against the simulator: an io_context, the simulator
// and a CurlHttpClient on io. SetUp calls start_sim(scenario) and, when it
// answers false, skips if sim_tests_opted_out() and fails otherwise.
struct SimFixture : ::testing::Test {
  bool start_sim(const std::string &scenario_toml) {
    sim = std::make_unique<SimProcess>(scenario_toml);
    if (!sim->running())
      return false;
    http = std::make_unique<CurlHttpClient>(io);
    return true;
  }
  AdapterEnv env() { return AdapterEnv{io, *http}; }

  boost::asio::io_context io;
  std::unique_ptr<SimProcess> sim;
  std::unique_ptr<CurlHttpClient> http;
};

}  // namespace stocksync::worker::testing
