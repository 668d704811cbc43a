// Reconciler; see reconciler.hpp.
#include "reconcile/reconciler.hpp"

#include "orders_in/order_poller.hpp"

#include <spdlog/spdlog.h>

#include <map>

namespace stocksync::worker::reconcile {

struct Reconciler::ChannelState {
  Channel ch;
  std::unique_ptr<LevelReader> reader;
  std::unique_ptr<boost::asio::steady_timer> timer;
  DriftRules rules;
  bool busy = false;
  // Requests that arrived during a run: served by the next one.
  bool again = false;
  std::string again_trigger;
  std::vector<long long> again_requests;
};

struct Reconciler::Run {
  ChannelState *cs = nullptr;
  long long id = 0;
  std::string trigger;
  std::map<std::string, ListingSnapshot> before;
  RunCounts counts;
};

Reconciler::Reconciler(boost::asio::io_context &io, PgConn &conn, const ReconcileConfig &cfg,
                       std::vector<Channel> channels, orders_in::OrderPoller *poller, InboundMetrics &metrics)
    : io_(io), store_(conn), cfg_(cfg), poller_(poller), metrics_(metrics), request_timer_(io) {
  for (auto &c : channels) {
    auto cs = std::make_unique<ChannelState>();
    cs->reader = std::make_unique<LevelReader>(io, c.cfg, c.adapter);
    cs->timer = std::make_unique<boost::asio::steady_timer>(io);
    cs->rules.max_correct_units = cfg.max_correct_units;
    // Amazon applies an accepted PATCH minutes later: compare only after that.
    auto settle = c.cfg.kind == "amazon" ? cfg.async_settle : cfg.settle;
    cs->rules.settle_s = std::chrono::duration<double>(settle).count();
    metrics_.reconcile[c.cfg.code];
    std::string code = c.cfg.code;
    cs->ch = std::move(c);
    channels_.emplace(code, std::move(cs));
  }
}

Reconciler::~Reconciler() { stop(); }

void Reconciler::start() {
  // A channel that cannot be read (webhook) runs only when asked: its runs
  // would only count unreadable listings.
  for (auto &[code, cs] : channels_)
    if (cs->reader->can_read())
      schedule_periodic(*cs);
  poll_requests();
}

void Reconciler::stop() {
  stopped_ = true;
  request_timer_.cancel();
  for (auto &[code, cs] : channels_) {
    cs->timer->cancel();
    cs->reader->stop();
  }
}

void Reconciler::schedule_periodic(ChannelState &cs) {
  cs.timer->expires_after(cfg_.interval);
  std::weak_ptr<char> alive = alive_;
  cs.timer->async_wait([this, alive, &cs](boost::system::error_code ec) {
    if (ec || alive.expired() || stopped_)
      return;
    run(cs.ch.cfg.code, "schedule");
    schedule_periodic(cs);
  });
}

// stocksync.reconcile() requests: taken and run.
void Reconciler::poll_requests() {
  if (stopped_)
    return;
  std::vector<std::string> codes;
  for (auto &[code, cs] : channels_)
    codes.push_back(code);
  try {
    std::map<std::string, std::vector<long long>> by_channel;
    for (auto &[id, channel] : store_.take_requests(codes))
      by_channel[channel].push_back(id);
    for (auto &[channel, ids] : by_channel) {
      spdlog::info("channel {}: reconciliation requested", channel);
      run(channel, "request", ids);
    }
  } catch (const DbError &e) {
    spdlog::warn("reconcile requests: {}", e.what());
  }
  request_timer_.expires_after(cfg_.request_poll);
  std::weak_ptr<char> alive = alive_;
  request_timer_.async_wait([this, alive](boost::system::error_code ec) {
    if (!ec && !alive.expired())
      poll_requests();
  });
}

void Reconciler::run(const std::string &channel, const std::string &trigger, std::vector<long long> requests) {
  auto it = channels_.find(channel);
  if (it == channels_.end() || stopped_)
    return;
  ChannelState &cs = *it->second;
  if (cs.busy) {
    cs.again = true;
    if (cs.again_trigger != "request")
      cs.again_trigger = trigger;
    cs.again_requests.insert(cs.again_requests.end(), requests.begin(), requests.end());
    return;
  }
  begin(cs, trigger, std::move(requests));
}

void Reconciler::begin(ChannelState &cs, const std::string &trigger, std::vector<long long> requests) {
  cs.busy = true;
  auto run = std::make_shared<Run>();
  run->cs = &cs;
  run->trigger = trigger;
  try {
    run->id = store_.start_run(cs.ch.cfg.code, trigger, requests);
  } catch (const DbError &e) {
    spdlog::warn("channel {}: reconciliation not started: {}", cs.ch.cfg.code, e.what());
    ++metrics_.reconcile[cs.ch.cfg.code].errors;
    cs.busy = false;
    return;
  }
  const std::string &code = cs.ch.cfg.code;
  if (cfg_.poll_orders_first && poller_ && poller_->polls(code)) {
    std::weak_ptr<char> alive = alive_;
    poller_->poll_now(code, [this, alive, run](bool ok) {
      if (alive.expired())
        return;
      if (!ok)
        spdlog::warn("channel {}: order poll before reconciliation failed; reading levels anyway",
                     run->cs->ch.cfg.code);
      read_levels(run);
    });
    return;
  }
  read_levels(run);
}

void Reconciler::read_levels(const std::shared_ptr<Run> &run) {
  ChannelState &cs = *run->cs;
  std::vector<std::string> ids;
  try {
    for (auto &s : store_.snapshot(cs.ch.cfg.code)) {
      ids.push_back(s.external_id);
      run->before.emplace(s.external_id, std::move(s));
    }
  } catch (const DbError &e) {
    return finish(run, std::string("database: ") + e.what());
  }
  std::weak_ptr<char> alive = alive_;
  cs.reader->read(std::move(ids), [this, alive, run](std::vector<LevelReading> readings) {
    if (alive.expired())
      return;
    judge_all(run, std::move(readings));
  });
}

void Reconciler::judge_all(const std::shared_ptr<Run> &run, std::vector<LevelReading> readings) {
  ChannelState &cs = *run->cs;
  const std::string &code = cs.ch.cfg.code;
  std::map<std::string, LevelReading> shown;
  for (auto &r : readings)
    shown[r.external_id] = std::move(r);
  RunCounts &c = run->counts;
  try {
    std::vector<std::string> agreeing;
    for (auto &s : store_.snapshot(code)) {
      ++c.listings;
      auto r = shown.find(s.external_id);
      std::optional<int> q = r != shown.end() ? r->second.quantity : std::nullopt;
      auto b = run->before.find(s.external_id);
      // A push moved the listing while it was read: judge it next time.
      Verdict v = b == run->before.end() || b->second.updated_at != s.updated_at ? (q ? Verdict::unsettled : Verdict::unreadable)
                                                                                 : judge(s, q, cs.rules);
      switch (v) {
      case Verdict::agree:
        ++c.agree;
        agreeing.push_back(s.external_id);
        break;
      case Verdict::correct:
        if (store_.correct(run->id, code, s, *q)) {
          ++c.corrected;
          spdlog::info("channel {}: listing {} showed {}, acknowledged {}: corrected (pushing {} again)", code,
                       s.external_id, *q, s.acked_qty.value_or(0), s.desired_qty);
        } else {
          ++c.unsettled;
        }
        break;
      case Verdict::escalate:
        store_.escalate(run->id, code, s, *q);
        ++c.escalated;
        spdlog::warn("channel {}: listing {} showed {}, acknowledged {}: drift above {} units, escalated", code,
                     s.external_id, *q, s.acked_qty.value_or(0), cs.rules.max_correct_units);
        break;
      case Verdict::unsettled:
        ++c.unsettled;
        break;
      case Verdict::unreadable:
        ++c.unreadable;
        if (r != shown.end() && !r->second.error.empty())
          spdlog::debug("channel {}: listing {} unreadable: {}", code, s.external_id, r->second.error);
        break;
      }
    }
    store_.resolve(code, agreeing);
  } catch (const DbError &e) {
    return finish(run, std::string("database: ") + e.what());
  }
  finish(run, "");
}

void Reconciler::finish(const std::shared_ptr<Run> &run, const std::string &error) {
  ChannelState &cs = *run->cs;
  const std::string &code = cs.ch.cfg.code;
  const RunCounts &c = run->counts;
  ReconcileMetrics &m = metrics_.reconcile[code];
  try {
    store_.finish_run(run->id, c, error);
  } catch (const DbError &e) {
    spdlog::warn("channel {}: reconciliation run {} not recorded: {}", code, run->id, e.what());
  }
  if (error.empty()) {
    ++m.runs;
    m.corrected += static_cast<std::uint64_t>(c.corrected);
    m.escalated += static_cast<std::uint64_t>(c.escalated);
    m.accuracy = c.accuracy();
    m.last_run = {{"agree", c.agree},
                  {"drift", c.corrected + c.escalated},
                  {"unsettled", c.unsettled},
                  {"unreadable", c.unreadable}};
    spdlog::info("channel {}: reconciliation {} ({}): {} listings, {} agree, {} corrected, {} escalated, {} unsettled, "
                 "{} unreadable",
                 code, run->id, run->trigger, c.listings, c.agree, c.corrected, c.escalated, c.unsettled,
                 c.unreadable);
  } else {
    ++m.errors;
    spdlog::warn("channel {}: reconciliation {} failed: {}", code, run->id, error);
  }
  cs.busy = false;
  if (cs.again && !stopped_) {
    cs.again = false;
    auto requests = std::move(cs.again_requests);
    cs.again_requests.clear();
    std::string trigger = cs.again_trigger;
    cs.again_trigger.clear();
    begin(cs, trigger, std::move(requests));
  }
}

}  // namespace stocksync::worker::reconcile
