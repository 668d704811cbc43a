// The level-triggered sync core; see core.hpp for the state machine.
#include "sync/core.hpp"

#include "sync/state_overlay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace stocksync::worker {
namespace {

StateWrite state_write(const std::string &channel, const std::string &ext, const char *state) {
  StateWrite w;
  w.channel = channel;
  w.external_id = ext;
  w.state = state;
  return w;
}

double seconds(SteadyTime::duration d) { return std::chrono::duration<double>(d).count(); }

// Records how long a database step of the core took (its histogram, when
// metrics are kept), however the step ends.
class StepTimer {
public:
  StepTimer(const Scheduler &sched, Metrics *metrics, Histogram SyncStepMetrics::*step)
      : sched_(sched), histogram_(metrics ? &(metrics->sync_steps.*step) : nullptr), start_(sched.now()) {}
  ~StepTimer() {
    if (histogram_)
      histogram_->observe(seconds(sched_.now() - start_));
  }
  StepTimer(const StepTimer &) = delete;
  StepTimer &operator=(const StepTimer &) = delete;

private:
  const Scheduler &sched_;
  Histogram *histogram_;
  SteadyTime start_;
};

}  // namespace

Decision decide(const ListingRow &row, WallTime now, std::chrono::milliseconds stale_hold) {
  if (row.mode == "paused")
    return Decision::skip;
  if (row.has_state && row.state == "dead")
    return Decision::skip;
  if (row.mode == "shadow")
    return row.has_state && row.state == "shadow" && row.pushed_qty == row.desired_qty ? Decision::in_sync
                                                                                       : Decision::shadow;
  if (row.has_state && row.state == "retry" && row.retry_at && *row.retry_at > now)
    return Decision::wait_retry;
  // After a push whose answer never arrived (timeout, crash) the channel
  // shows either the acknowledged or the pushed quantity: push again even
  // when desired equals the acknowledged one (compare-and-set then tells
  // which it was).
  bool uncertain = row.state == "retry" || row.state == "in_flight";
  if (row.acked_qty && *row.acked_qty == row.desired_qty && row.state != "shadow" && !uncertain)
    return Decision::in_sync;
  // Hold: the channel refused a compare-and-set because it sold units the
  // ledger had not seen. Until an input newer than that moment arrives (the
  // sale reaching the ledger), an increase would be computed without the sale
  // and erase it. Decreases are always safe.
  if (row.state == "acked" && row.last_error.rfind(kStalePrefix, 0) == 0 && row.acked_qty &&
      row.desired_qty > *row.acked_qty && row.acked_version && row.inputs_version <= *row.acked_version &&
      row.acked_at && now - *row.acked_at < stale_hold)
    return Decision::hold;
  return Decision::push;
}

SyncCore::SyncCore(Scheduler &sched, Database &db, SyncConfig cfg, std::vector<Channel> channels, Metrics *metrics,
                   std::uint64_t seed)
    : sched_(sched), db_(db), cfg_(cfg), metrics_(metrics), rng_(seed) {
  for (auto &c : channels) {
    std::string code = c.cfg.code;
    channel_codes_.push_back(code);
    ChannelState cs;
    cs.bucket = RequestBucket(c.cfg.rate_per_sec, c.cfg.burst > 0 ? c.cfg.burst : std::max(1.0, c.cfg.rate_per_sec),
                            sched_.now(), /*start_empty=*/true);
    cs.ch = std::move(c);
    channels_.emplace(code, std::move(cs));
    if (metrics_)
      metrics_->channel(code);
  }
}

void SyncCore::start() {
  for (auto &[_, cs] : channels_)
    cs.sales.start(sched_.wall_now());  // orders taken before this run never count
  full_diff_ = true;
  kick();
  auto g = gen_;
  sched_.call_at(sched_.now() + cfg_.full_diff_interval, [this, g] {
    if (g == gen_) periodic_full_diff();
  });
  if (cfg_.expire_holds_interval.count() > 0)
    sched_.call_at(sched_.now() + cfg_.expire_holds_interval, [this, g] {
      if (g == gen_) periodic_expire();
    });
  if (cfg_.hot_sku_check_interval.count() > 0)
    sched_.call_at(sched_.now() + cfg_.hot_sku_check_interval, [this, g] {
      if (g == gen_) periodic_promote();
    });
  sched_.call_at(sched_.now() + cfg_.pending_poll_interval, [this, g] {
    if (g == gen_) periodic_revived();
  });
}

void SyncCore::stop() {
  stopped_ = true;
  ++gen_;
}

void SyncCore::flush() {
  if (pending_writes_.empty())
    return;
  try {
    db_.write_states(pending_writes_);
    pending_writes_.clear();
    for (auto &[_, cs] : channels_)
      cs.unwritten.clear();
  } catch (const DbError &) {
    if (metrics_)
      ++metrics_->db_errors;
  }
}

void SyncCore::periodic_full_diff() {
  request_full_diff();
  auto g = gen_;
  sched_.call_at(sched_.now() + cfg_.full_diff_interval, [this, g] {
    if (g == gen_) periodic_full_diff();
  });
}

void SyncCore::periodic_expire() {
  auto delay = cfg_.expire_holds_interval;
  try {
    int n = db_.expire_holds(cfg_.expire_holds_batch);
    if (metrics_)
      metrics_->holds_expired += static_cast<std::uint64_t>(std::max(n, 0));
    if (n >= cfg_.expire_holds_batch)
      delay = std::chrono::milliseconds(100);  // more are waiting
  } catch (const DbError &e) {
    if (metrics_)
      ++metrics_->db_errors;
  }
  auto g = gen_;
  sched_.call_at(sched_.now() + delay, [this, g] {
    if (g == gen_) periodic_expire();
  });
}

// Contended SKUs switch to stock buckets (stocksync.promote_hot_skus). Their
// bucket rows are in the publication, so what follows reaches the core as
// ordinary SKU marks; nothing else changes here.
void SyncCore::periodic_promote() {
  try {
    for (const auto &sku : db_.promote_hot_skus(cfg_.hot_sku_min_waiters, cfg_.hot_sku_buckets)) {
      spdlog::info("hot SKU {} promoted to {} stock buckets (undo: SELECT stocksync.set_hot(sku, 0))", sku,
                   cfg_.hot_sku_buckets);
      if (metrics_)
        ++metrics_->hot_skus_promoted;
    }
    promote_failing_ = false;
  } catch (const DbError &e) {
    if (metrics_)
      ++metrics_->db_errors;
    // Once per run of failures (a missing grant would fail every check).
    if (!promote_failing_)
      spdlog::warn("stocksync.promote_hot_skus() failed: {}", e.what());
    promote_failing_ = true;
  }
  auto g = gen_;
  sched_.call_at(sched_.now() + cfg_.hot_sku_check_interval, [this, g] {
    if (g == gen_) periodic_promote();
  });
}

void SyncCore::periodic_revived() {
  try {
    for (auto &[ch, ext] : db_.revived(channel_codes_)) {
      auto it = channels_.find(ch);
      if (it != channels_.end())
        add_dirty(it->second, ext, std::nullopt);
    }
    kick();
  } catch (const DbError &e) {
    if (metrics_)
      ++metrics_->db_errors;
  }
  auto g = gen_;
  sched_.call_at(sched_.now() + cfg_.pending_poll_interval, [this, g] {
    if (g == gen_) periodic_revived();
  });
}

SyncCore::Awaiting *SyncCore::awaiting(std::uint32_t xid, WallTime t) {
  if (xid == 0)
    return nullptr;
  auto [it, inserted] = awaiting_.try_emplace(xid);
  if (inserted)
    it->second.commit_time = t;
  return &it->second;
}

void SyncCore::mark_sku(const std::string &sku, WallTime t, std::uint32_t xid) {
  auto &marks = xid ? awaiting(xid, t)->skus : dirty_skus_;
  auto [it, inserted] = marks.emplace(sku, t);
  if (!inserted && t < it->second)
    it->second = t;
  kick();
}

void SyncCore::mark_listing(const std::string &channel, const std::string &ext, WallTime t, std::uint32_t xid) {
  auto it = channels_.find(channel);
  if (it == channels_.end())
    return;  // not a channel this worker serves
  if (auto *a = awaiting(xid, t))
    a->listings.emplace_back(channel, ext);
  else
    add_dirty(it->second, ext, t);
  kick();
}

void SyncCore::mark_channel(const std::string &channel, WallTime t, std::uint32_t xid) {
  if (!channels_.count(channel))
    return;
  (xid ? awaiting(xid, t)->channels : dirty_channels_).emplace(channel, t);
  kick();
}

void SyncCore::request_full_diff(std::uint32_t xid) {
  if (auto *a = awaiting(xid, sched_.wall_now()))
    a->full_diff = true;
  else
    full_diff_ = true;
  kick();
}

void SyncCore::note_recorded_sale(const RecordedSale &sale) {
  auto it = channels_.find(sale.channel);
  if (it == channels_.end())
    return;
  ChannelState &cs = it->second;
  auto ended = cs.sales.note(sale, sched_.wall_now(), sched_.now());
  for (const auto &ext : ended)
    add_dirty(cs, ext, std::nullopt);  // its held increase goes out now (prepare_channel)
  if (!ended.empty())
    kick();
}

void SyncCore::note_channel_restock(const std::string &channel) {
  auto it = channels_.find(channel);
  if (it != channels_.end())
    it->second.sales.start(sched_.wall_now());
}

void SyncCore::add_dirty(ChannelState &cs, const std::string &ext, std::optional<WallTime> t) {
  cs.dirty.insert(ext);
  if (t) {
    auto [it, inserted] = cs.first_change.emplace(ext, *t);
    if (!inserted && *t < it->second)
      it->second = *t;
  }
}

std::size_t SyncCore::dirty_count() const {
  std::size_t n = 0;
  for (auto &[_, cs] : channels_)
    n += cs.dirty.size();
  return n;
}

std::size_t SyncCore::in_flight_count() const {
  std::size_t n = 0;
  for (auto &[_, cs] : channels_)
    n += cs.in_flight.size();
  return n;
}

bool SyncCore::idle() const {
  return dirty_count() == 0 && in_flight_count() == 0 && dirty_skus_.empty() && dirty_channels_.empty() &&
         !full_diff_ && awaiting_.empty() && pending_writes_.empty();
}

void SyncCore::kick() {
  if (process_scheduled_ || stopped_)
    return;
  process_scheduled_ = true;
  auto g = gen_;
  auto fn = [this, g] {
    if (g == gen_) process();
  };
  if (cfg_.coalescing_window.count() > 0)
    sched_.call_at(sched_.now() + cfg_.coalescing_window, fn);
  else
    sched_.post(fn);
}

std::string SyncCore::new_key() {
  // A version 4 UUID from the core's seeded generator: deterministic in the
  // simulation; in production the seed comes from the OS.
  std::uniform_int_distribution<std::uint64_t> d;
  std::uint64_t a = d(rng_), b = d(rng_);
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char s[37];
  std::snprintf(s, sizeof s, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return s;
}

std::chrono::milliseconds SyncCore::backoff(int attempts) {
  double d = static_cast<double>(cfg_.retry_base.count());
  for (int i = 1; i < attempts && d < cfg_.retry_max.count(); ++i)
    d *= 2;
  d = std::min(d, static_cast<double>(cfg_.retry_max.count()));
  // Equal jitter: half fixed, half random, so retries of many listings spread out.
  std::uniform_real_distribution<double> u(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(d * u(rng_)));
}

void SyncCore::db_failed(const char *what, const std::exception &e) {
  (void)what;
  (void)e;
  if (metrics_)
    ++metrics_->db_errors;
  ++db_failures_;
  auto delay = std::min<long long>(cfg_.retry_max.count(), 100LL << std::min(db_failures_, 7));
  db_retry_at_ = sched_.now() + std::chrono::milliseconds(delay);
  auto g = gen_;
  sched_.call_at(db_retry_at_, [this, g] {
    if (g == gen_) kick();
  });
}

SteadyTime SyncCore::to_steady(WallTime t) const {
  return sched_.now() + std::chrono::duration_cast<SteadyTime::duration>(t - sched_.wall_now());
}

void SyncCore::process() {
  process_scheduled_ = false;
  if (stopped_)
    return;
  if (sched_.now() < db_retry_at_)
    return;  // db_failed() scheduled the next try
  if (release_visible() && resolve_marks())
    push_round();
  update_gauges();
}

// One round: the answers received since the last round and every channel's
// new in_flight writes in one statement (one commit), then the pushes.
void SyncCore::push_round() {
  std::vector<StateWrite> writes = std::move(pending_writes_);
  pending_writes_.clear();
  std::vector<Prepared> ready;
  bool deferred = false;
  try {
    // Every channel's candidates in one query, then each channel decides.
    std::vector<ListingKey> keys;
    std::map<std::string, std::vector<std::string>> picked;
    for (auto &[code, cs] : channels_) {
      auto ids = pick(cs, deferred);
      for (auto &id : ids)
        keys.emplace_back(code, id);
      if (!ids.empty())
        picked.emplace(code, std::move(ids));
    }
    std::map<std::string, std::vector<ListingRow>> rows;
    if (!keys.empty()) {
      try {
        StepTimer timer(sched_, metrics_, &SyncStepMetrics::load);
        for (auto &row : db_.load_keys(keys))
          rows[row.channel].push_back(std::move(row));
      } catch (const DbError &) {
        for (auto &[code, ids] : picked)
          channels_.at(code).dirty.insert(ids.begin(), ids.end());
        throw;
      }
    }
    see_unwritten_answers(rows, writes);
    for (auto &[code, r] : rows)
      deferred = prepare_channel(channels_.at(code), std::move(r), writes, ready) || deferred;
    writes = fold_writes(std::move(writes));
    if (!writes.empty()) {
      StepTimer timer(sched_, metrics_, &SyncStepMetrics::write);
      db_.write_states(writes);
    }
  } catch (const DbError &e) {
    // The answers are lost; push again (compare-and-set turns a repeat into
    // a stale answer carrying the channel's quantity, never a double apply).
    // The prepared pushes never left: dirty again.
    for (auto &[_, cs] : channels_) {
      for (auto &[ext, fc] : cs.unwritten)
        add_dirty(cs, ext, fc);
      cs.unwritten.clear();
    }
    for (auto &p : ready)
      for (auto &f : p.batch)
        add_dirty(*p.cs, f.row.external_id, f.first_change);
    for (auto &w : writes)  // in_sync and shadow records too: decided again
      if (auto it = channels_.find(w.channel); it != channels_.end())
        add_dirty(it->second, w.external_id, std::nullopt);
    db_failed("round", e);
    return;
  }
  for (auto &[_, cs] : channels_)
    cs.unwritten.clear();
  for (auto &p : ready)
    dispatch(*p.cs, std::move(p.batch));
  if (deferred)
    kick();  // listings held back (round full): next round
}

// The answers of this round's statement (writes, not yet written) as the
// loaded rows of their listings will read once it is: a listing changed again
// while its push was out is decided now, not after a round that only writes
// the answer. An answer the statement would ignore (older than the stored
// acknowledgement) is dropped instead.
void SyncCore::see_unwritten_answers(std::map<std::string, std::vector<ListingRow>> &rows,
                                     std::vector<StateWrite> &writes) {
  std::map<std::pair<std::string, std::string>, ListingRow *> loaded;
  for (auto &[code, channel_rows] : rows)
    for (auto &row : channel_rows)
      loaded[{row.channel, row.external_id}] = &row;
  auto wall = sched_.wall_now();
  std::vector<StateWrite> kept;
  kept.reserve(writes.size());
  for (auto &w : writes) {
    if (auto it = loaded.find({w.channel, w.external_id}); it != loaded.end()) {
      if (!write_applies(*it->second, w))
        continue;  // the statement would ignore it
      apply_write(*it->second, w, wall);
    }
    kept.push_back(std::move(w));
  }
  writes = std::move(kept);
}

// Moves the marks of decoded transactions that our queries can see now into
// the dirty sets, and every visible dirty SKU's listings with them, in one
// statement (Database::resolve); the others wait (rule in core.hpp). False on
// a database error (db_failed() schedules the next try; nothing is lost:
// nothing moves before the statement answered).
bool SyncCore::release_visible() {
  if (awaiting_.empty() && dirty_skus_.empty())
    return true;
  std::vector<std::uint32_t> xids;
  std::vector<SkuMark> skus;
  for (auto &[x, a] : awaiting_) {
    xids.push_back(x);
    for (auto &[sku, _] : a.skus)
      skus.emplace_back(sku, x);
  }
  for (auto &[sku, _] : dirty_skus_)
    skus.emplace_back(sku, 0);
  Resolved resolved;
  try {
    StepTimer timer(sched_, metrics_, &SyncStepMetrics::resolve);
    resolved = db_.resolve(xids, skus, channel_codes_);
  } catch (const DbError &e) {
    db_failed("resolve", e);
    return false;
  }
  std::set<std::uint32_t> still(resolved.running.begin(), resolved.running.end());
  std::optional<std::chrono::milliseconds> next;
  for (auto it = awaiting_.begin(); it != awaiting_.end();) {
    if (!still.count(it->first)) {
      release(it->second);
      it = awaiting_.erase(it);
      continue;
    }
    next = next ? std::min(*next, it->second.delay) : it->second.delay;
    it->second.delay = std::min(it->second.delay * 2, std::chrono::milliseconds(100));
    ++it;
  }
  // dirty_skus_ now holds exactly the SKUs the statement saw as visible.
  // Every listing gets its own SKU's earliest unpushed commit time (the
  // commit-to-acknowledge lag is measured from it).
  for (auto &l : resolved.listings)
    if (auto it = channels_.find(l.channel); it != channels_.end()) {
      auto t = dirty_skus_.find(l.sku);
      add_dirty(it->second, l.external_id,
                t != dirty_skus_.end() ? std::optional<WallTime>(t->second) : std::nullopt);
    }
  dirty_skus_.clear();
  if (next)
    schedule_visibility_check(*next);
  return true;
}

// A round after `delay` looks at the held transactions again (one timer for
// the earliest such look).
void SyncCore::schedule_visibility_check(std::chrono::milliseconds delay) {
  auto t = sched_.now() + delay;
  if (visibility_check_at_ != SteadyTime{} && t >= visibility_check_at_)
    return;
  visibility_check_at_ = t;
  auto g = gen_;
  sched_.call_at(t, [this, g, t] {
    if (g != gen_)
      return;
    if (visibility_check_at_ == t)
      visibility_check_at_ = SteadyTime{};
    kick();
  });
}

void SyncCore::release(Awaiting &a) {
  for (auto &[sku, t] : a.skus) {
    auto [it, inserted] = dirty_skus_.emplace(sku, t);
    if (!inserted && t < it->second)
      it->second = t;
  }
  for (auto &[ch, ext] : a.listings)
    add_dirty(channels_.at(ch), ext, a.commit_time);
  for (auto &[ch, t] : a.channels)
    dirty_channels_.emplace(ch, t);
  if (a.full_diff)
    full_diff_ = true;
}

bool SyncCore::resolve_marks() {
  try {
    if (full_diff_) {
      auto keys = db_.diff(channel_codes_);
      for (auto &[ch, ext] : keys)
        if (auto it = channels_.find(ch); it != channels_.end())
          add_dirty(it->second, ext, std::nullopt);
      if (metrics_) {
        ++metrics_->full_diffs;
        metrics_->dead_listings = db_.count_dead(channel_codes_);
      }
      full_diff_ = false;
    }
    while (!dirty_channels_.empty()) {
      auto it = dirty_channels_.begin();
      auto keys = db_.listings_of_channel(it->first);
      auto &cs = channels_.at(it->first);
      for (auto &[ch, ext] : keys)
        add_dirty(cs, ext, it->second);
      dirty_channels_.erase(it);
    }
    db_failures_ = 0;
    return true;
  } catch (const DbError &e) {
    db_failed("resolve", e);
    return false;
  }
}

void SyncCore::schedule_wake(ChannelState &cs, SteadyTime t) {
  if (cs.wake_scheduled && cs.wake_at <= t)
    return;
  cs.wake_scheduled = true;
  cs.wake_at = t;
  auto g = gen_;
  std::string code = cs.ch.cfg.code;
  sched_.call_at(t, [this, g, code] {
    if (g != gen_)
      return;
    auto &c = channels_.at(code);
    auto now = sched_.now();
    if (c.wake_scheduled && c.wake_at > now)
      return;  // a later timer superseded by an earlier one that already ran
    c.wake_scheduled = false;
    std::optional<SteadyTime> next;
    for (auto it = c.wake.begin(); it != c.wake.end();) {
      if (it->second <= now) {
        c.dirty.insert(it->first);
        it = c.wake.erase(it);
      } else {
        next = next ? std::min(*next, it->second) : it->second;
        ++it;
      }
    }
    if (next)
      schedule_wake(c, *next);
    kick();
  });
}

void SyncCore::schedule_listing(ChannelState &cs, const std::string &ext, SteadyTime t) {
  auto [it, inserted] = cs.wake.emplace(ext, t);
  if (!inserted)
    it->second = std::min(it->second, t);
  schedule_wake(cs, it->second);
}

// The channel's limits for this round.
SyncCore::Limits SyncCore::limits(const ChannelState &cs) const {
  ChannelAdapter *ad = cs.ch.adapter;
  Limits l;
  l.max_in_flight = std::max<std::size_t>(1, ad ? ad->max_in_flight() : 1);
  l.max_batch = std::max<std::size_t>(1, ad ? ad->max_batch() : 1);
  if (cs.ch.cfg.batch_size > 0)
    l.max_batch = std::min(l.max_batch, cs.ch.cfg.batch_size);
  l.cas = ad && ad->compare_and_set();
  l.one_key_per_call = ad && ad->one_key_per_call();
  return l;
}

// Takes the channel's candidates for this round out of its dirty set: dirty,
// not in flight (those wait for their answer), answer written; none while
// the channel is paused, out of tokens or out of push slots. Sets
// more = true when the round's limit left candidates behind.
std::vector<std::string> SyncCore::pick(ChannelState &cs, bool &more) {
  Limits lim = limits(cs);
  auto now = sched_.now();
  if (cs.dirty.empty() || cs.batches_in_flight >= lim.max_in_flight)
    return {};
  if (now < cs.paused_until) {
    schedule_wake(cs, cs.paused_until);
    return {};
  }
  auto token_at = cs.bucket.next_token(now);
  if (token_at > now) {
    schedule_wake(cs, token_at);
    return {};
  }
  // As many as the free push slots can take, with room for those that turn
  // out in sync: a channel with a backlog (Amazon, one listing per call) must
  // not make every round load a thousand rows it cannot push, which slowed
  // the rounds of every other channel.
  std::size_t slots = lim.max_in_flight - cs.batches_in_flight;
  std::size_t limit = std::min(cfg_.max_listings_per_round, std::max<std::size_t>(16, lim.max_batch * slots * 4));
  std::vector<std::string> ids;
  for (auto it = cs.dirty.begin(); it != cs.dirty.end();) {
    if (cs.in_flight.count(*it)) {
      ++it;
      continue;
    }
    if (ids.size() >= limit) {
      more = true;
      break;
    }
    ids.push_back(*it);
    it = cs.dirty.erase(it);
  }
  return ids;
}

// Decides the loaded rows of one channel: orders and batches the pushes,
// takes tokens; appends their in_flight writes (and in_sync/shadow writes)
// to writes and the batches to ready. What does not fit stays dirty (true:
// some did not fit).
bool SyncCore::prepare_channel(ChannelState &cs, std::vector<ListingRow> rows, std::vector<StateWrite> &writes,
                               std::vector<Prepared> &ready) {
  Limits lim = limits(cs);
  std::size_t max_batch = lim.max_batch;
  bool cas = lim.cas;
  std::size_t slots = lim.max_in_flight - std::min(lim.max_in_flight, cs.batches_in_flight);
  ChannelMetrics *m = metrics_ ? &metrics_->channel(cs.ch.cfg.code) : nullptr;
  auto now = sched_.now();
  auto wall = sched_.wall_now();
  std::vector<InFlight> pushes;
  for (auto &row : rows) {
    if (row.last_error.rfind(kReconcilePrefix, 0) == 0)
      cs.sales.reconciled(row.external_id, wall);  // its acknowledged quantity is what the channel showed
    if (cs.sales.take_hold_ended(row.external_id) && row.last_error.rfind(kStalePrefix, 0) == 0)
      row.last_error = kExplainedStalePrefix + row.last_error.substr(std::strlen(kStalePrefix));  // no hold
    Decision d = decide(row, wall, cfg_.stale_hold);
    auto fc = cs.first_change.find(row.external_id);
    switch (d) {
    case Decision::skip:
      if (fc != cs.first_change.end())
        cs.first_change.erase(fc);
      break;
    case Decision::in_sync:
      if (row.has_state && row.state != "acked" && row.state != "shadow") {
        StateWrite w = state_write(row.channel, row.external_id, "acked");
        w.attempts = 0;
        w.last_error = row.last_error.rfind(kStalePrefix, 0) == 0 ? row.last_error : "";
        writes.push_back(std::move(w));
      }
      if (fc != cs.first_change.end())
        cs.first_change.erase(fc);
      break;
    case Decision::shadow: {
      StateWrite w = state_write(row.channel, row.external_id, "shadow");
      w.pushed_qty = row.desired_qty;
      writes.push_back(std::move(w));
      if (m)
        ++m->shadow_recorded;
      if (fc != cs.first_change.end())
        cs.first_change.erase(fc);
      break;
    }
    case Decision::wait_retry:
      schedule_listing(cs, row.external_id, to_steady(*row.retry_at));
      break;
    case Decision::hold:
      schedule_listing(cs, row.external_id, to_steady(*row.acked_at + cfg_.stale_hold));
      break;
    case Decision::push: {
      InFlight f;
      if (fc != cs.first_change.end())
        f.first_change = fc->second;
      f.row = std::move(row);
      pushes.push_back(std::move(f));
      break;
    }
    }
  }
  // Decreases first: a unit sold out must disappear everywhere before
  // freed units appear anywhere. Within each group, biggest change first.
  std::stable_sort(pushes.begin(), pushes.end(), [](const InFlight &a, const InFlight &b) {
    auto dec = [](const InFlight &f) { return f.row.acked_qty && f.row.desired_qty < *f.row.acked_qty; };
    auto delta = [](const InFlight &f) { return f.row.desired_qty - f.row.acked_qty.value_or(0); };
    if (dec(a) != dec(b))
      return dec(a);
    return dec(a) ? delta(a) < delta(b) : false;
  });
  // The quantity a push sends: after a lost reply on a compare-and-set
  // channel, first repeat the uncertain push itself (same variables, same
  // key): the channel answers with the original result, so a later push never
  // compares against a value the channel passed through (A-B-A).
  auto quantity_to_push = [cas](const ListingRow &row) {
    if (cas && (row.state == "retry" || row.state == "in_flight") && row.pushed_qty && row.pushed_qty != row.acked_qty)
      return *row.pushed_qty;
    return row.desired_qty;
  };
  // Idempotency: a true retry (the listing's last attempt pushed the same
  // quantity against the same acknowledged one and got no definite answer)
  // reuses that attempt's key, stored with the state, so the channel answers
  // with the original result instead of applying it again, also after a
  // crash. Any other push gets a fresh key: a distinct operation must not be
  // answered from an old one.
  auto retry_key = [&](const ListingRow &row) -> const std::string * {
    bool true_retry = (row.state == "retry" || row.state == "in_flight") && !row.push_key.empty() &&
                      row.pushed_qty == quantity_to_push(row);
    return true_retry ? &row.push_key : nullptr;
  };
  // A channel that keys whole calls: the uncertain calls' listings go first,
  // each call's together, so that each is retried under its own key.
  if (lim.one_key_per_call)
    std::stable_sort(pushes.begin(), pushes.end(), [&](const InFlight &a, const InFlight &b) {
      const std::string *ka = retry_key(a.row), *kb = retry_key(b.row);
      if (!ka || !kb)
        return ka && !kb;
      return *ka < *kb;
    });
  std::vector<std::vector<InFlight>> batches;
  std::size_t used = 0;
  while (used < pushes.size() && batches.size() < slots && cs.bucket.try_take(now)) {
    std::size_t n = std::min(max_batch, pushes.size() - used);
    if (lim.one_key_per_call) {
      // A call never mixes listings of different keys (or retries and fresh pushes).
      const std::string *first = retry_key(pushes[used].row);
      std::size_t same = 1;
      while (same < n) {
        const std::string *k = retry_key(pushes[used + same].row);
        if ((first == nullptr) != (k == nullptr) || (first && *first != *k))
          break;
        ++same;
      }
      n = same;
    }
    batches.emplace_back(std::make_move_iterator(pushes.begin() + static_cast<long>(used)),
                         std::make_move_iterator(pushes.begin() + static_cast<long>(used + n)));
    used += n;
  }
  // What does not fit now stays dirty and is read again (fresh) next round.
  for (std::size_t i = used; i < pushes.size(); ++i)
    cs.dirty.insert(pushes[i].row.external_id);
  for (auto &b : batches) {
    std::string call_key;
    if (lim.one_key_per_call) {
      const std::string *k = retry_key(b.front().row);
      call_key = k ? *k : new_key();
    }
    for (auto &f : b) {
      cs.first_change.erase(f.row.external_id);
      ListingPush &p = f.push;
      p.external_id = f.row.external_id;
      p.sku = f.row.sku;
      p.desired_qty = quantity_to_push(f.row);
      p.previous_acked_qty = f.row.acked_qty;
      p.inputs_version = f.row.inputs_version;
      p.attempt = f.row.attempts + 1;
      if (lim.one_key_per_call) {
        p.idempotency_key = call_key;
      } else {
        const std::string *k = retry_key(f.row);
        p.idempotency_key = k ? *k : new_key();
      }
      StateWrite w = state_write(f.row.channel, f.row.external_id, "in_flight");
      w.pushed_qty = p.desired_qty;
      w.push_key = p.idempotency_key;
      w.attempts = f.row.attempts;
      w.last_error = f.row.last_error;
      writes.push_back(std::move(w));
    }
  }
  for (auto &b : batches)
    ready.push_back(Prepared{&cs, std::move(b)});
  return used < pushes.size();
}

void SyncCore::dispatch(ChannelState &cs, std::vector<InFlight> batch) {
  std::vector<ListingPush> pushes;
  pushes.reserve(batch.size());
  for (auto &f : batch) {
    cs.in_flight.insert(f.row.external_id);
    pushes.push_back(f.push);
  }
  ++cs.batches_in_flight;
  if (metrics_) {
    auto &m = metrics_->channel(cs.ch.cfg.code);
    ++m.pushes;
    m.batch_size.observe(static_cast<double>(batch.size()));
  }
  auto g = gen_;
  std::string code = cs.ch.cfg.code;
  if (!cs.ch.adapter) {
    std::vector<PushResult> rs;
    for (auto &p : pushes)
      rs.push_back(PushResult{p.external_id, PushOutcome::permanent, 0, std::nullopt, std::nullopt, false, false, true,
                              "no adapter for this channel", std::nullopt});
    sched_.post([this, g, code, batch = std::move(batch), rs = std::move(rs)]() mutable {
      on_results(g, code, std::move(batch), std::move(rs));
    });
    return;
  }
  cs.ch.adapter->push(std::move(pushes), [this, g, code, batch = std::move(batch),
                                            sent = sched_.now()](std::vector<PushResult> rs) mutable {
    if (metrics_ && g == gen_)
      metrics_->channel(code).push_round_trip_seconds.observe(seconds(sched_.now() - sent));
    on_results(g, code, std::move(batch), std::move(rs));
  });
}

void SyncCore::on_results(std::uint64_t g, const std::string &code, std::vector<InFlight> batch,
                          std::vector<PushResult> results) {
  if (g != gen_ || stopped_)
    return;
  auto &cs = channels_.at(code);
  --cs.batches_in_flight;
  for (auto &f : batch)
    cs.in_flight.erase(f.row.external_id);
  std::map<std::string, PushResult *> by_id;
  for (auto &r : results)
    by_id[r.external_id] = &r;
  auto now = sched_.now();
  auto wall = sched_.wall_now();
  ChannelMetrics *m = metrics_ ? &metrics_->channel(code) : nullptr;
  bool cas = limits(cs).cas;
  std::vector<StateWrite> writes;
  std::vector<std::pair<InFlight *, int>> stale;  // listing, channel quantity
  bool throttled = false;
  std::optional<std::chrono::milliseconds> channel_retry_after;
  int max_attempts = cs.ch.max_attempts;
  for (auto &f : batch) {
    const std::string &ext = f.row.external_id;
    PushResult missing{ext, PushOutcome::retryable, 0, std::nullopt, std::nullopt, false, false, true,
                       "adapter returned no result for this listing", std::nullopt};
    PushResult &r = by_id.count(ext) ? *by_id[ext] : missing;
    if (r.outcome == PushOutcome::stale && !r.channel_qty) {
      r.outcome = PushOutcome::retryable;
      r.message = "stale compare-and-set, channel quantity unknown: " + r.message;
    }
    switch (r.outcome) {
    case PushOutcome::acked: {
      StateWrite w = state_write(f.row.channel, ext, "acked");
      w.set_acked = true;
      w.acked_qty = r.acked_qty;
      w.acked_version = f.row.inputs_version;
      w.pushed_qty = f.push.desired_qty;
      writes.push_back(std::move(w));
      if (f.push.desired_qty != f.row.desired_qty)
        add_dirty(cs, ext, f.first_change);  // that was the uncertain repeat: now push the desired one
      if (cas)
        cs.sales.accepted(ext, f.push.previous_acked_qty.has_value(), wall);
      if (m) {
        ++m->listings_acked;
        if (f.first_change)
          m->ack_lag_seconds.observe(
              std::max(0.0, std::chrono::duration<double>(r.received_at.value_or(wall) - *f.first_change).count()));
      }
      break;
    }
    case PushOutcome::stale:
      stale.emplace_back(&f, *r.channel_qty);
      if (m)
        ++m->stale;
      break;
    case PushOutcome::retryable: {
      if (r.throttled) {
        throttled = true;
        if (r.retry_after)
          channel_retry_after = std::max(channel_retry_after.value_or(std::chrono::milliseconds(0)), *r.retry_after);
      }
      int attempts = f.row.attempts + (r.counts_as_attempt && !r.throttled ? 1 : 0);
      if (attempts >= max_attempts) {
        StateWrite w = state_write(f.row.channel, ext, "dead");
        w.attempts = attempts;
        w.last_error = r.message.empty() ? "retryable error" : r.message;
        writes.push_back(std::move(w));
        if (m)
          ++m->dead;
        break;
      }
      auto delay = attempts > f.row.attempts ? backoff(attempts) : std::chrono::milliseconds(0);
      if (r.retry_after)
        delay = std::max(delay, *r.retry_after);
      StateWrite w = state_write(f.row.channel, ext, "retry");
      w.attempts = attempts;
      w.last_error = r.message.empty() ? "retryable error" : r.message;
      w.retry_at = wall + delay;
      w.pushed_qty = f.push.desired_qty;
      w.push_key = f.push.idempotency_key;
      writes.push_back(std::move(w));
      if (f.first_change)
        add_dirty(cs, ext, f.first_change), cs.dirty.erase(ext);  // keep the change time for the lag
      schedule_listing(cs, ext, now + delay);
      if (m)
        ++m->retries;
      break;
    }
    case PushOutcome::permanent: {
      StateWrite w = state_write(f.row.channel, ext, "dead");
      w.attempts = f.row.attempts + 1;
      w.last_error = r.message.empty() ? "permanent error" : r.message;
      writes.push_back(std::move(w));
      if (m) {
        ++m->permanent_errors;
        ++m->dead;
      }
      break;
    }
    }
  }
  if (throttled) {
    if (m)
      ++m->throttled;
    cs.bucket.drain(now);
    if (channel_retry_after)
      cs.paused_until = std::max(cs.paused_until, now + *channel_retry_after);
  }
  try {
    if (!stale.empty()) {
      // Take the channel's quantity as acknowledged, stamped with the inputs
      // version of *now* (after the channel sold): the hold rule in decide()
      // then refuses any increase computed from inputs not newer than this,
      // unless recorded sales explain the drop (core.hpp: no hold then).
      std::vector<std::string> ids;
      for (auto &[f, q] : stale)
        ids.push_back(f->row.external_id);
      std::map<std::string, std::int64_t> fresh;
      for (auto &row : db_.load(code, ids))
        fresh[row.external_id] = row.inputs_version;
      for (auto &[f, q] : stale) {
        StateWrite w = state_write(f->row.channel, f->row.external_id, "acked");
        w.set_acked = true;
        w.acked_qty = q;
        auto it = fresh.find(f->row.external_id);
        w.acked_version = std::max(f->row.inputs_version, it == fresh.end() ? 0 : it->second);
        std::string shown = "channel showed " + std::to_string(q) + " instead of " +
                            (f->row.acked_qty ? std::to_string(*f->row.acked_qty) : std::string("unknown"));
        // The push before this one got no answer: the channel may have
        // applied it, so the drop from the compared quantity is not sales.
        const ListingRow &row = f->row;
        bool uncertain = (row.state == "retry" || row.state == "in_flight") && row.pushed_qty &&
                         row.pushed_qty != row.acked_qty;
        if (f->push.previous_acked_qty &&
            cs.sales.refused(row.external_id, *f->push.previous_acked_qty, q, uncertain, wall, now))
          w.last_error = kExplainedStalePrefix + shown + " (sales the ledger has recorded)";
        else
          w.last_error = kStalePrefix + shown + " (a sale the ledger may not have seen yet)";
        w.attempts = 0;
        writes.push_back(std::move(w));
        add_dirty(cs, f->row.external_id, f->first_change);  // re-decide at once
      }
    }
  } catch (const DbError &e) {
    // The answers are lost; push again (compare-and-set turns a repeat into
    // a stale answer carrying the channel's quantity, never a double apply).
    for (auto &f : batch)
      add_dirty(cs, f.row.external_id, f.first_change);
    db_failed("results", e);
    kick();
    update_gauges();
    return;
  }
  // Written with the next round (one commit per round, see core.hpp).
  for (auto &f : batch)
    cs.unwritten.emplace(f.row.external_id, f.first_change);
  for (auto &w : writes)
    pending_writes_.push_back(std::move(w));
  kick();
  update_gauges();
}

void SyncCore::update_gauges() {
  if (!metrics_)
    return;
  for (auto &[code, cs] : channels_) {
    auto &m = metrics_->channel(code);
    m.dirty = static_cast<std::int64_t>(cs.dirty.size());
    m.in_flight = static_cast<std::int64_t>(cs.in_flight.size());
  }
  metrics_->dirty_skus = static_cast<std::int64_t>(dirty_skus_.size());
}

}  // namespace stocksync::worker
