// The overlay of unwritten answers follows PgDatabase::write_states()'s upsert.
#include "sync/state_overlay.hpp"

#include <gtest/gtest.h>

namespace stocksync::worker {
namespace {

ListingRow in_flight_row() {
  ListingRow r;
  r.channel = "shop";
  r.external_id = "L1";
  r.has_state = true;
  r.state = "in_flight";
  r.acked_qty = 10;
  r.acked_version = 4;
  r.pushed_qty = 7;
  r.attempts = 1;
  r.push_key = "key-1";
  return r;
}

StateWrite acked(int qty, std::int64_t version) {
  StateWrite w;
  w.channel = "shop";
  w.external_id = "L1";
  w.state = "acked";
  w.set_acked = true;
  w.acked_qty = qty;
  w.acked_version = version;
  w.pushed_qty = qty;
  return w;
}

TEST(StateOverlay, AnAnswerReadsAsTheRowAfterItsWrite) {
  ListingRow r = in_flight_row();
  WallTime now{std::chrono::seconds(1000)};
  StateWrite w = acked(7, 5);
  ASSERT_TRUE(write_applies(r, w));
  apply_write(r, w, now);
  EXPECT_EQ(r.state, "acked");
  EXPECT_EQ(r.acked_qty, 7);
  EXPECT_EQ(r.acked_version, 5);
  EXPECT_EQ(r.acked_at, now);
  EXPECT_EQ(r.attempts, 0);
  EXPECT_EQ(r.push_key, "");  // the upsert stores the write's key, none here
}

TEST(StateOverlay, AnOlderAcknowledgementDoesNotApply) {
  ListingRow r = in_flight_row();
  EXPECT_FALSE(write_applies(r, acked(9, 3)));
  EXPECT_TRUE(write_applies(r, acked(9, 4)));
  StateWrite retry;
  retry.state = "retry";
  EXPECT_TRUE(write_applies(r, retry));  // no acknowledgement: always written
  r.acked_version.reset();
  EXPECT_TRUE(write_applies(r, acked(9, 1)));
}

TEST(StateOverlay, APushAfterAnAnswerKeepsTheAcknowledgement) {
  StateWrite push;
  push.channel = "shop";
  push.external_id = "L1";
  push.state = "in_flight";
  push.pushed_qty = 5;
  push.push_key = "key-2";
  push.attempts = 0;
  StateWrite both = compose_writes(acked(7, 5), push);
  EXPECT_EQ(both.state, "in_flight");
  EXPECT_TRUE(both.set_acked);
  EXPECT_EQ(both.acked_qty, 7);
  EXPECT_EQ(both.acked_version, 5);
  EXPECT_EQ(both.pushed_qty, 5);
  EXPECT_EQ(both.push_key, "key-2");
  // A later write without a pushed quantity keeps the earlier one's.
  StateWrite in_sync;
  in_sync.state = "acked";
  EXPECT_EQ(compose_writes(acked(7, 5), in_sync).pushed_qty, 7);
}

TEST(StateOverlay, AnOlderAcknowledgementAfterANewerOneChangesNothing) {
  StateWrite both = compose_writes(acked(7, 5), acked(9, 3));
  EXPECT_EQ(both.acked_qty, 7);
  EXPECT_EQ(both.acked_version, 5);
  EXPECT_EQ(compose_writes(acked(7, 5), acked(9, 6)).acked_qty, 9);
}

TEST(StateOverlay, FoldKeepsOneWritePerListingInFirstOrder) {
  StateWrite other = acked(3, 2);
  other.external_id = "L2";
  StateWrite push;
  push.channel = "shop";
  push.external_id = "L1";
  push.state = "in_flight";
  push.pushed_qty = 5;
  auto out = fold_writes({acked(7, 5), other, push});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].external_id, "L1");
  EXPECT_EQ(out[0].state, "in_flight");
  EXPECT_TRUE(out[0].set_acked);
  EXPECT_EQ(out[0].acked_qty, 7);
  EXPECT_EQ(out[1].external_id, "L2");
  EXPECT_EQ(out[1].acked_qty, 3);
}

}  // namespace
}  // namespace stocksync::worker
