// Starts the real stocksync-sim (built from sim/, target stocksync-sim) on a
// free loopback port with a scenario, for end-to-end adapter tests, and reads
// its /_sim/state. The binary is found via $STOCKSYNC_SIM or next to the test
// binary (build/sim/stocksync-sim); tests skip when it is not built.
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

namespace stocksync::worker::testing {

inline std::string find_sim_binary() {
  if (const char *env = std::getenv("STOCKSYNC_SIM"))
    return env;
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

class SimProcess {
public:
  // Writes the scenario, starts the simulator, waits for its port file.
  explicit SimProcess(const std::string &scenario_toml) {
    binary_ = find_sim_binary();
    if (binary_.empty())
      return;
    char tmpl[] = "/tmp/stocksync-sim-test-XXXXXX";
    if (!mkdtemp(tmpl))
      return;
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
    for (int i = 0; i < 500 && port_ == 0; ++i) {
      std::ifstream in(port_file);
      if (!(in >> port_))
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
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
  std::string binary_, dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Fixture base for tests against the simulator: an io_context, the simulator
// and a CurlHttpClient on io. SetUp calls start_sim(scenario) and skips when
// it answers false.
struct SimFixture : ::testing::Test {
  static constexpr const char *kNotRunning = "stocksync-sim not built (target stocksync-sim) or did not start";

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
