// OrderPoller; see order_poller.hpp.
#include "orders_in/order_poller.hpp"

#include "adapters/adapter_util.hpp"
#include "http/classify.hpp"
#include "http/rate_defaults.hpp"
#include "http/rate_gate.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

namespace stocksync::worker::orders_in {

namespace {

double real_wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::unique_ptr<RateGate> gate_for(boost::asio::io_context &io, const std::string &kind, const char *op) {
  auto spec = documented_rate(kind, op).value_or(RateSpec{1, 1, "ours"});
  return std::make_unique<RateGate>(io, spec.rate, spec.burst);
}

std::string http_problem(const HttpResponse &r) {
  if (r.transport_failed())
    return r.error;
  return "HTTP " + std::to_string(r.status) + ": " + clip(r.body, 200);
}

}  // namespace

struct OrderPoller::ChannelState {
  Channel ch;
  std::unique_ptr<RateGate> orders_gate;  // getOrders
  std::unique_ptr<RateGate> items_gate;   // Amazon getOrderItems
  std::unique_ptr<boost::asio::steady_timer> timer;
  bool busy = false;
  std::vector<std::function<void(bool)>> waiters;
};

struct OrderPoller::Round {
  ChannelState *cs = nullptr;
  std::optional<double> cursor;
  double start = 0;  // window start
  double bound = 0;  // the cursor after this round
  ApplyCounts counts;
  int pages = 0;
  long long listed = -1;  // WooCommerce: X-WP-Total of the latest page (-1: unknown)
};

bool OrderPoller::polled_kind(const std::string &kind) {
  return kind == "amazon" || kind == "ebay" || kind == "woocommerce";
}

OrderPoller::OrderPoller(boost::asio::io_context &io, PgConn &conn, const PollingConfig &cfg,
                         std::vector<Channel> channels, InboundMetrics &metrics, std::function<double()> wall_now)
    : io_(io), store_(conn, cfg.open_order_ttl_s), cfg_(cfg), metrics_(metrics),
      wall_now_(wall_now ? std::move(wall_now) : real_wall_now) {
  rules_.overlap_s = std::chrono::duration<double>(cfg.overlap).count();
  rules_.initial_lookback_s = std::chrono::duration<double>(cfg.initial_lookback).count();
  for (auto &c : channels) {
    if (!polled_kind(c.cfg.kind) || !c.adapter || !c.adapter->can_get())
      continue;
    auto cs = std::make_unique<ChannelState>();
    cs->orders_gate = gate_for(io, c.cfg.kind, c.cfg.kind == "woocommerce" ? "orders/list" : "getOrders");
    if (c.cfg.kind == "amazon")
      cs->items_gate = gate_for(io, c.cfg.kind, "getOrderItems");
    cs->timer = std::make_unique<boost::asio::steady_timer>(io);
    metrics_.poll[c.cfg.code];
    std::string code = c.cfg.code;
    cs->ch = std::move(c);
    channels_.emplace(code, std::move(cs));
  }
}

OrderPoller::~OrderPoller() { stop(); }

void OrderPoller::start() {
  for (auto &[code, cs] : channels_) {
    spdlog::info("channel {}: polling orders every {} ms", code, cfg_.interval.count());
    schedule(*cs, std::chrono::milliseconds(0));
  }
}

void OrderPoller::stop() {
  stopped_ = true;
  for (auto &[code, cs] : channels_) {
    cs->timer->cancel();
    cs->orders_gate->cancel();
    if (cs->items_gate)
      cs->items_gate->cancel();
  }
}

void OrderPoller::schedule(ChannelState &cs, std::chrono::milliseconds delay) {
  if (stopped_)
    return;
  cs.timer->expires_after(delay);
  std::weak_ptr<char> alive = alive_;
  cs.timer->async_wait([this, alive, &cs](boost::system::error_code ec) {
    if (ec || alive.expired() || stopped_)
      return;
    if (!cs.busy)
      begin_round(cs);
  });
}

void OrderPoller::poll_now(const std::string &channel, std::function<void(bool ok)> done) {
  auto it = channels_.find(channel);
  if (it == channels_.end() || stopped_)
    return done(false);
  it->second->waiters.push_back(std::move(done));
  if (!it->second->busy)
    begin_round(*it->second);
}

void OrderPoller::begin_round(ChannelState &cs) {
  cs.busy = true;
  auto round = std::make_shared<Round>();
  round->cs = &cs;
  const std::string &code = cs.ch.cfg.code;
  try {
    // Orders kept for an unknown listing: the listing may exist now.
    auto waiting = store_.unmatched(code, 100);
    if (!waiting.empty())
      round->counts += store_.apply(code, waiting, std::nullopt);
    round->cursor = store_.cursor(code);
  } catch (const DbError &e) {
    return finish_round(round, false, std::string("database: ") + e.what());
  }
  double now = wall_now_();
  round->start = window_start(round->cursor, now, rules_);
  round->bound = now;  // eBay, WooCommerce: our clock when the round's first request leaves
  if (cs.ch.cfg.kind == "ebay")
    ebay_page(round, 0);
  else if (cs.ch.cfg.kind == "woocommerce")
    woo_page(round, 1);
  else
    amazon_page(round, "");
}

void OrderPoller::finish_round(const std::shared_ptr<Round> &round, bool ok, const std::string &why) {
  ChannelState &cs = *round->cs;
  const std::string &code = cs.ch.cfg.code;
  PollMetrics &m = metrics_.poll[code];
  auto &c = round->counts;
  m.orders["reserved"] += static_cast<std::uint64_t>(c.reserved);
  m.orders["committed"] += static_cast<std::uint64_t>(c.committed);
  m.orders["released"] += static_cast<std::uint64_t>(c.released);
  m.orders["unmatched"] += static_cast<std::uint64_t>(c.unmatched);
  m.orders["skipped"] += static_cast<std::uint64_t>(c.skipped);
  if (c.refused > 0)
    m.orders["refused"] += static_cast<std::uint64_t>(c.refused);
  if (ok) {
    ++m.rounds;
    m.cursor_age_seconds = wall_now_() - advance(round->cursor, round->bound);
    if (c.reserved + c.committed + c.released + c.unmatched + c.refused > 0)
      spdlog::info("channel {}: polled orders: {} reserved, {} committed, {} released, {} unmatched, {} refused, "
                   "{} unchanged",
                   code, c.reserved, c.committed, c.released, c.unmatched, c.refused, c.skipped);
  } else {
    ++m.errors;
    spdlog::warn("channel {}: order poll round failed (cursor kept): {}", code, why);
  }
  try {
    m.unmatched_open = store_.open_unmatched(code);
  } catch (const DbError &) {
  }
  cs.busy = false;
  auto waiters = std::move(cs.waiters);
  cs.waiters.clear();
  for (auto &w : waiters)
    w(ok);
  schedule(cs, cfg_.interval);
}

bool OrderPoller::apply(const std::shared_ptr<Round> &round, const std::vector<PolledOrder> &orders, bool last) {
  try {
    round->counts += store_.apply(round->cs->ch.cfg.code, orders,
                                  last ? std::optional<double>(advance(round->cursor, round->bound)) : std::nullopt);
    return true;
  } catch (const DbError &e) {
    finish_round(round, false, std::string("database: ") + e.what());
    return false;
  }
}

// One order API call through a gate; anything but a 200 ends the round.
void OrderPoller::get(const std::shared_ptr<Round> &round, RateGate &gate, const std::string &path,
                      std::function<void(const HttpResponse &)> on_ok) {
  std::weak_ptr<char> alive = alive_;
  gate.acquire([this, alive, round, &gate, path, on_ok = std::move(on_ok)](bool admitted) {
    if (alive.expired())
      return;
    if (!admitted || stopped_)
      return finish_round(round, false, "stopped");
    ChannelState &cs = *round->cs;
    ++metrics_.poll[cs.ch.cfg.code].requests;
    cs.ch.adapter->authorized_get(
        path, cs.ch.cfg.request_timeout, [this, alive, round, &gate, on_ok](HttpResponse r) {
          if (alive.expired())
            return;
          if (auto rate = amzn_rate_limit(r))
            gate.set_rate(*rate);
          if (r.status == 429) {
            ++metrics_.poll[round->cs->ch.cfg.code].throttled;
            hold_gate(gate, retry_after(r, std::time(nullptr)));
          }
          if (r.status != 200)
            return finish_round(round, false, http_problem(r));
          ++round->pages;
          on_ok(r);
        });
  });
}

void OrderPoller::ebay_page(const std::shared_ptr<Round> &round, long long offset) {
  ChannelState &cs = *round->cs;
  std::string filter = "lastmodifieddate:[" + iso8601_utc(round->start) + "..]";
  std::string path = "/sell/fulfillment/v1/order?filter=" + percent_encode(filter) +
                     "&limit=" + std::to_string(cfg_.ebay_page_size) + "&offset=" + std::to_string(offset);
  get(round, *cs.orders_gate, path, [this, round, offset](const HttpResponse &r) {
    std::string error;
    auto page = parse_ebay_orders(r.body, error);
    if (!page)
      return finish_round(round, false, error);
    long long next = offset + static_cast<long long>(page->orders.size());
    bool last = !page->has_next || page->orders.empty();
    if (!apply(round, page->orders, last))
      return;
    if (last)
      return finish_round(round, true, "");
    ebay_page(round, next);
  });
}

// WooCommerce's catch-up poll (channel-apis.md §4.5, §4.7: a failed webhook
// delivery is never retried, and six in a row disable the webhook).
// - modified_after with dates_are_gmt=true: without it WordPress compares the
//   time with post_modified, the site's local time; a zone-less GMT time is
//   compared as written with post_modified_gmt (a time with a zone would be
//   converted to the site's zone first). One second early (whole seconds,
//   strict "after"): woo_modified_after().
// - Newest modification first (order=desc; WooCommerce adds ID to the sort):
//   an order modified or placed while the round pages goes to page 1, which
//   only shifts the others back (one read twice, none skipped); its new state
//   is after the round's bound, so the next round reads it.
// - An order that leaves the list while the round pages (trashed or deleted)
//   would shift the rest forward and hide one: a smaller X-WP-Total than the
//   first page's ends the round without moving the cursor, and the next round
//   asks for the same window again.
// - _fields keeps a page of 100 orders small (WordPress REST global
//   parameter); they are all the webhook mapping reads.
void OrderPoller::woo_page(const std::shared_ptr<Round> &round, long long page) {
  ChannelState &cs = *round->cs;
  std::string path = "/wp-json/wc/v3/orders?modified_after=" + percent_encode(woo_modified_after(round->start)) +
                     "&dates_are_gmt=true&orderby=modified&order=desc&per_page=" +
                     std::to_string(cfg_.woocommerce_page_size) + "&page=" + std::to_string(page) +
                     "&_fields=" + percent_encode("id,status,date_modified_gmt,line_items");
  get(round, *cs.orders_gate, path, [this, round, page](const HttpResponse &r) {
    std::string error;
    auto orders = parse_woo_orders(r.body, round->cs->ch.cfg.code, cfg_.woocommerce_unpaid_order_ttl_s, error);
    if (!orders)
      return finish_round(round, false, error);
    auto total = woo_header_count(r.header("X-WP-Total"));
    if (page == 1)
      round->listed = total.value_or(-1);
    else if (total && round->listed >= 0 && *total < round->listed)
      return finish_round(round, false,
                          "orders left the list while it was paged (X-WP-Total " + std::to_string(round->listed) +
                              " -> " + std::to_string(*total) + "); the window is asked again");
    else if (total)
      round->listed = *total;
    bool last = woo_last_page(orders->size(), cfg_.woocommerce_page_size, page, r.header("X-WP-TotalPages"));
    try {
      round->counts += store_.ingest(round->cs->ch.cfg.code, *orders,
                                     last ? std::optional<double>(advance(round->cursor, round->bound)) : std::nullopt);
    } catch (const DbError &e) {
      return finish_round(round, false, std::string("database: ") + e.what());
    }
    if (last)
      return finish_round(round, true, "");
    woo_page(round, page + 1);
  });
}

void OrderPoller::amazon_page(const std::shared_ptr<Round> &round, const std::string &next_token) {
  ChannelState &cs = *round->cs;
  std::string mp = option_or(cs.ch.cfg, "marketplace_id", "ATVPDKIKX0DER");
  std::string path = "/orders/v0/orders?MarketplaceIds=" + percent_encode(mp);
  if (next_token.empty())
    path += "&LastUpdatedAfter=" + percent_encode(iso8601_utc(round->start)) +
            "&MaxResultsPerPage=" + std::to_string(cfg_.amazon_page_size);
  else
    path += "&NextToken=" + percent_encode(next_token);
  get(round, *cs.orders_gate, path, [this, round, first = next_token.empty()](const HttpResponse &r) {
    std::string error;
    auto page = parse_amazon_orders(r.body, error);
    if (!page)
      return finish_round(round, false, error);
    if (first) {
      // The bound Amazon applied (its clock, at least two minutes back);
      // without one the cursor stays where it was.
      auto b = page->last_updated_before ? parse_iso8601_utc(*page->last_updated_before) : std::nullopt;
      round->bound = b ? *b : round->cursor.value_or(round->start);
    }
    auto headers = std::make_shared<std::vector<AmazonOrderHeader>>(std::move(page->orders));
    auto acc = std::make_shared<std::vector<PolledOrder>>();
    // Items of every order of the page, then the page is applied.
    amazon_items(round, headers, 0, acc, "", page->next_token.value_or(""));
  });
}

// Order i of the page: a cancellation needs no items (release goes by
// order); any other order gets its items, page by page.
void OrderPoller::amazon_items(const std::shared_ptr<Round> &round,
                               std::shared_ptr<std::vector<AmazonOrderHeader>> headers, std::size_t i,
                               std::shared_ptr<std::vector<PolledOrder>> acc, const std::string &items_token,
                               const std::string &next_page) {
  while (i < headers->size() && items_token.empty() &&
         ((*headers)[i].status == OrderStatus::cancelled || (*headers)[i].status == OrderStatus::ignored)) {
    const auto &h = (*headers)[i];
    acc->push_back(PolledOrder{h.order_ref, h.status, h.last_modified, {}});
    ++i;
  }
  if (i == headers->size()) {
    bool last = next_page.empty();
    if (!apply(round, *acc, last))
      return;
    if (last)
      return finish_round(round, true, "");
    return amazon_page(round, next_page);
  }
  const auto &h = (*headers)[i];
  if (items_token.empty())
    acc->push_back(PolledOrder{h.order_ref, h.status, h.last_modified, {}});
  std::string path = "/orders/v0/orders/" + percent_encode(h.order_ref) + "/orderItems";
  if (!items_token.empty())
    path += "?NextToken=" + percent_encode(items_token);
  get(round, *round->cs->items_gate, path, [this, round, headers, i, acc, next_page](const HttpResponse &r) {
    std::string error;
    auto items = parse_amazon_order_items(r.body, error);
    if (!items)
      return finish_round(round, false, error);
    for (auto &l : items->lines)
      add_line(acc->back().lines, l.listing, l.qty);
    if (items->next_token)
      return amazon_items(round, headers, i, acc, *items->next_token, next_page);
    amazon_items(round, headers, i + 1, acc, "", next_page);
  });
}

}  // namespace stocksync::worker::orders_in
