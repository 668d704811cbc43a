// Prometheus text exposition of Metrics.
#include "metrics.hpp"

#include <charconv>
#include <sstream>

namespace stocksync::worker {

std::string prometheus_escape(const std::string &s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"')
      o.push_back('\\');
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o.push_back(c);
  }
  return o;
}

void write_family_header(std::ostream &o, const char *name, const char *type, const char *help) {
  o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

std::string prometheus_number(double v) {
  char buf[32];  // the shortest form of any double takes at most 24
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

std::string Metrics::render() const {
  std::ostringstream o;
  auto channel_label = [](const std::string &c) { return "channel=\"" + prometheus_escape(c) + "\""; };
  // One family per member, whichever buckets its histogram has.
  auto per_channel_histogram = [&](const char *name, const char *help, auto ChannelMetrics::*member) {
    write_family_header(o, name, "histogram", help);
    for (const auto &[c, m] : channels)
      write_histogram(o, name, channel_label(c), m.*member);
  };
  per_channel_histogram("stocksync_ack_lag_seconds", "Commit to channel acknowledgement lag.",
                        &ChannelMetrics::ack_lag_seconds);
  per_channel_histogram("stocksync_batch_size", "Listings per push call.", &ChannelMetrics::batch_size);
  per_channel_histogram("stocksync_push_seconds", "Push calls, from sending to the answer (HTTP included).",
                        &ChannelMetrics::push_seconds);
  per_channel_histogram(
      "stocksync_push_round_trip_seconds",
      "From the sync core handing a push over to it taking the answer (the call and the waits between threads).",
      &ChannelMetrics::push_round_trip_seconds);
  write_family_header(o, "stocksync_sync_db_seconds", "histogram", "The sync core's database calls per round, by step.");
  for (auto [step, h] : {std::pair{"resolve", &sync_steps.resolve}, std::pair{"load", &sync_steps.load},
                         std::pair{"write", &sync_steps.write}})
    write_histogram(o, "stocksync_sync_db_seconds", std::string("step=\"") + step + "\"", *h);
  struct Counter {
    const char *name, *type, *help;
    std::int64_t (*get)(const ChannelMetrics &);
  };
  static const Counter per_channel[] = {
      {"stocksync_pushes_total", "counter", "Push calls sent to the channel.",
       [](const ChannelMetrics &m) { return static_cast<std::int64_t>(m.pushes); }},
      {"stocksync_listings_acked_total", "counter", "Listings the channel acknowledged.",
       [](const ChannelMetrics &m) { return static_cast<std::int64_t>(m.listings_acked); }},
      {"stocksync_throttled_total", "counter", "Throttled responses (429, THROTTLED).",
       [](const ChannelMetrics &m) { return static_cast<std::int64_t>(m.throttled); }},
      {"stocksync_retries_total", "counter", "Listings scheduled for a retry.",
       [](const ChannelMetrics &m) { return static_cast<std::int64_t>(m.retries); }},
      {"stocksync_stale_total", "counter", "Compare-and-set refusals (a sale on the channel).",
       [](const ChannelMetrics &m) { return static_cast<std::int64_t>(m.stale); }},
      {"stocksync_permanent_errors_total", "counter", "Permanent push errors.",
       [](const ChannelMetrics &m) { return static_cast<std::int64_t>(m.permanent_errors); }},
      {"stocksync_dead_total", "counter", "Listings that went to the dead state.",
       [](const ChannelMetrics &m) { return static_cast<std::int64_t>(m.dead); }},
      {"stocksync_shadow_recorded_total", "counter", "Shadow-mode listings recorded instead of pushed.",
       [](const ChannelMetrics &m) { return static_cast<std::int64_t>(m.shadow_recorded); }},
      {"stocksync_dirty_listings", "gauge", "Dirty queue depth (listings waiting for a push).",
       [](const ChannelMetrics &m) { return m.dirty.load(); }},
      {"stocksync_in_flight_listings", "gauge", "Listings in flight.",
       [](const ChannelMetrics &m) { return m.in_flight.load(); }},
  };
  for (const auto &c : per_channel) {
    write_family_header(o, c.name, c.type, c.help);
    for (const auto &[code, m] : channels)
      o << c.name << '{' << channel_label(code) << "} " << c.get(m) << '\n';
  }
  auto scalar = [&](const char *name, const char *type, const char *help, double v) {
    write_family_header(o, name, type, help);
    o << name << ' ' << prometheus_number(v) << '\n';
  };
  scalar("stocksync_changes_decoded_total", "counter", "Row changes decoded from the replication stream.",
         static_cast<double>(changes_decoded));
  scalar("stocksync_transactions_decoded_total", "counter", "Transactions decoded.",
         static_cast<double>(transactions_decoded));
  scalar("stocksync_replication_reconnects_total", "counter", "Replication reconnects.",
         static_cast<double>(replication_reconnects));
  scalar("stocksync_slot_recreated_total", "counter", "Replication slot found missing or invalid and recreated.",
         static_cast<double>(slot_recreated));
  scalar("stocksync_full_diffs_total", "counter", "Full diffs run.", static_cast<double>(full_diffs));
  scalar("stocksync_db_errors_total", "counter", "Database errors.", static_cast<double>(db_errors));
  scalar("stocksync_holds_expired_total", "counter", "Soft holds released by expire_holds().",
         static_cast<double>(holds_expired));
  scalar("stocksync_hot_skus_promoted_total", "counter", "SKUs switched to stock buckets by promote_hot_skus().",
         static_cast<double>(hot_skus_promoted));
  scalar("stocksync_replication_lag_bytes", "gauge", "Server WAL end minus the confirmed flush position.",
         replication_lag_bytes.load());
  scalar("stocksync_replication_lag_seconds", "gauge", "Age of the last decoded commit when it was decoded.",
         replication_lag_seconds.load());
  scalar("stocksync_replication_connected", "gauge", "1 while streaming.", replication_connected ? 1 : 0);
  scalar("stocksync_dirty_skus", "gauge", "SKUs changed and not yet resolved to listings.",
         static_cast<double>(dirty_skus));
  scalar("stocksync_dead_listings", "gauge", "Listings in the dead state (as of the last full diff).",
         static_cast<double>(dead_listings));
  for (const auto &section : sections)
    o << section();
  return o.str();
}

}  // namespace stocksync::worker
