// The small interfaces the sync core runs behind: a scheduler (clock and
// timers) and the database. Production implements them on the io_context and
// libpq (sync/pg_database.hpp, sync/asio_scheduler.hpp); the deterministic
// simulation test implements them in memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace stocksync::worker {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Scheduler {
public:
  virtual ~Scheduler() = default;
  virtual SteadyTime now() const = 0;
  virtual WallTime wall_now() const = 0;
  // Runs fn later on the same thread (after the current handler returns).
  virtual void post(std::function<void()> fn) = 0;
  // Runs fn at t (or soon after). Not cancellable: callers check a generation.
  virtual void call_at(SteadyTime t, std::function<void()> fn) = 0;
};

// A database failure (connection lost, statement failed). The core keeps its
// work and tries again later.
struct DbError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using ListingKey = std::pair<std::string, std::string>;  // (channel, external_id)

// A listing of a SKU (Database::resolve).
struct SkuListing {
  std::string sku;
  std::string channel;
  std::string external_id;
};

// What Database::resolve() finds: the decoded transactions a query cannot
// see yet, and the listings of the SKUs whose transactions it can.
struct Resolved {
  std::vector<std::uint32_t> running;
  std::vector<SkuListing> listings;
};

// A dirty SKU and the decoded transaction that changed it (0: one already
// known to be visible).
using SkuMark = std::pair<std::string, std::uint32_t>;

// One listing as the core sees it at push time: stocksync.listing_target
// joined with stocksync.listing_state.
struct ListingRow {
  std::string channel;
  std::string external_id;
  std::string sku;
  std::string mode;  // live, shadow, paused
  int desired_qty = 0;
  std::int64_t inputs_version = 0;
  // listing_state (has_state false: no row yet)
  bool has_state = false;
  std::string state;  // pending, in_flight, acked, retry, dead, shadow
  std::optional<int> acked_qty;
  std::optional<std::int64_t> acked_version;
  std::optional<WallTime> acked_at;
  std::optional<int> pushed_qty;
  int attempts = 0;
  std::string last_error;
  std::optional<WallTime> retry_at;
  std::string push_key;  // idempotency key of the last attempt (empty: none stored)
};

// A channel's order that the worker itself recorded in the ledger
// (SyncCore::note_recorded_sale): committed, and new (not a replay).
struct RecordedSale {
  struct Line {
    std::string listing;  // the listing's external_id the ledger took the line for
    int units = 0;
  };
  std::string channel;
  std::string order_ref;
  WallTime taken_at{};  // when the channel took the order (its own clock)
  std::vector<Line> lines;
};

// The last_error prefix of a listing whose acknowledged quantity a
// reconciliation replaced with what the channel showed
// (reconcile/reconcile_store.cpp); the sync core looks for it.
inline constexpr const char *kReconcilePrefix = "reconcile: ";

// A write to stocksync.listing_state (an upsert).
struct StateWrite {
  std::string channel;
  std::string external_id;
  std::string state;
  bool set_acked = false;  // write acked_qty/acked_version/acked_at (else keep them)
  std::optional<int> acked_qty;
  std::optional<std::int64_t> acked_version;
  std::optional<int> pushed_qty;  // nullopt: keep
  int attempts = 0;
  std::string last_error;  // empty: NULL
  std::optional<WallTime> retry_at;
  std::string push_key;  // in_flight/retry: the attempt's idempotency key; else empty (NULL)
};

class Database {
public:
  virtual ~Database() = default;
  // Rows of the given listings of one channel (unknown ones are left out).
  virtual std::vector<ListingRow> load(const std::string &channel, const std::vector<std::string> &external_ids) = 0;
  // Rows of the given listings of any channels (unknown ones are left out):
  // one push round loads every channel's candidates at once. The default
  // calls load() per channel; PgDatabase runs one statement.
  virtual std::vector<ListingRow> load_keys(const std::vector<ListingKey> &keys);
  // One snapshot, taken now, answers both questions of a round's start:
  // which of `xids` (32-bit, as pgoutput's Begin reports them) it still
  // sees as running (committed and decoded, but their backend has not left
  // the ProcArray yet, so it does not see their changes; see
  // SyncCore::release_visible()), and the listings on `channels` of every SKU
  // in `skus` whose transaction it sees (xid 0 or not running), each with
  // its SKU, leaving out the channels that snapshot shows paused (a change
  // of mode marks the whole channel). Listings are read with the same
  // snapshot that judged the transactions visible.
  virtual Resolved resolve(const std::vector<std::uint32_t> &xids, const std::vector<SkuMark> &skus,
                           const std::vector<std::string> &channels) = 0;
  // All listings of a channel.
  virtual std::vector<ListingKey> listings_of_channel(const std::string &channel) = 0;
  // Listings of the given channels whose state needs a look: no state row,
  // pending, in_flight, retry, acked with acked_qty <> desired_qty, shadow
  // with pushed_qty <> desired_qty. Dead ones are left out.
  virtual std::vector<ListingKey> diff(const std::vector<std::string> &channels) = 0;
  // Listings that stocksync.retry_dead() revived (state pending).
  virtual std::vector<ListingKey> revived(const std::vector<std::string> &channels) = 0;
  // Dead listings per channel (metrics).
  virtual std::int64_t count_dead(const std::vector<std::string> &channels) = 0;
  // Upserts listing_state rows in one statement. An acked write never moves
  // acked_version backwards.
  virtual void write_states(const std::vector<StateWrite> &writes) = 0;
  // SELECT stocksync.expire_holds(max_rows).
  virtual int expire_holds(int max_rows) = 0;
  // SELECT stocksync.promote_hot_skus(min_waiters, buckets): the SKUs it
  // switched to the bucket strategy. The default promotes nothing (test
  // databases without contention); PgDatabase calls the function.
  virtual std::vector<std::string> promote_hot_skus(int min_waiters, int buckets);
};

inline std::vector<std::string> Database::promote_hot_skus(int, int) { return {}; }

inline std::vector<ListingRow> Database::load_keys(const std::vector<ListingKey> &keys) {
  std::map<std::string, std::vector<std::string>> by_channel;
  for (auto &[ch, ext] : keys)
    by_channel[ch].push_back(ext);
  std::vector<ListingRow> out;
  for (auto &[ch, ids] : by_channel)
    for (auto &row : load(ch, ids))
      out.push_back(std::move(row));
  return out;
}

}  // namespace stocksync::worker
