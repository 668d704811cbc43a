// stocksync-sim: serves the simulated channels of a TOML scenario on loopback.
//
//   stocksync-sim --scenario FILE [--listen 127.0.0.1:0] [--port-file PATH] [--seed N]
//
// Prints "stocksync-sim listening on HOST:PORT" once bound, and writes the
// port to --port-file (atomically) so callers can ask for port 0.
#include <boost/asio.hpp>
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "clock.hpp"
#include "http_server.hpp"
#include "scenario.hpp"
#include "sim.hpp"
#include "webhook_sender.hpp"

namespace net = boost::asio;

int main(int argc, char** argv) {
  CLI::App app{"stocksync-sim: Shopify, Amazon SP-API, eBay and WooCommerce simulator"};
  std::string scenario_path, listen = "127.0.0.1:0", port_file, log_level = "info";
  int64_t seed = -1;
  double time_scale = -1;
  app.add_option("--scenario", scenario_path, "TOML scenario file")->required();
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0 = any free port)");
  app.add_option("--port-file", port_file, "write the bound port to this file");
  app.add_option("--seed", seed, "override the scenario seed");
  app.add_option("--time-scale", time_scale, "override [sim] time_scale (0 = frozen, use /_sim/advance)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));

  sim::Scenario sc;
  try {
    sc = sim::load_scenario_file(scenario_path);
  } catch (const std::exception& e) {
    std::cerr << "stocksync-sim: " << e.what() << "\n";
    return 2;
  }
  if (seed >= 0) sc.seed = static_cast<uint64_t>(seed);
  if (time_scale >= 0) sc.time_scale = time_scale;

  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "stocksync-sim: --listen must be HOST:PORT\n";
    return 2;
  }
  std::string host = listen.substr(0, colon);
  int port = std::atoi(listen.substr(colon + 1).c_str());

  double start = sc.start_time ? *sc.start_time : std::floor(sim::wall_unix_now());
  auto clock = std::make_shared<sim::ScaledClock>(start, sc.time_scale);
  std::unique_ptr<sim::Sim> simulator;
  try {
    simulator = std::make_unique<sim::Sim>(sc, clock);
  } catch (const std::exception& e) {
    std::cerr << "stocksync-sim: " << e.what() << "\n";
    return 2;
  }

  net::io_context ioc(1);
  std::unique_ptr<sim::HttpServer> server;
  try {
    server = std::make_unique<sim::HttpServer>(ioc, *simulator, host, static_cast<uint16_t>(port));
  } catch (const std::exception& e) {
    std::cerr << "stocksync-sim: " << e.what() << "\n";
    return 1;
  }
  sim::BeastTransport transport(ioc);
  simulator->set_transport(&transport);
  server->start();

  uint16_t bound = server->port();
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << bound << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  std::cout << "stocksync-sim listening on " << host << ":" << bound << " (seed " << sc.seed << ", "
            << sc.channels.size() << " channels)" << std::endl;

  // The tick: buyers, applies, retries and webhook deliveries move with the clock.
  net::steady_timer ticker(ioc);
  auto tick_every = std::chrono::microseconds(static_cast<int64_t>(std::max(1.0, sc.tick_ms) * 1000));
  std::function<void()> schedule = [&]() {
    ticker.expires_after(tick_every);
    ticker.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      try {
        simulator->tick();
      } catch (const std::exception& e) {
        spdlog::error("tick: {}", e.what());
      }
      schedule();
    });
  };
  schedule();

  auto stop = [&]() {
    server->stop();
    ticker.cancel();
    ioc.stop();
  };
  net::steady_timer stop_timer(ioc);
  simulator->on_shutdown = [&]() {
    // Let the response to /_sim/shutdown go out first.
    stop_timer.expires_after(std::chrono::milliseconds(50));
    stop_timer.async_wait([&](boost::system::error_code) { stop(); });
  };
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { stop(); });

  ioc.run();
  spdlog::info("stocksync-sim stopped");
  return 0;
}
