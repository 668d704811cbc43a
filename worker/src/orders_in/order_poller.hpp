// Order polling for channels without order webhooks: Amazon (SP-API Orders
// v0 getOrders + getOrderItems, channel-apis.md §2.6) and eBay (Fulfillment
// getOrders with the lastmodifieddate filter, §3.5); and WooCommerce's
// catch-up poll beside its webhooks (GET /wp-json/wc/v3/orders with
// modified_after, orderby=modified, pages of per_page <= 100 up to
// X-WP-TotalPages, §4.5), whose orders go through the webhook path's own
// mapping and stocksync.ingest_webhook() (order_mapping.hpp, order_store.hpp).
//
// One round per channel every polling.interval (and on demand from the
// reconciliation, poll_now()):
//   1. unmatched orders of the channel are tried again (a listing may exist now);
//   2. cursor -> window start (poll_cursor.hpp: polled_through - overlap);
//   3. pages are fetched one after another through the channel's rate gates
//      (Amazon getOrders 0.0167/s burst 20, getOrderItems 0.5/s burst 30;
//      eBay getOrders ours 1/s burst 5; WooCommerce orders/list ours 1/s
//      burst 5; a 429 holds the gate for its
//      Retry-After or drains it), each page applied in one transaction
//      (order_store.hpp);
//   4. the last page's transaction also moves the cursor to the round's bound.
// Any error ends the round without moving the cursor; the next round asks
// the same window again. Requests go through the channel adapter's
// authorized_get() (its token, refreshed once on 401/403).
#pragma once

#include "channel_adapter.hpp"
#include "config.hpp"
#include "inbound_metrics.hpp"
#include "orders_in/order_store.hpp"
#include "orders_in/poll_cursor.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace stocksync::worker {
class RateGate;
}

namespace stocksync::worker::orders_in {

class OrderPoller {
public:
  using Channel = AdapterChannel;

  // Whether a channel kind is polled (amazon, ebay, woocommerce).
  static bool polled_kind(const std::string &kind);

  OrderPoller(boost::asio::io_context &io, PgConn &conn, const PollingConfig &cfg, std::vector<Channel> channels,
              InboundMetrics &metrics, std::function<double()> wall_now = {});
  ~OrderPoller();

  // First round of every channel at once, then every interval.
  void start();
  void stop();
  bool polls(const std::string &channel) const { return channels_.count(channel) > 0; }
  // A round for the channel now (or the one running); done(ok) when it ends.
  void poll_now(const std::string &channel, std::function<void(bool ok)> done);

private:
  struct ChannelState;
  struct Round;
  void schedule(ChannelState &cs, std::chrono::milliseconds delay);
  void begin_round(ChannelState &cs);
  void finish_round(const std::shared_ptr<Round> &round, bool ok, const std::string &why);
  void ebay_page(const std::shared_ptr<Round> &round, long long offset);
  void woo_page(const std::shared_ptr<Round> &round, long long page);
  void amazon_page(const std::shared_ptr<Round> &round, const std::string &next_token);
  void amazon_items(const std::shared_ptr<Round> &round, std::shared_ptr<std::vector<AmazonOrderHeader>> headers,
                    std::size_t i, std::shared_ptr<std::vector<PolledOrder>> acc, const std::string &items_token,
                    const std::string &next_page);
  bool apply(const std::shared_ptr<Round> &round, const std::vector<PolledOrder> &orders, bool last);
  void get(const std::shared_ptr<Round> &round, RateGate &gate, const std::string &path,
           std::function<void(const HttpResponse &)> on_ok);

  boost::asio::io_context &io_;
  OrderStore store_;
  PollingConfig cfg_;
  CursorRules rules_;
  InboundMetrics &metrics_;
  std::function<double()> wall_now_;
  std::map<std::string, std::unique_ptr<ChannelState>> channels_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  bool stopped_ = false;
};

}  // namespace stocksync::worker::orders_in
