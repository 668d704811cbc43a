// Which refused compare-and-sets the worker's own recorded orders explain,
// so that the increase after them need not wait for the hold (sync/core.hpp,
// "Refused compare-and-set"). Pure bookkeeping: no clock of its own, no I/O.
//
// The problem. A compare-and-set push refused because the channel shows fewer
// units than acknowledged means the channel sold them since. If the ledger
// does not have that sale yet, an increase computed now would erase it on the
// channel, so decide() holds increases until an input newer than the refusal
// (taken for the sale reaching the ledger) or stale_hold. When the ledger had
// the sale before the refused push was computed, no newer input comes for a
// quiet SKU, and a right increase waited the whole stale_hold (docs/demo.md:
// Shopify's p99 lag over 60 s).
//
// The rule. Per listing an account, in memory: the units of the channel's
// orders that the worker itself recorded in the ledger (webhooks it ingested,
// committed, first delivery; note()), less the units of every refusal's drop
// (compared quantity less shown; refused()). A refusal that leaves the
// balance at 0 or above is explained: no hold. Below 0 it is held as before,
// and recorded orders that bring the balance back to 0 end the hold early.
//
// Why that is safe. Compare-and-set refuses every push after a sale until the
// core compares against a quantity read after it, so every sold unit shows in
// exactly one refusal's drop. With each order counted once, balance >= 0
// means the recorded orders cover every unit dropped so far, unless some of
// them were taken after the channel's read and have not dropped yet: then
// the channel no longer shows the quantity the next push compares against,
// that push is refused in turn and its drop counted. So no push is accepted
// while a dropped unit is not covered by an order the ledger has.
//
// What keeps the count honest:
//   - An order counts once: remembered by order_ref for kOrderMemory; one
//     taken longer than kOrderMaxAge ago, or dated ahead of our clock by more
//     than kChannelClockSkew, never counts (no delivery outlives the memory).
//   - Only orders taken after the account started count (created_at on the
//     channel's clock, against our start plus kChannelClockSkew): what the
//     channel dropped before is unknown.
//   - The account starts again, forgetting everything, whenever the
//     compared quantity or the channel's count may have moved other than by
//     sales: the core's start, a cancellation or refund received for the
//     channel (every listing: the channel may have put units back), a refusal
//     showing as many units as compared or more, a refusal after a push
//     whose answer was lost (the channel may have applied it: the drop is
//     then not its sales), an accepted push that compared against nothing
//     (it overwrote any drop), a reconciliation that replaced the
//     acknowledged quantity.
//   - Credit (a balance above 0) is forgotten at an accepted compare-and-set,
//     which shows the channel still at the compared quantity: an order whose
//     units have not dropped by then did not lower this listing (another
//     location, untracked inventory); and credit_life (stale_hold) after the
//     last order counted. Forgetting only ever holds more.
// What it cannot see: units put back on the channel that the worker hears of
// only after the refusal (a hand edit, a late cancellation webhook), inside
// the same drop as a sale the ledger lacks; compare-and-set itself is blind
// to that (A-B-A). Orders recorded by other paths (an ERP's reserve(), order
// polling) are not counted: their drops are held as before.
#pragma once

#include "sync/interfaces.hpp"

#include <deque>
#include <map>
#include <set>

namespace stocksync::worker {

// How far a channel's clock (an order's created_at) may run ahead of ours.
inline constexpr std::chrono::seconds kChannelClockSkew{5};
// An order is remembered this long after it was counted; one taken longer
// than kOrderMaxAge ago is not counted, so a late delivery of a counted
// order always finds it remembered.
inline constexpr std::chrono::hours kOrderMemory{1};
inline constexpr std::chrono::minutes kOrderMaxAge{30};

// One channel's accounts (see above).
class RecordedSales {
public:
  explicit RecordedSales(std::chrono::milliseconds credit_life = std::chrono::milliseconds(60000))
      : credit_life_(credit_life) {}

  // Every account starts again: no order taken before now counts.
  void start(WallTime now);
  // An order the worker recorded in the ledger. Returns the listings whose
  // held refusal it explains now (to be decided again).
  std::vector<std::string> note(const RecordedSale &sale, WallTime now, SteadyTime steady_now);
  // A push that compared against `compared` was refused with the channel at
  // `shown`; uncertain: a push before it got no answer and may have been
  // applied. Returns whether recorded orders explain the drop (no hold).
  bool refused(const std::string &ext, int compared, int shown, bool uncertain, WallTime now, SteadyTime steady_now);
  // A push was accepted; compared: against the acknowledged quantity.
  void accepted(const std::string &ext, bool compared, WallTime now);
  // A reconciliation replaced the listing's acknowledged quantity.
  void reconciled(const std::string &ext, WallTime now) { restart(ext, now); }
  // Whether the listing's held refusal was explained since (once).
  bool take_hold_ended(const std::string &ext) { return hold_ended_.erase(ext) > 0; }

private:
  struct Account {
    WallTime from{};  // orders taken before this are not counted
    int balance = 0;  // units recorded less units dropped
    bool held = false;  // the last refusal was not explained
    SteadyTime credited_at{};
  };
  Account &account(const std::string &ext);
  void restart(const std::string &ext, WallTime now);

  std::chrono::milliseconds credit_life_;
  WallTime from_{};  // where a new account starts
  std::map<std::string, Account> accounts_;  // by external_id
  std::set<std::string> hold_ended_;
  std::set<std::string> orders_;  // counted order_refs
  std::deque<std::pair<SteadyTime, std::string>> order_times_;  // oldest first
};

}  // namespace stocksync::worker
