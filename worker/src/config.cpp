// Loads stocksync.toml with toml++ and checks every key.
//
// Unknown keys are errors (a typo must not silently fall back to a default).
// Secrets are given as `<name> = "literal"`, `<name>_env = "VAR"` or
// `<name>_file = "/path"`; the loader resolves them and never prints a value.
#include "config.hpp"
#include "webhooks/webhook_config_toml.hpp"

#include <toml++/toml.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace stocksync::worker {
namespace {

struct ConfigError {
  std::string message;
};

[[noreturn]] void fail(const std::string &key, const std::string &what) {
  throw ConfigError{"key \"" + key + "\": " + what};
}

// Rejects keys of table t that are not in allowed.
void check_keys(const toml::table &t, const std::string &prefix, const std::set<std::string> &allowed) {
  for (const auto &[k, v] : t) {
    (void)v;
    std::string key(k.str());
    if (!allowed.count(key))
      fail(prefix + key, "unknown key");
  }
}

std::string join(const std::string &prefix, const std::string &key) { return prefix.empty() ? key : prefix + "." + key; }

std::optional<std::string> get_string(const toml::table &t, const std::string &prefix, const std::string &key) {
  const toml::node *n = t.get(key);
  if (!n)
    return std::nullopt;
  if (!n->is_string())
    fail(join(prefix, key), "must be a string");
  return n->value<std::string>();
}

std::optional<std::int64_t> get_int(const toml::table &t, const std::string &prefix, const std::string &key,
                                    std::int64_t min, std::int64_t max) {
  const toml::node *n = t.get(key);
  if (!n)
    return std::nullopt;
  if (!n->is_integer())
    fail(join(prefix, key), "must be an integer");
  std::int64_t v = *n->value<std::int64_t>();
  if (v < min || v > max)
    fail(join(prefix, key), "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

std::optional<double> get_number(const toml::table &t, const std::string &prefix, const std::string &key) {
  const toml::node *n = t.get(key);
  if (!n)
    return std::nullopt;
  if (!n->is_number())
    fail(join(prefix, key), "must be a number");
  double v = *n->value<double>();
  if (v < 0)
    fail(join(prefix, key), "must not be negative");
  return v;
}

std::optional<bool> get_bool(const toml::table &t, const std::string &prefix, const std::string &key) {
  const toml::node *n = t.get(key);
  if (!n)
    return std::nullopt;
  if (!n->is_boolean())
    fail(join(prefix, key), "must be true or false");
  return n->value<bool>();
}

const toml::table *get_table(const toml::table &t, const std::string &prefix, const std::string &key) {
  const toml::node *n = t.get(key);
  if (!n)
    return nullptr;
  if (!n->is_table())
    fail(join(prefix, key), "must be a table");
  return n->as_table();
}

void set_ms(std::chrono::milliseconds &out, const toml::table &t, const std::string &prefix, const std::string &key,
            std::int64_t min = 0) {
  if (auto v = get_int(t, prefix, key, min, 86400000LL * 7))
    out = std::chrono::milliseconds(*v);
}

// Reads a whole file; trailing newlines are stripped (secret files).
std::string read_secret_file(const std::string &key, const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(key, "cannot read file \"" + path + "\"");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.pop_back();
  return s;
}

// Resolves `name`, `name_env` or `name_file` in t into out[name].
void resolve_secrets(const toml::table &t, const std::string &prefix, std::map<std::string, std::string> &out) {
  for (const auto &[k, v] : t) {
    std::string key(k.str());
    std::string full = join(prefix, key);
    if (!v.is_string())
      fail(full, "must be a string");
    std::string value = *v.value<std::string>();
    auto ends = [&](const std::string &suffix) {
      return key.size() > suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    std::string name = key;
    std::string resolved;
    if (ends("_env")) {
      name = key.substr(0, key.size() - 4);
      const char *e = std::getenv(value.c_str());
      if (!e)
        fail(full, "environment variable " + value + " is not set");
      resolved = e;
    } else if (ends("_file")) {
      name = key.substr(0, key.size() - 5);
      resolved = read_secret_file(full, value);
    } else {
      resolved = value;
    }
    if (out.count(name))
      fail(full, "secret \"" + name + "\" is given twice");
    out[name] = resolved;
  }
}

WorkerConfig build(const toml::table &root) {
  WorkerConfig c;
  check_keys(root, "", {"database", "http", "log", "sync", "polling", "reconcile", "channels", "webhooks"});

  const toml::table *db = get_table(root, "", "database");
  if (!db)
    fail("database", "missing: the [database] table with conninfo is required");
  check_keys(*db, "database.",
             {"conninfo", "conninfo_env", "conninfo_file", "slot", "publication", "create_publication",
              "status_interval_ms", "reconnect_min_ms", "reconnect_max_ms"});
  {
    std::map<std::string, std::string> secrets;
    toml::table only;
    for (const char *k : {"conninfo", "conninfo_env", "conninfo_file"})
      if (auto *n = db->get(k))
        only.insert(k, *n);
    resolve_secrets(only, "database", secrets);
    if (!secrets.count("conninfo"))
      fail("database.conninfo", "missing (give conninfo, conninfo_env or conninfo_file)");
    c.conninfo = secrets["conninfo"];
  }
  if (auto s = get_string(*db, "database", "slot")) {
    if (s->empty() || s->size() > 63 ||
        s->find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
      fail("database.slot", "must be 1..63 characters of a-z, 0-9 and _");
    c.slot = *s;
  }
  if (auto s = get_string(*db, "database", "publication")) {
    if (s->empty() || s->size() > 63 ||
        s->find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
      fail("database.publication", "must be 1..63 characters of a-z, 0-9 and _");
    c.publication = *s;
  }
  if (auto b = get_bool(*db, "database", "create_publication"))
    c.create_publication = *b;
  set_ms(c.status_interval, *db, "database", "status_interval_ms", 100);
  set_ms(c.reconnect_min, *db, "database", "reconnect_min_ms", 10);
  set_ms(c.reconnect_max, *db, "database", "reconnect_max_ms", 10);

  if (const toml::table *h = get_table(root, "", "http")) {
    check_keys(*h, "http.", {"listen"});
    if (auto s = get_string(*h, "http", "listen"))
      c.http_listen = *s;
    if (!c.http_listen.empty() && c.http_listen.rfind(':') == std::string::npos)
      fail("http.listen", "must be host:port (or empty to disable)");
  }
  if (const toml::table *l = get_table(root, "", "log")) {
    check_keys(*l, "log.", {"level", "json"});
    if (auto s = get_string(*l, "log", "level")) {
      static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
      if (!levels.count(*s))
        fail("log.level", "must be one of trace, debug, info, warn, error, critical, off");
      c.log_level = *s;
    }
    if (auto b = get_bool(*l, "log", "json"))
      c.log_json = *b;
  }
  if (const toml::table *s = get_table(root, "", "sync")) {
    check_keys(*s, "sync.",
               {"full_diff_interval_ms", "coalescing_window_ms", "expire_holds_interval_ms", "expire_holds_batch",
                "hot_sku_check_interval_ms", "hot_sku_min_waiters", "hot_sku_buckets", "pending_poll_interval_ms",
                "max_attempts", "retry_base_ms", "retry_max_ms", "stale_hold_ms", "max_listings_per_round"});
    set_ms(c.sync.full_diff_interval, *s, "sync", "full_diff_interval_ms", 1000);
    set_ms(c.sync.coalescing_window, *s, "sync", "coalescing_window_ms", 0);
    set_ms(c.sync.expire_holds_interval, *s, "sync", "expire_holds_interval_ms", 0);
    if (auto v = get_int(*s, "sync", "expire_holds_batch", 1, 1000000))
      c.sync.expire_holds_batch = static_cast<int>(*v);
    set_ms(c.sync.hot_sku_check_interval, *s, "sync", "hot_sku_check_interval_ms", 0);
    // At least 2: with 1, any two overlapping updates of a SKU's row would
    // promote it; sessions queueing behind one another is contention.
    if (auto v = get_int(*s, "sync", "hot_sku_min_waiters", 2, 1000000))
      c.sync.hot_sku_min_waiters = static_cast<int>(*v);
    if (auto v = get_int(*s, "sync", "hot_sku_buckets", 1, 256))
      c.sync.hot_sku_buckets = static_cast<int>(*v);
    set_ms(c.sync.pending_poll_interval, *s, "sync", "pending_poll_interval_ms", 100);
    if (auto v = get_int(*s, "sync", "max_attempts", 1, 1000))
      c.sync.max_attempts = static_cast<int>(*v);
    set_ms(c.sync.retry_base, *s, "sync", "retry_base_ms", 1);
    set_ms(c.sync.retry_max, *s, "sync", "retry_max_ms", 1);
    set_ms(c.sync.stale_hold, *s, "sync", "stale_hold_ms", 0);
    if (auto v = get_int(*s, "sync", "max_listings_per_round", 1, 1000000))
      c.sync.max_listings_per_round = static_cast<std::size_t>(*v);
  }

  if (const toml::table *p = get_table(root, "", "polling")) {
    check_keys(*p, "polling.",
               {"enabled", "interval_ms", "overlap_ms", "initial_lookback_ms", "ebay_page_size", "amazon_page_size",
                "woocommerce_page_size", "open_order_ttl_s"});
    if (auto b = get_bool(*p, "polling", "enabled"))
      c.polling.enabled = *b;
    set_ms(c.polling.interval, *p, "polling", "interval_ms", 100);
    set_ms(c.polling.overlap, *p, "polling", "overlap_ms", 0);
    set_ms(c.polling.initial_lookback, *p, "polling", "initial_lookback_ms", 0);
    if (auto v = get_int(*p, "polling", "ebay_page_size", 1, 200))
      c.polling.ebay_page_size = static_cast<int>(*v);
    if (auto v = get_int(*p, "polling", "amazon_page_size", 1, 100))
      c.polling.amazon_page_size = static_cast<int>(*v);
    if (auto v = get_int(*p, "polling", "woocommerce_page_size", 1, 100))
      c.polling.woocommerce_page_size = static_cast<int>(*v);
    if (auto v = get_int(*p, "polling", "open_order_ttl_s", 60, 86400LL * 365))
      c.polling.open_order_ttl_s = *v;
  }
  if (const toml::table *r = get_table(root, "", "reconcile")) {
    check_keys(*r, "reconcile.",
               {"enabled", "interval_ms", "max_correct_units", "settle_ms", "async_settle_ms", "request_poll_ms",
                "poll_orders_first"});
    if (auto b = get_bool(*r, "reconcile", "enabled"))
      c.reconcile.enabled = *b;
    set_ms(c.reconcile.interval, *r, "reconcile", "interval_ms", 1000);
    if (auto v = get_int(*r, "reconcile", "max_correct_units", 0, 1000000))
      c.reconcile.max_correct_units = static_cast<int>(*v);
    set_ms(c.reconcile.settle, *r, "reconcile", "settle_ms", 0);
    set_ms(c.reconcile.async_settle, *r, "reconcile", "async_settle_ms", 0);
    set_ms(c.reconcile.request_poll, *r, "reconcile", "request_poll_ms", 100);
    if (auto b = get_bool(*r, "reconcile", "poll_orders_first"))
      c.reconcile.poll_orders_first = *b;
  }

  if (const toml::table *chs = get_table(root, "", "channels")) {
    for (const auto &[k, v] : *chs) {
      std::string code(k.str());
      std::string prefix = "channels." + code;
      if (!v.is_table())
        fail(prefix, "must be a table");
      const toml::table &t = *v.as_table();
      check_keys(t, prefix + ".",
                 {"kind", "base_url", "batch_size", "rate_per_sec", "burst", "max_in_flight", "request_timeout_ms",
                  "max_attempts", "credentials", "options"});
      ChannelConfig ch;
      ch.code = code;
      auto kind = get_string(t, prefix, "kind");
      if (!kind)
        fail(prefix + ".kind", "missing");
      static const std::set<std::string> kinds{"shopify", "amazon", "ebay", "woocommerce", "webhook"};
      if (!kinds.count(*kind))
        fail(prefix + ".kind", "must be one of shopify, amazon, ebay, woocommerce, webhook");
      ch.kind = *kind;
      // Amazon and eBay have one public endpoint each (the adapter's default);
      // a shop, a WooCommerce site or a webhook consumer has its own address.
      auto url = get_string(t, prefix, "base_url");
      const bool has_public_endpoint = ch.kind == "amazon" || ch.kind == "ebay";
      if (!url && !has_public_endpoint)
        fail(prefix + ".base_url", "missing");
      if (url) {
        if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0)
          fail(prefix + ".base_url", "must start with http:// or https://");
        while (!url->empty() && url->back() == '/')
          url->pop_back();
        ch.base_url = *url;
      }
      if (auto b = get_int(t, prefix, "batch_size", 1, 100000))
        ch.batch_size = static_cast<std::size_t>(*b);
      if (auto r = get_number(t, prefix, "rate_per_sec"))
        ch.rate_per_sec = *r;
      if (auto r = get_number(t, prefix, "burst"))
        ch.burst = *r;
      if (auto m = get_int(t, prefix, "max_in_flight", 1, 64))
        ch.max_in_flight = static_cast<int>(*m);
      if (auto m = get_int(t, prefix, "request_timeout_ms", 1, 600000))
        ch.request_timeout = std::chrono::milliseconds(*m);
      if (auto m = get_int(t, prefix, "max_attempts", 1, 1000))
        c.channel_max_attempts[code] = static_cast<int>(*m);
      if (const toml::table *cr = get_table(t, prefix, "credentials"))
        resolve_secrets(*cr, prefix + ".credentials", ch.credentials);
      if (const toml::table *op = get_table(t, prefix, "options")) {
        for (const auto &[ok, ov] : *op) {
          std::string okey(ok.str());
          if (ov.is_string())
            ch.options[okey] = *ov.value<std::string>();
          else if (ov.is_integer())
            ch.options[okey] = std::to_string(*ov.value<std::int64_t>());
          else if (ov.is_boolean())
            ch.options[okey] = *ov.value<bool>() ? "true" : "false";
          else
            fail(prefix + ".options." + okey, "must be a string, an integer or a boolean");
        }
      }
      c.channels.push_back(std::move(ch));
    }
  }
  if (const toml::table *w = get_table(root, "", "webhooks")) {
    auto secrets = [](const toml::table &t, const std::string &prefix) {
      std::map<std::string, std::string> out;
      resolve_secrets(t, prefix, out);
      return out;
    };
    if (std::string e = parse_webhook_config(*w, c.webhooks, secrets); !e.empty())
      throw ConfigError{e};
  }
  // WooCommerce's catch-up poll holds an unpaid order as its webhook would.
  c.polling.woocommerce_unpaid_order_ttl_s = c.webhooks.unpaid_order_ttl_s;
  if (c.channels.empty())
    fail("channels", "no channel configured (add a [channels.<code>] table per stocksync.channel)");
  return c;
}

}  // namespace

std::optional<WorkerConfig> parse_config(const std::string &text, const std::string &origin, std::string &error) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error &e) {
    std::ostringstream os;
    os << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    error = os.str();
    return std::nullopt;
  }
  try {
    return build(root);
  } catch (const ConfigError &e) {
    error = origin + ": " + e.message;
    return std::nullopt;
  }
}

std::optional<WorkerConfig> load_config(const std::string &path, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open the configuration file";
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path, error);
}

}  // namespace stocksync::worker
