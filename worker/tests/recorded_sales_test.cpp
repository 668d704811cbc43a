// RecordedSales alone (sync/recorded_sales.hpp): which refused
// compare-and-sets the worker's own recorded orders explain. The sync core
// around it is tested in sync_sim_test.cpp (WorkerSyncSim.*Refusal*).
#include "sync/recorded_sales.hpp"

#include <gtest/gtest.h>

using namespace stocksync::worker;
using namespace std::chrono_literals;

namespace {

// A channel whose accounts started at t0; the clocks move together.
struct Accounts {
  WallTime wall = WallTime(1795000000s);
  SteadyTime steady = SteadyTime(1000s);
  RecordedSales sales{60s};

  Accounts() {
    sales.start(wall);
    pass(10s);  // past kChannelClockSkew: orders taken from now on count
  }
  void pass(std::chrono::seconds d) {
    wall += d;
    steady += d;
  }
  std::vector<std::string> sold(const std::string &order, int units, const std::string &listing = "L1") {
    return sales.note(RecordedSale{"shop", order, wall, {{listing, units}}}, wall, steady);
  }
  bool refused(int compared, int shown, bool uncertain = false) {
    return sales.refused("L1", compared, shown, uncertain, wall, steady);
  }
};

}  // namespace

TEST(WorkerRecordedSales, RecordedOrdersThatCoverTheDropExplainIt) {
  Accounts a;
  a.sold("o1", 2);
  EXPECT_TRUE(a.refused(10, 8));  // the demo's case: the order first, then the refusal
  a.sold("o2", 1);
  a.sold("o3", 1, "L2");  // another listing
  EXPECT_FALSE(a.refused(8, 6)) << "1 of the 2 units dropped is not recorded";
  EXPECT_FALSE(a.refused(6, 6));  // shown == compared: units may have come back
}

TEST(WorkerRecordedSales, AnOrderRecordedAfterItsHeldRefusalEndsTheHoldOnce) {
  Accounts a;
  EXPECT_FALSE(a.refused(10, 8));
  EXPECT_TRUE(a.sold("o1", 1).empty());
  EXPECT_FALSE(a.sales.take_hold_ended("L1"));
  EXPECT_EQ(a.sold("o2", 1), std::vector<std::string>{"L1"});
  EXPECT_TRUE(a.sales.take_hold_ended("L1"));
  EXPECT_FALSE(a.sales.take_hold_ended("L1"));
  EXPECT_TRUE(a.sold("o3", 1).empty()) << "no hold left to end";
}

TEST(WorkerRecordedSales, AReplayedOrderCountsOnce) {
  Accounts a;
  a.sold("o1", 2);
  a.sold("o1", 2);  // Shopify delivered it again (a second subscription, a retry)
  EXPECT_TRUE(a.refused(10, 8));
  EXPECT_FALSE(a.refused(8, 6)) << "the replay paid for a sale the ledger has not seen";
  // A replay hours later is not counted either: too old to be told from one
  // whose first delivery was forgotten.
  Accounts b;
  b.sold("o1", 2);
  EXPECT_TRUE(b.refused(10, 8));
  WallTime taken = b.wall;
  b.pass(2h);
  EXPECT_TRUE(b.sales.note(RecordedSale{"shop", "o1", taken, {{"L1", 2}}}, b.wall, b.steady).empty());
  EXPECT_FALSE(b.refused(8, 6));
}

TEST(WorkerRecordedSales, ACancellationStartsEveryAccountAgain) {
  Accounts a;
  a.sold("o1", 2);
  a.sold("o2", 2, "L2");
  a.sales.start(a.wall);  // orders/cancelled received: units may be back on the channel
  EXPECT_FALSE(a.refused(10, 8));
  EXPECT_FALSE(a.sales.refused("L2", 10, 8, false, a.wall, a.steady));
  // Orders taken before the restart never count, also when recorded later.
  WallTime before = a.wall;
  a.pass(10s);
  a.sales.note(RecordedSale{"shop", "o3", before, {{"L1", 2}}}, a.wall, a.steady);
  EXPECT_FALSE(a.refused(8, 6));
  // Orders taken after it count again.
  a.sold("o4", 2, "L3");
  EXPECT_TRUE(a.sales.refused("L3", 10, 8, false, a.wall, a.steady));
}

TEST(WorkerRecordedSales, OrdersBeforeTheStartOrDatedAheadNeverCount) {
  Accounts a;
  RecordedSales fresh{60s};
  fresh.start(a.wall);
  // Taken 1 s before the start (its drop may have been seen by the last run).
  fresh.note(RecordedSale{"shop", "o1", a.wall - 1s, {{"L1", 2}}}, a.wall + 20s, a.steady);
  EXPECT_FALSE(fresh.refused("L1", 10, 8, false, a.wall + 20s, a.steady));
  // Dated a minute ahead of our clock: the channel's clock is off.
  a.sales.note(RecordedSale{"shop", "o2", a.wall + 60s, {{"L1", 2}}}, a.wall, a.steady);
  EXPECT_FALSE(a.refused(10, 8));
}

TEST(WorkerRecordedSales, ARefusalAfterALostAnswerIsNeverExplained) {
  Accounts a;
  a.sold("o1", 1);
  // The lost push may have set 12: the drop from 10 says nothing of sales.
  EXPECT_FALSE(a.refused(10, 9, /*uncertain=*/true));
  a.sold("o2", 5);
  EXPECT_FALSE(a.sales.take_hold_ended("L1")) << "the account started again: nothing to end";
}

TEST(WorkerRecordedSales, CreditIsForgottenAtAnAcceptedCompareAndSetAndWithTime) {
  Accounts a;
  a.sold("o1", 2);           // its units dropped elsewhere (another location)
  a.sales.accepted("L1", /*compared=*/true, a.wall);
  EXPECT_FALSE(a.refused(10, 8)) << "the old credit explained a sale the ledger has not seen";
  // A debt is kept through an accepted push: its order, when recorded, pays it.
  a.sales.accepted("L1", true, a.wall);
  a.sold("o2", 2);
  a.sold("o3", 1);
  EXPECT_TRUE(a.refused(8, 7));
  // Credit older than credit_life is forgotten too.
  a.sold("o4", 1);
  a.pass(61s);
  EXPECT_FALSE(a.refused(7, 6));
}

TEST(WorkerRecordedSales, AnUncomparedPushOrAReconciliationStartsTheAccountAgain) {
  Accounts a;
  a.sold("o1", 2);
  a.sales.accepted("L1", /*compared=*/false, a.wall);  // overwrote whatever the channel showed
  a.pass(10s);
  EXPECT_FALSE(a.refused(10, 8));
  Accounts b;
  b.sold("o1", 2);
  b.sales.reconciled("L1", b.wall);  // the acknowledged quantity is what the channel showed
  b.pass(10s);
  EXPECT_FALSE(b.refused(10, 8));
}
