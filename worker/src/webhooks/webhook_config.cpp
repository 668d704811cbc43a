// [webhooks] of stocksync.toml; see webhook_config.hpp and docs/webhooks.md.
#include "webhooks/webhook_config_toml.hpp"

#include <set>

namespace stocksync::worker {

namespace {

struct Invalid {
  std::string message;
};

[[noreturn]] void invalid(const std::string &key, const std::string &what) {
  throw Invalid{"key \"" + key + "\": " + what};
}

std::int64_t int_in(const toml::table &t, const std::string &prefix, const char *key, std::int64_t fallback,
                    std::int64_t min, std::int64_t max) {
  const toml::node *n = t.get(key);
  if (!n)
    return fallback;
  if (!n->is_integer())
    invalid(prefix + key, "must be an integer");
  std::int64_t v = *n->value<std::int64_t>();
  if (v < min || v > max)
    invalid(prefix + key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

std::string string_in(const toml::table &t, const std::string &prefix, const char *key, std::string fallback) {
  const toml::node *n = t.get(key);
  if (!n)
    return fallback;
  if (!n->is_string())
    invalid(prefix + key, "must be a string");
  return *n->value<std::string>();
}

void only_keys(const toml::table &t, const std::string &prefix, const std::set<std::string> &allowed) {
  for (const auto &[k, v] : t) {
    (void)v;
    if (!allowed.count(std::string(k.str())))
      invalid(prefix + std::string(k.str()), "unknown key");
  }
}

}  // namespace

std::string parse_webhook_config(
    const toml::table &t, WebhookConfig &out,
    const std::function<std::map<std::string, std::string>(const toml::table &, const std::string &)> &resolve_secrets) {
  const std::string p = "webhooks.";
  try {
    only_keys(t, p,
              {"listen", "max_body_bytes", "tolerance_s", "dedupe_window_h", "unpaid_order_ttl_s", "db_connections",
               "batch_max", "queue_limit", "prune_interval_s", "report_interval_s", "sources"});
    out.listen = string_in(t, p, "listen", out.listen);
    if (!out.listen.empty() && out.listen.rfind(':') == std::string::npos)
      invalid(p + "listen", "must be host:port (or empty to disable)");
    out.max_body_bytes = static_cast<std::size_t>(int_in(t, p, "max_body_bytes", static_cast<std::int64_t>(out.max_body_bytes),
                                                         1024, 64 << 20));
    out.tolerance_s = int_in(t, p, "tolerance_s", out.tolerance_s, 1, 86400);
    out.dedupe_window_s = int_in(t, p, "dedupe_window_h", out.dedupe_window_s / 3600, 1, 24 * 365) * 3600;
    out.unpaid_order_ttl_s = int_in(t, p, "unpaid_order_ttl_s", out.unpaid_order_ttl_s, 60, 86400 * 365);
    out.db_connections = static_cast<int>(int_in(t, p, "db_connections", out.db_connections, 1, 64));
    out.batch_max = static_cast<std::size_t>(int_in(t, p, "batch_max", static_cast<std::int64_t>(out.batch_max), 1, 1000));
    out.queue_limit = static_cast<std::size_t>(int_in(t, p, "queue_limit", static_cast<std::int64_t>(out.queue_limit), 1, 1000000));
    out.prune_interval = std::chrono::seconds(int_in(t, p, "prune_interval_s", out.prune_interval.count() / 1000, 1, 86400));
    out.report_interval = std::chrono::seconds(int_in(t, p, "report_interval_s", out.report_interval.count() / 1000, 1, 3600));
    if (const toml::node *n = t.get("sources")) {
      if (!n->is_table())
        invalid(p + "sources", "must be a table of [webhooks.sources.<name>] tables");
      for (const auto &[k, v] : *n->as_table()) {
        std::string name(k.str());
        std::string sp = p + "sources." + name + ".";
        if (!v.is_table())
          invalid(sp.substr(0, sp.size() - 1), "must be a table");
        if (name.empty() || name.size() > 63 ||
            name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
          invalid(sp.substr(0, sp.size() - 1), "a source name is 1..63 characters of a-z, 0-9, _ and -");
        const toml::table &st = *v.as_table();
        only_keys(st, sp, {"kind", "secret", "secret_env", "secret_file", "channel", "location"});
        if (string_in(st, sp, "kind", "standard") != "standard")
          invalid(sp + "kind", "must be \"standard\" (Shopify and WooCommerce come in through their channel's "
                               "credentials.webhook_secret)");
        WebhookSourceConfig s;
        s.name = name;
        toml::table secret;
        for (const char *key : {"secret", "secret_env", "secret_file"})
          if (const toml::node *sn = st.get(key))
            secret.insert(key, *sn);
        auto resolved = resolve_secrets(secret, sp.substr(0, sp.size() - 1));
        if (!resolved.count("secret") || resolved["secret"].empty())
          invalid(sp + "secret", "missing (give secret, secret_env or secret_file: whsec_<base64>)");
        s.secret = resolved["secret"];
        s.channel = string_in(st, sp, "channel", "");
        s.location = string_in(st, sp, "location", "default");
        out.sources.push_back(std::move(s));
      }
    }
  } catch (const Invalid &e) {
    return e.message;
  }
  return "";
}

}  // namespace stocksync::worker
