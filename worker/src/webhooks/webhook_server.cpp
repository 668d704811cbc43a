// The inbound webhook server; see webhook_server.hpp.
#include "webhooks/webhook_server.hpp"

#include "http/listen.hpp"
#include "util/crypto.hpp"
#include "webhooks/woo_secret.hpp"

#include <boost/algorithm/string/case_conv.hpp>
#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <memory>
#include <optional>

namespace stocksync::worker::webhooks {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using nlohmann::json;

namespace {

constexpr std::uint32_t kHeaderLimit = 16384;
const std::string kUnknownSource = "unknown";  // metric label for requests to no configured source

std::string answer_json(json j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

// One connection: read a request (bounded), hand it to the server, write
// its answer, and read the next one on keep-alive.
class Session : public std::enable_shared_from_this<Session> {
public:
  Session(tcp::socket s, WebhookServer &server) : stream_(std::move(s)), server_(server) {}
  void run() { read(); }

private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(server_.config().max_body_bytes);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      // Known from Content-Length before the body is read, or when the
      // chunks pass the limit: 413, and the connection is closed.
      server_.count_too_large(std::string(parser_->get().target()));
      write({413, answer_json({{"error", "too_large"},
                               {"detail", "body over " + std::to_string(server_.config().max_body_bytes) + " bytes"}})},
            false);
      return;
    }
    if (ec == http::error::header_limit) {
      write({431, answer_json({{"error", "headers_too_large"}})}, false);
      return;
    }
    if (ec)
      return;  // closed, timed out or not HTTP: nothing to answer
    auto &req = parser_->get();
    Delivery d;
    for (const auto &f : req) {
      std::string name(f.name_string());
      for (auto &c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      d.headers[name] = std::string(f.value());
    }
    d.body = std::move(req.body());
    bool keep = req.keep_alive();
    server_.handle(std::string(req.method_string()), std::string(req.target()), std::move(d),
                   [self = shared_from_this(), keep](WebhookServer::Answer a) { self->write(std::move(a), keep); });
  }

  void write(WebhookServer::Answer a, bool keep) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(a.status));
    res->set(http::field::content_type, "application/json");
    if (a.retry_after)
      res->set(http::field::retry_after, "5");
    res->keep_alive(keep);
    res->body() = std::move(a.body);
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (!ec && res->keep_alive())
        self->read();
      else {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      }
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  WebhookServer &server_;
};

// The host of a URL, lower-case; "" when it has none.
std::string url_host(const std::string &url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  char *host = nullptr;
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK)
    return "";
  std::string out = boost::algorithm::to_lower_copy(std::string(host));
  curl_free(host);
  return out;
}

// The shop a Shopify channel's deliveries must come from: options.shop_domain,
// else the host of base_url when it is the shop's myshopify.com address (the
// Admin API's), else "" (the configuration must name it).
std::string shopify_shop_domain(const ChannelConfig &ch) {
  if (auto it = ch.options.find("shop_domain"); it != ch.options.end())
    return boost::algorithm::to_lower_copy(it->second);
  std::string host = url_host(ch.base_url);
  return boost::algorithm::ends_with(host, ".myshopify.com") ? host : "";
}

}  // namespace

std::vector<Source> configured_sources(const WebhookConfig &cfg, const std::vector<ChannelConfig> &channels,
                                       std::string &error) {
  std::vector<Source> out;
  for (const auto &ch : channels) {
    auto it = ch.credentials.find("webhook_secret");
    if (it == ch.credentials.end())
      continue;
    Source s;
    s.name = ch.code;
    s.channel = ch.code;
    s.key = it->second;
    if (ch.kind == "shopify") {
      s.kind = SourceKind::shopify;
      s.shop_domain = shopify_shop_domain(ch);
      if (s.shop_domain.empty()) {
        error = "channels." + ch.code + ".options.shop_domain: needed to receive webhooks when base_url is not the "
                "shop's https://<shop>.myshopify.com (deliveries of other shops carry the same signature)";
        return {};
      }
    } else if (ch.kind == "woocommerce") {
      s.kind = SourceKind::woocommerce;
      s.key = wp_specialchars_decode_quotes(s.key);  // as WooCommerce signs with it
    } else {
      error = "channels." + ch.code + ".credentials.webhook_secret: only shopify and woocommerce channels receive "
              "order webhooks; other senders are [webhooks.sources.<name>]";
      return {};
    }
    if (s.key.empty()) {
      error = "channels." + ch.code + ".credentials.webhook_secret: empty";
      return {};
    }
    out.push_back(std::move(s));
  }
  for (const auto &sc : cfg.sources) {
    Source s;
    s.name = sc.name;
    s.kind = SourceKind::standard;
    s.channel = sc.channel;
    s.location = sc.location;
    auto key = std_webhook_key(sc.secret);
    if (!key || key->empty()) {
      error = "webhooks.sources." + sc.name + ".secret: not a whsec_<base64> secret";
      return {};
    }
    s.key = *key;
    out.push_back(std::move(s));
  }
  return out;
}

WebhookServer::WebhookServer(boost::asio::io_context &io, const WebhookConfig &cfg, std::vector<Source> sources,
                             const std::string &conninfo, Metrics &metrics, std::function<std::int64_t()> unix_now)
    : io_(io), cfg_(cfg), metrics_(metrics), wm_(std::make_shared<WebhookMetrics>()), now_(std::move(unix_now)),
      pool_(io, conninfo, cfg.db_connections, cfg.queue_limit, cfg.batch_max), acceptor_(io), prune_timer_(io), report_timer_(io) {
  limits_.tolerance_s = cfg.tolerance_s;
  limits_.dedupe_window_s = cfg.dedupe_window_s;
  limits_.unpaid_order_ttl_s = cfg.unpaid_order_ttl_s;
  limits_.json.max_bytes = cfg.max_body_bytes;
  for (auto &s : sources)
    sources_[{s.kind, s.name}] = std::move(s);
  if (!now_)
    now_ = [] {
      return static_cast<std::int64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    };
  metrics_.sections.push_back([wm = wm_] { return wm->render(); });
}

WebhookServer::~WebhookServer() { stop(); }

unsigned short WebhookServer::listen(const std::string &address) {
  unsigned short port = bind_and_listen(acceptor_, address);
  accept();
  housekeeping(true);
  return port;
}

void WebhookServer::stop() {
  if (stopped_)
    return;
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  prune_timer_.cancel();
  report_timer_.cancel();
  pool_.stop();
}

void WebhookServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
    if (ec)
      return;
    s.set_option(tcp::no_delay(true), ec);
    std::make_shared<Session>(std::move(s), *this)->run();
    accept();
  });
}

// Pruning at start-up and every prune_interval; the unmatched-lines gauge
// every report_interval.
void WebhookServer::housekeeping(bool prune) {
  pool_.housekeeping(prune ? cfg_.dedupe_window_s : 0, [this, wm = wm_](Housekeeping h) {
    if (!h.ok) {
      spdlog::warn("webhooks: housekeeping failed: {}", h.error);
      return;
    }
    wm->pruned += static_cast<std::uint64_t>(h.pruned);
    wm->unmatched_lines = h.unmatched_lines;
    if (h.pruned > 0)
      spdlog::info("webhooks: pruned {} receipts older than {} h", h.pruned, cfg_.dedupe_window_s / 3600);
  });
  auto &timer = prune ? prune_timer_ : report_timer_;
  auto interval = prune ? cfg_.prune_interval : cfg_.report_interval;
  if (prune && report_timer_.expiry() == boost::asio::steady_timer::time_point{})
    housekeeping(false);  // first call: start the report timer too
  timer.expires_after(interval);
  timer.async_wait([this, prune](boost::system::error_code ec) {
    if (!ec && !stopped_)
      housekeeping(prune);
  });
}

const Source *WebhookServer::find(const std::string &target, std::string &kind_out) const {
  // /webhooks/<kind>/<name>[?query]
  std::string path = target.substr(0, target.find('?'));
  const std::string prefix = "/webhooks/";
  if (path.rfind(prefix, 0) != 0)
    return nullptr;
  std::string rest = path.substr(prefix.size());
  auto slash = rest.find('/');
  if (slash == std::string::npos)
    return nullptr;
  kind_out = rest.substr(0, slash);
  auto kind = source_kind(kind_out);
  if (!kind)
    return nullptr;
  auto it = sources_.find({*kind, rest.substr(slash + 1)});
  return it == sources_.end() ? nullptr : &it->second;
}

void WebhookServer::count_too_large(const std::string &target) {
  std::string kind;
  const Source *src = find(target, kind);
  const std::string &name = src ? src->name : kUnknownSource;
  ++wm_->received[name];
  ++wm_->rejected[{name, "too_large"}];
  spdlog::warn("webhooks: {} rejected: 413 too_large (body over {} bytes)", name, cfg_.max_body_bytes);
}

void WebhookServer::handle(const std::string &method, const std::string &target, Delivery delivery,
                           std::function<void(Answer)> reply) {
  auto started = std::chrono::steady_clock::now();
  auto wm = wm_;
  auto finish = [wm, started, reply = std::move(reply)](Answer a) {
    wm->seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    reply(std::move(a));
  };
  std::string kind;
  const Source *src = find(target, kind);
  if (!src) {
    ++wm->received[kUnknownSource];
    ++wm->rejected[{kUnknownSource, "unknown_source"}];
    spdlog::warn("webhooks: rejected: 404 unknown_source ({})", target.substr(0, 200));
    finish({404, answer_json({{"error", "unknown_source"}, {"detail", "no webhook source at this path"}})});
    return;
  }
  const std::string name = src->name;
  ++wm->received[name];
  if (method != "POST") {
    ++wm->rejected[{name, "method"}];
    finish({405, answer_json({{"error", "method"}, {"detail", "only POST"}})});
    return;
  }
  delivery.now = now_();
  Decision d = decide(*src, delivery, limits_);
  if (d.kind == Decision::Kind::reject) {
    ++wm->rejected[{name, d.reason}];
    spdlog::warn("webhooks: {} rejected: {} {}: {}", name, d.status, d.reason, d.detail);
    finish({d.status, answer_json({{"error", d.reason}, {"detail", d.detail}})});
    return;
  }
  if (d.kind == Decision::Kind::ignore) {
    ++wm->ignored[name];
    spdlog::debug("webhooks: {} ignored: {}", name, d.detail);
    finish({200, answer_json({{"status", "ignored"}, {"detail", d.detail}})});
    return;
  }
  std::string event_id = d.ingest->event_id, topic = d.ingest->topic;
  bool order = d.ingest->event.value("action", "") == "order";
  if (notices_.restock && may_restock(*d.ingest))
    notices_.restock(src->channel);
  // A new reservation of a Shopify order: its lines' listings are read on the
  // pool thread, and the sale told to the sync core from the io_context.
  IngestPool::After after;
  if (auto sale = notices_.sale ? order_sale(*src, *d.ingest) : std::nullopt)
    after = [io = &io_, tell = notices_.sale, sale = std::move(*sale),
             lines = d.ingest->event["lines"].dump()](IngestConnection &c, const IngestResult &r) mutable {
      if (r.kind != IngestResult::Kind::applied || !new_reservation(r.outcome))
        return;
      auto listings = order_listings(c, sale.channel, lines);
      if (!listings || listings->size() != sale.lines.size())
        return;  // not counted: the drop is held as before
      for (std::size_t i = 0; i < listings->size(); ++i)
        sale.lines[i].listing = (*listings)[i];
      boost::asio::post(*io, [tell, sale = std::move(sale)] { tell(sale); });
    };
  pool_.ingest(ingest_params(*src, *d.ingest), order, [wm, name, event_id, topic, finish](IngestResult r) {
    if (r.batch > 1)
      ++wm->grouped[name];
    switch (r.kind) {
    case IngestResult::Kind::applied:
      ++wm->applied[{name, r.outcome}];
      if (r.outcome.find("unmatched") != std::string::npos) {
        ++wm->unmatched_orders[name];
        spdlog::warn("webhooks: {} {} {}: order kept with lines for unknown listings (stocksync.unmatched_order_line)",
                     name, topic, event_id);
      }
      if (r.outcome == "paid_after_expiry")
        spdlog::warn("webhooks: {} {} {}: order paid after its hold expired, its units were back in stock; kept in "
                     "stocksync.inbound_exception (reason paid_after_expiry)",
                     name, topic, event_id);
      spdlog::debug("webhooks: {} {} {}: {}", name, topic, event_id, r.outcome);
      finish({200, answer_json({{"status", "applied"}, {"outcome", r.outcome}})});
      return;
    case IngestResult::Kind::duplicate:
      // Already committed: 200 so that the channel stops retrying (a 4xx
      // would make Shopify retry for 4 h and WooCommerce disable the hook).
      ++wm->rejected[{name, "replayed"}];
      spdlog::info("webhooks: {} {} {}: replayed event id, already applied; nothing written", name, topic, event_id);
      finish({200, answer_json({{"status", "duplicate"}, {"detail", "event already applied"}})});
      return;
    case IngestResult::Kind::refused:
      ++wm->refused[{name, r.outcome}];
      spdlog::warn("webhooks: {} {} {}: refused by stocksync ({} {}); kept in stocksync.inbound_exception", name,
                   topic, event_id, r.outcome, r.detail);
      finish({200, answer_json({{"status", "kept"}, {"sqlstate", r.outcome}, {"detail", r.detail}})});
      return;
    case IngestResult::Kind::unavailable:
      ++wm->rejected[{name, "db_unavailable"}];
      spdlog::warn("webhooks: {} {} {}: 503, nothing written: {}", name, topic, event_id, r.detail);
      finish({503, answer_json({{"error", "db_unavailable"}, {"detail", "try again later"}}), true});
      return;
    case IngestResult::Kind::failed:
      ++wm->rejected[{name, "db_error"}];
      spdlog::error("webhooks: {} {} {}: 500, nothing written: {} {}", name, topic, event_id, r.outcome, r.detail);
      finish({500, answer_json({{"error", "db_error"}, {"sqlstate", r.outcome}})});
      return;
    }
  }, std::move(after));
}

}  // namespace stocksync::worker::webhooks
