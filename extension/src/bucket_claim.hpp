// Claiming a hot SKU's bucket through the table AM (hot.hpp explains the
// buckets).
//
// Why not SELECT ... FOR UPDATE SKIP LOCKED: a bucket locked there and then
// found short (its budget changed since the snapshot; the lock follows the
// row to its newest version) stays locked until commit, and a session holding
// a bucket it cannot use must not wait for another row of the SKU, or it
// deadlocks with a session taking every budget back. Here the budget is
// checked on a version and exactly that version is locked (skipping or
// waiting), never a newer one: a bucket this session cannot use is never
// left locked.
#pragma once

#include "pg.hpp"

#include "hot.hpp"

namespace stocksync {

// Claims a bucket of (sku, location) whose budget covers `demand` and adds
// `reserve` units to its reserved (0: the claim only raises its version,
// which holds the row). Buckets are tried in this backend's order (the
// bucket it used last first); wait = false skips the ones other sessions
// hold, wait = true waits for them in turn. False when none can be claimed.
bool ClaimBucket(Datum sku, Datum location, int32 demand, int32 reserve, bool wait, HotClaim *claim);

// A bucket of (sku, location) this transaction holds: one whose newest
// version it wrote or locked (an earlier reservation, commit or release of
// the SKU in the same transaction). -1 when it holds none, or when the
// bucket table is not as stocksync made it (then nothing is known).
int16 HeldBucket(Datum sku, Datum location);

}  // namespace stocksync
