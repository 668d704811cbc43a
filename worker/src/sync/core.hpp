// The level-triggered sync core: pure logic behind Scheduler, Database and
// ChannelAdapter, so that it runs the same in production and in the
// deterministic simulation test.
//
// Per listing the push state machine (stored in stocksync.listing_state):
//
//   (none) / pending --decide--> in_flight --acked--> acked
//                                    |  \--stale (CAS refused)--> acked at the channel's
//                                    |       quantity, re-decided at once (no increase
//                                    |       computed before the sale: see hold below)
//                                    |--retryable--> retry (retry_at) --due--> in_flight
//                                    |--retryable, attempts >= max--> dead
//                                    \--permanent--> dead
//   dead --stocksync.retry_dead()--> pending
//   shadow channel: any --decide--> shadow (pushed_qty = what would be pushed)
//   paused channel: nothing is pushed or written
//
// What triggers a decision: a dirty mark (logical decoding: a SKU, a
// listing or a channel changed), a due retry, the full diff (start-up and
// every full_diff_interval), a revived listing (retry_dead). A decision reads
// desired_qty from stocksync.listing_target at that moment: the core never
// pushes a remembered quantity.
//
// Decoded before visible: with synchronous_commit on, a commit is flushed and
// sent by the walsender before the committing backend leaves the ProcArray,
// so a mark can arrive while a query of ours still sees the old rows; deciding
// then would find "in sync" and drop the change until the next full diff.
// Rule: a mark carries its transaction's xid (pgoutput Begin) and is held
// aside, not resolved, until Database::resolve() no longer reports that xid
// as running (PostgreSQL's own pg_visible_in_snapshot() rule against a
// snapshot taken now). The same statement, with the same snapshot, reads the
// listings of the SKUs of the transactions it sees; every later query sees
// them too, because once a backend left the ProcArray its commit is visible
// to all new snapshots. A held mark is looked at again after 1 ms, doubling
// to 100 ms per xid; it is never dropped (a transaction that was decoded as
// committed always becomes visible: at the latest when its backend ends).
// This is exact for every published table (stock_level, item, listing,
// channel, TRUNCATE), unlike a per-row version check. The visibility check
// and the SKU-to-listing lookup are one statement, so a round that resolves
// SKUs pays nothing extra for it; while marks wait and nothing else is dirty,
// each look is that one statement.
//
// Ordering and batching per channel: listings already in flight wait for
// their answer (one outstanding push per listing, so versions only move
// forward); decreases go before increases; batches up to the adapter's
// max_batch; at most max_in_flight batches at once; one token of the
// channel's token bucket per push call; a throttled answer with Retry-After
// pauses the whole channel until then. Coalescing comes from this: changes
// that arrive while a listing is dirty or in flight become one later push.
// No timer delays a push while the channel has capacity (coalescing_window 0,
// the default): a mark is resolved in the next round of the loop.
//
// One commit per round: the answers of every channel are kept in memory
// (pending_writes_) and written in the next round, in the same statement as
// that round's in_flight writes, before any of the round's pushes leaves. A
// listing changed again while its push was out is loaded in that round too
// and decided on its row as it will read once the answer is written
// (sync/state_overlay.hpp: its stored state still says in_flight, which would
// make a new push look like a retry of the old one); its answer and its new
// in_flight write become one write. A commit waits for the WAL flush; one per round
// instead of one per answer and per channel keeps the round short and lets
// answers that arrive during it share the next one. A crash loses at most the
// unwritten answers: their listings stay in_flight in the database, which is
// what a crash between a push and its answer leaves too (a true retry with
// the stored key, or compare-and-set, settles them).
//
// Refused compare-and-set, and the hold (decide()). A refusal carries the
// channel's quantity; the core takes it as acknowledged and decides again at
// once. When the channel shows less than the compared quantity, it sold
// units since; if the ledger does not have that sale yet, an increase
// computed now would erase it on the channel. So an increase waits (the hold)
// for an input newer than the refusal, taken for the sale reaching the
// ledger, or for stale_hold. No hold when the channel's orders that the
// worker itself recorded in the ledger account for the drop, and the hold
// ends early when they come to account for it (sync/recorded_sales.hpp: the
// rule and why it never erases a sale the ledger has not seen). Such a
// refusal is stored with kExplainedStalePrefix instead of kStalePrefix.
//
// Why that commit stays synchronous, although the flush is the longest step
// between a sale and the channels (asynchronous commit halved the p50 lag in
// bench/worker/run): a server crash would then forget the in_flight writes
// of pushes the channels already applied. Replayed in the deterministic
// simulation (a database crash losing the core's last 0.6 s of writes), both
// failure kinds showed up: on a compare-and-set channel the next push
// compared against the quantity before the forgotten push, which a sale on
// the channel had brought back (A-B-A: the sale erased); on an absolute
// channel the stored acked quantity was older than the channel's, so when
// the ledger came back to it the listing looked in sync and kept the wrong
// quantity. The intent must be durable before the push leaves.
#pragma once

#include "channel_adapter.hpp"
#include "config.hpp"
#include "metrics.hpp"
#include "sync/interfaces.hpp"
#include "sync/recorded_sales.hpp"
#include "sync/token_bucket.hpp"

#include <map>
#include <random>
#include <set>

namespace stocksync::worker {

class SyncCore {
public:
  struct Channel {
    ChannelConfig cfg;
    ChannelAdapter *adapter = nullptr;  // not owned
    int max_attempts = 8;
  };

  // seed drives the backoff jitter.
  SyncCore(Scheduler &sched, Database &db, SyncConfig cfg, std::vector<Channel> channels, Metrics *metrics,
           std::uint64_t seed);

  // Starts: a full diff now, then the periodic timers.
  void start();
  // Stops scheduling new work (outstanding callbacks are ignored).
  void stop();
  // Clean shutdown: writes the answers received but not yet stored (see
  // "One commit per round" above); a DbError is swallowed (the next start
  // repeats those pushes, as after a crash).
  void flush();

  // Dirty marks from logical decoding; commit_time is the commit's wall time,
  // xid the decoded transaction's id (0: none, taken as visible already).
  void mark_sku(const std::string &sku, WallTime commit_time, std::uint32_t xid = 0);
  void mark_listing(const std::string &channel, const std::string &external_id, WallTime commit_time,
                    std::uint32_t xid = 0);
  void mark_channel(const std::string &channel, WallTime commit_time, std::uint32_t xid = 0);
  void request_full_diff(std::uint32_t xid = 0);

  // A channel order the worker recorded in the ledger (committed, first
  // delivery); explains refusals (see above).
  void note_recorded_sale(const RecordedSale &sale);
  // The worker received a cancellation or refund of an order of this
  // channel: the channel may have put units back.
  void note_channel_restock(const std::string &channel);

  // Introspection for tests and /healthz.
  std::size_t dirty_count() const;
  std::size_t awaiting_visibility() const { return awaiting_.size(); }  // transactions held aside
  std::size_t in_flight_count() const;
  bool idle() const;  // nothing dirty, nothing in flight, no unresolved marks

private:
  struct InFlight {
    ListingRow row;
    ListingPush push;
    std::optional<WallTime> first_change;
  };
  struct ChannelState {
    Channel ch;
    RecordedSales sales;  // which refusals need no hold
    std::set<std::string> dirty;
    std::map<std::string, WallTime> first_change;  // earliest unpushed commit per dirty listing
    std::map<std::string, SteadyTime> wake;        // listing -> when to re-dirty (retry, hold)
    std::set<std::string> in_flight;
    // Answered, answer not yet written (pending_writes_); the value is the
    // listing's first unpushed commit (to re-dirty it if the write fails).
    std::map<std::string, std::optional<WallTime>> unwritten;
    std::size_t batches_in_flight = 0;
    RequestBucket bucket;
    SteadyTime paused_until{};
    bool wake_scheduled = false;
    SteadyTime wake_at{};
  };
  // Marks of one decoded transaction not yet visible to our queries.
  struct Awaiting {
    std::map<std::string, WallTime> skus;
    std::vector<std::pair<std::string, std::string>> listings;  // (channel, external_id)
    std::map<std::string, WallTime> channels;
    WallTime commit_time{};
    bool full_diff = false;
    std::chrono::milliseconds delay{1};  // next look after this
  };

  void kick();
  void process();
  Awaiting *awaiting(std::uint32_t xid, WallTime commit_time);
  bool release_visible();
  void schedule_visibility_check(std::chrono::milliseconds delay);
  void release(Awaiting &a);
  bool resolve_marks();
  // A push round of one channel prepared by prepare_channel(): batches whose
  // in_flight writes are in the round's statement, dispatched after it.
  struct Prepared {
    ChannelState *cs;
    std::vector<InFlight> batch;
  };
  void push_round();
  void see_unwritten_answers(std::map<std::string, std::vector<ListingRow>> &rows, std::vector<StateWrite> &writes);
  struct Limits {
    std::size_t max_in_flight = 1, max_batch = 1;
    bool cas = false;
    bool one_key_per_call = false;
  };
  Limits limits(const ChannelState &cs) const;
  std::vector<std::string> pick(ChannelState &cs, bool &more);
  bool prepare_channel(ChannelState &cs, std::vector<ListingRow> rows, std::vector<StateWrite> &writes,
                       std::vector<Prepared> &ready);
  void dispatch(ChannelState &cs, std::vector<InFlight> batch);
  void on_results(std::uint64_t gen, const std::string &channel, std::vector<InFlight> batch,
                  std::vector<PushResult> results);
  void schedule_wake(ChannelState &cs, SteadyTime t);
  void schedule_listing(ChannelState &cs, const std::string &ext, SteadyTime t);
  void db_failed(const char *what, const std::exception &e);
  std::chrono::milliseconds backoff(int attempts);
  std::string new_key();
  void add_dirty(ChannelState &cs, const std::string &ext, std::optional<WallTime> t);
  void periodic_full_diff();
  void periodic_expire();
  void periodic_promote();
  void periodic_revived();
  SteadyTime to_steady(WallTime t) const;
  void update_gauges();

  Scheduler &sched_;
  Database &db_;
  SyncConfig cfg_;
  Metrics *metrics_;
  std::mt19937_64 rng_;
  std::map<std::string, ChannelState> channels_;
  std::vector<std::string> channel_codes_;
  std::map<std::string, WallTime> dirty_skus_;
  std::map<std::string, WallTime> dirty_channels_;
  std::map<std::uint32_t, Awaiting> awaiting_;  // by xid
  std::vector<StateWrite> pending_writes_;      // answers, written with the next round
  SteadyTime visibility_check_at_{};            // a kick is scheduled then (when awaiting_)
  bool full_diff_ = false;
  bool process_scheduled_ = false;
  bool stopped_ = false;
  bool promote_failing_ = false;  // the last promote_hot_skus() call failed (logged once)
  std::uint64_t gen_ = 1;  // bumped by stop(): late callbacks are dropped
  SteadyTime db_retry_at_{};
  int db_failures_ = 0;
};

// Whether a decision pushes: the pure part of the state machine.
enum class Decision { skip, in_sync, shadow, wait_retry, hold, push };
Decision decide(const ListingRow &row, WallTime now, std::chrono::milliseconds stale_hold);

// The last_error prefix that marks an acknowledged state taken over from a
// stale compare-and-set (the hold rule looks for it).
inline constexpr const char *kStalePrefix = "stale: ";
// The last_error of an acknowledged state taken over from a stale
// compare-and-set whose drop recorded orders explain (no hold).
inline constexpr const char *kExplainedStalePrefix = "refused, sales recorded: ";

}  // namespace stocksync::worker
