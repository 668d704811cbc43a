// stocksync-worker: follows the database's logical replication stream and
// brings every committed stock change to every channel.
//
// Reads top to bottom: configuration, logging, one io_context, the database
// connection (publication), the adapters, the sync core, the replication
// client, the metrics server, signals; then run until SIGTERM/SIGINT.
#include "channel_adapter.hpp"
#include "config.hpp"
#include "http/curl_http_client.hpp"
#include "inbound.hpp"
#include "metrics.hpp"
#include "metrics_server.hpp"
#include "replication/client.hpp"
#include "sync/core_thread.hpp"
#include "sync/pg_database.hpp"
#include "sync/push_lag_report.hpp"
#include "webhooks/webhook_server.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <functional>
#include <iostream>
#include <random>
#include <thread>

using namespace stocksync::worker;

int main(int argc, char **argv) {
  CLI::App app{"stocksync-worker: brings every committed stock change to every channel"};
  std::string config_path = "stocksync.toml";
  bool check_only = false;
  std::string log_level;
  app.add_option("-c,--config", config_path, "configuration file (TOML)")->capture_default_str();
  app.add_flag("--check-config", check_only, "check the configuration and exit");
  app.add_option("--log-level", log_level, "override log.level (trace, debug, info, warn, error)");
  std::string reconcile_channel;
  int reconcile_wait_s = 600;
  app.add_option("--reconcile", reconcile_channel,
                 "ask the running worker to reconcile CHANNEL now (stocksync.reconcile), wait and print the run");
  app.add_option("--wait", reconcile_wait_s, "with --reconcile: seconds to wait for the run (0: do not wait)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // 1. Configuration: every key checked; secrets resolved, never printed.
  std::string error;
  auto cfg = load_config(config_path, error);
  if (!cfg) {
    std::cerr << "stocksync-worker: " << error << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << config_path << ": ok (" << cfg->channels.size() << " channels)\n";
    return 0;
  }
  if (!reconcile_channel.empty())
    return reconcile_command(*cfg, reconcile_channel, reconcile_wait_s);

  // 2. Logging.
  auto logger = spdlog::stderr_logger_mt("stocksync-worker");
  spdlog::set_default_logger(logger);
  if (cfg->log_json)
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%v"})", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? cfg->log_level : log_level));

  boost::asio::io_context io(1);
  Metrics metrics;

  // 3. The database: a plain connection for listing state, and the publication.
  PgDatabase db(cfg->conninfo);
  for (int attempt = 0;; ++attempt) {
    try {
      db.ensure();
      bool have = db.exists("SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1", {cfg->publication});
      if (!have && cfg->create_publication) {
        db.exec("CREATE PUBLICATION " + cfg->publication +
                " FOR TABLE stocksync.stock_level, stocksync.stock_bucket, stocksync.listing, stocksync.channel,"
                " stocksync.item");
        spdlog::info("created publication {}", cfg->publication);
      } else if (have && !db.exists("SELECT 1 FROM pg_catalog.pg_publication_tables WHERE pubname = $1"
                                    " AND schemaname = 'stocksync' AND tablename = 'stock_bucket'",
                                    {cfg->publication})) {
        // A publication of an older worker (or made by hand) without the hot
        // SKUs' bucket rows: their changes would reach channels only with the
        // periodic full diff. Changes committed before the table is added
        // are not decoded either; the full diff at start-up covers them.
        std::string add = "ALTER PUBLICATION " + cfg->publication + " ADD TABLE stocksync.stock_bucket";
        if (!cfg->create_publication) {
          spdlog::warn("publication {} lacks stocksync.stock_bucket: changes of hot SKUs reach channels only with "
                       "the full diff; run as its owner: {}",
                       cfg->publication, add);
        } else {
          try {
            db.exec(add);
            spdlog::info("added stocksync.stock_bucket to publication {}", cfg->publication);
          } catch (const DbError &e) {
            // Only the owner of the publication and the table may add it:
            // not a reason to stop.
            spdlog::warn("cannot add stocksync.stock_bucket to publication {} ({}); changes of hot SKUs reach "
                         "channels only with the full diff; run as its owner: {}",
                         cfg->publication, e.what(), add);
          }
        }
      }
      break;
    } catch (const DbError &e) {
      if (attempt >= 50) {
        spdlog::critical("database not reachable: {}", e.what());
        return 1;
      }
      spdlog::warn("database not ready ({}); retrying", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // 4. Adapters, one per configured channel.
  CurlHttpClient http(io);
  AdapterEnv env{io, http};
  std::vector<std::unique_ptr<ChannelAdapter>> adapters;
  std::vector<SyncCore::Channel> channels;
  std::vector<AdapterChannel> inbound_channels;
  for (const auto &ch : cfg->channels) {
    auto ad = make_adapter(ch, env, error);
    if (!ad) {
      spdlog::critical("{}", error);
      return 2;
    }
    SyncCore::Channel c;
    c.cfg = ch;
    c.adapter = ad.get();
    auto it = cfg->channel_max_attempts.find(ch.code);
    c.max_attempts = it != cfg->channel_max_attempts.end() ? it->second : cfg->sync.max_attempts;
    channels.push_back(std::move(c));
    inbound_channels.push_back(AdapterChannel{ch, ad.get()});
    adapters.push_back(std::move(ad));
    spdlog::info("channel {} ({}) at {}", ch.code, ch.kind, ch.base_url);
  }

  // 5. The sync core: a full diff at start-up, then level-triggered pushes.
  // It runs on a thread of its own with the database connection above, so
  // that its database round trips never hold up replication input, HTTP
  // answers or /metrics (sync/core_thread.hpp).
  CoreThread core(io, db, cfg->sync, channels, &metrics, std::random_device{}());
  core.start();

  // 5b. Every minute, each channel's p99 push lag over that minute goes to the
  // database, where the dynamic safety buffer protects twice that. It runs on
  // the core's thread, which owns the database connection.
  PushLagWindow lag_window(20);
  boost::asio::steady_timer lag_timer(io);
  std::function<void()> report_lag = [&] {
    lag_timer.expires_after(std::chrono::minutes(1));
    lag_timer.async_wait([&](const boost::system::error_code &ec) {
      if (ec)
        return;
      core.post([&](SyncCore &) {
        for (const auto &[channel, p99] : lag_window.take(metrics)) {
          try {
            db.exists("SELECT stocksync.report_push_lag($1, $2::double precision * interval '1 second') IS NULL",
                      {channel, std::to_string(p99)});
          } catch (const DbError &e) {
            spdlog::warn("cannot report the push lag of channel {}: {}", channel, e.what());
          }
        }
      });
      report_lag();
    });
  };
  report_lag();

  // 6. Replication: decoded changes mark listings dirty.
  replication::ClientConfig rc;
  rc.conninfo = cfg->conninfo;
  rc.slot = cfg->slot;
  rc.publication = cfg->publication;
  rc.status_interval = cfg->status_interval;
  rc.reconnect_min = cfg->reconnect_min;
  rc.reconnect_max = cfg->reconnect_max;
  replication::Client repl(
      io, rc, metrics,
      {[&core](const replication::DirtyMarks &m, std::chrono::system_clock::time_point t) {
         // m.xid: the core holds these until our queries see the transaction.
         core.post([m, t](SyncCore &c) {
           for (auto &s : m.skus)
             c.mark_sku(s, t, m.xid);
           for (auto &[ch, ext] : m.listings)
             c.mark_listing(ch, ext, t, m.xid);
           for (auto &ch : m.channels)
             c.mark_channel(ch, t, m.xid);
           if (m.full_diff)
             c.request_full_diff(m.xid);
         });
       },
       [&core] { core.post([](SyncCore &c) { c.request_full_diff(); }); }});
  repl.start();

  // 6b. Orders in by polling (amazon, ebay) and reconciliation of drift: a
  // database session of their own; corrections reach the core as pending
  // listings (reconcile/reconcile_store.hpp).
  Inbound inbound(io, *cfg, inbound_channels, metrics);
  inbound.start();

  // 7. /metrics and /healthz.
  MetricsServer server(io, metrics, [&] {
    bool ok = repl.streaming();
    return std::make_pair(ok, ok ? std::string("ok") : std::string("replication not streaming"));
  });
  if (!cfg->http_listen.empty()) {
    try {
      auto port = server.listen(cfg->http_listen);
      spdlog::info("metrics on http://{}:{}/metrics", cfg->http_listen.substr(0, cfg->http_listen.rfind(':')), port);
    } catch (const std::exception &e) {
      spdlog::critical("cannot listen on {}: {}", cfg->http_listen, e.what());
      return 1;
    }
  }

  // 7b. Inbound webhooks (docs/webhooks.md): own database connections.
  std::unique_ptr<webhooks::WebhookServer> hooks;
  if (!cfg->webhooks.listen.empty()) {
    auto sources = webhooks::configured_sources(cfg->webhooks, cfg->channels, error);
    if (!error.empty()) {
      spdlog::critical("{}", error);
      return 2;
    }
    hooks = std::make_unique<webhooks::WebhookServer>(io, cfg->webhooks, std::move(sources), cfg->conninfo, metrics);
    // The orders it records explain refused compare-and-sets (sync/core.hpp).
    hooks->notify({[&core](RecordedSale sale) {
                     core.post([sale = std::move(sale)](SyncCore &c) { c.note_recorded_sale(sale); });
                   },
                   [&core](const std::string &channel) {
                     core.post([channel](SyncCore &c) { c.note_channel_restock(channel); });
                   }});
    try {
      auto port = hooks->listen(cfg->webhooks.listen);
      spdlog::info("webhooks on http://{}:{}/webhooks/", cfg->webhooks.listen.substr(0, cfg->webhooks.listen.rfind(':')), port);
    } catch (const std::exception &e) {
      spdlog::critical("cannot listen on {}: {}", cfg->webhooks.listen, e.what());
      return 1;
    }
  }

  // 8. Clean shutdown on SIGTERM/SIGINT.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec)
      return;
    spdlog::info("signal {}: shutting down", sig);
    core.stop();  // answers received so far are written first
    inbound.stop();
    lag_timer.cancel();
    repl.stop();
    server.stop();
    if (hooks)
      hooks->stop();
    for (auto &a : adapters)
      a->shutdown();
    io.stop();
  });

  io.run();
  spdlog::info("stopped");
  return 0;
}
