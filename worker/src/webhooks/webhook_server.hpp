// The inbound webhook server: Boost.Beast on the worker's io_context.
//
//   POST /webhooks/shopify/<channel>       Shopify (X-Shopify-Hmac-Sha256)
//   POST /webhooks/woocommerce/<channel>   WooCommerce (X-WC-Webhook-Signature)
//   POST /webhooks/standard/<source>       Standard Webhooks (webhook-signature)
//
// Per request: the body is read up to webhooks.max_body_bytes (413 above),
// the signature checked and the body mapped on the io_context thread
// (inbound.hpp: microseconds), the event handed to the IngestPool's database
// threads, and the answer written when the pool reports the commit. Plain
// HTTP: TLS is the reverse proxy's job (docs/webhooks.md).
#pragma once

#include "channel_adapter.hpp"
#include "metrics.hpp"
#include "webhooks/inbound.hpp"
#include "webhooks/ingest_pool.hpp"
#include "webhooks/webhook_config.hpp"
#include "webhooks/webhook_metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace stocksync::worker::webhooks {

// The sources the configuration defines: every Shopify or WooCommerce
// channel with credentials.webhook_secret, and every [webhooks.sources.*].
// Sets error (naming the key) and returns {} when a secret is unusable.
std::vector<Source> configured_sources(const WebhookConfig &cfg, const std::vector<ChannelConfig> &channels,
                                       std::string &error);

class WebhookServer {
public:
  WebhookServer(boost::asio::io_context &io, const WebhookConfig &cfg, std::vector<Source> sources,
                const std::string &conninfo, Metrics &metrics, std::function<std::int64_t()> unix_now = {});
  ~WebhookServer();
  // Binds host:port (port 0: any free port), starts accepting and the
  // housekeeping timers; throws on failure. Returns the bound port.
  unsigned short listen(const std::string &address);
  // Stops accepting; database threads finish what they took.
  void stop();

  // Tells the sync core about the channels' orders (inbound.hpp, order_sale):
  // sale after the commit of a new reservation, restock on receipt of a
  // cancellation or refund. Called on the io_context.
  struct OrderNotices {
    std::function<void(RecordedSale)> sale;
    std::function<void(const std::string &channel)> restock;
  };
  void notify(OrderNotices notices) { notices_ = std::move(notices); }

  // Used by the sessions.
  struct Answer {
    int status = 200;
    std::string body;
    bool retry_after = false;
  };
  void handle(const std::string &method, const std::string &target, Delivery delivery,
              std::function<void(Answer)> reply);
  void count_too_large(const std::string &target);
  const WebhookConfig &config() const { return cfg_; }

private:
  void accept();
  void housekeeping(bool prune);
  const Source *find(const std::string &target, std::string &kind_out) const;

  boost::asio::io_context &io_;
  WebhookConfig cfg_;
  Limits limits_;
  std::map<std::pair<SourceKind, std::string>, Source> sources_;
  Metrics &metrics_;
  std::shared_ptr<WebhookMetrics> wm_;
  std::function<std::int64_t()> now_;
  OrderNotices notices_;
  IngestPool pool_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer prune_timer_, report_timer_;
  bool stopped_ = false;
};

}  // namespace stocksync::worker::webhooks
