// Hot SKUs: the bucket (escrow) strategy behind reserve, commit, release and
// expiry. The install script's comment on stocksync.stock_bucket gives the
// invariants; docs/hot-skus.md the why.
//
// Lock order, the same everywhere: the central stock_level row, then buckets
// in bucket order. A session waits for a bucket only while it holds no other
// bucket of that SKU, in this statement or an earlier one of its transaction
// (HeldBucket); everything else claims buckets with SKIP LOCKED, which never
// waits. So no two sessions wait on each other for one SKU's rows.
#pragma once

#include "pg.hpp"

#include "movement.hpp"

namespace stocksync {

// How the units of a reservation line on a hot SKU were held.
enum class HotHold
{
	kNotHot,	// the SKU has no buckets: use the central row as usual
	kHeld,		// held (possibly with a shortage when recording)
};

// Holds qty units of (sku, location) if it is hot: from a bucket with the
// budget for them (SKIP LOCKED), else after refilling a bucket from the
// central row, else, with every bucket given back to the central row, from the
// central row itself, or refused (SS005) / recorded as a shortage.
HotHold HoldHot(Datum sku, Datum location, int32 qty, bool record, int32 *shortage);

// Units of available this session may consume on a hot SKU: from one bucket
// it now holds (bucket >= 0), or, once the SKU is nearly gone, from the
// central row with every bucket locked (bucket -1; then budget is exactly
// what the SKU has available, possibly less than asked).
struct HotClaim
{
	bool hot;	  // false: the SKU has no buckets (budget is the central row's)
	int16 bucket;
	int32 budget;
};

// Claims a budget of at least `demand` units if the SKU has it: a bucket with
// that budget (SKIP LOCKED), else one refilled from the central row, else the
// central row with every budget taken back.
HotClaim ClaimHotBudget(Datum sku, Datum location, int32 demand);

// ClaimHotBudget without the first step, for a caller that found every
// bucket short already, or that holds the central row already. It waits for
// no bucket unless `may_wait`, nor when this transaction holds one of the
// SKU's buckets already (a session holding the bucket waited for may be
// waiting for this one's): the claim is then decided on what can be taken
// without waiting, which may be less than the SKU has (the budgets of
// buckets other sessions hold stay theirs).
HotClaim ClaimAfterCentral(Datum sku, Datum location, int32 demand, bool may_wait = true);

// Holds qty units where the claim points (its bucket or the central row).
void HoldClaimed(Datum sku, Datum location, const HotClaim &claim, int32 qty);

// Whether (sku, location) has buckets.
bool IsHotSku(Datum sku, Datum location);

// Called with the central row locked: locks every bucket, gives their unused
// budgets back to the central row (so the central row alone may then consume
// all available) and adds their quantities and versions to *row. Does nothing
// for a SKU without buckets.
void CollapseBuckets(Datum sku, Datum location, StockRow *row);

// Adds the buckets' quantities and versions to *row without locking them and
// without taking any budget back, for a caller holding the central row whose
// change lowers no available (hot.cpp says which quantities are then exact).
void AddBucketQuantities(Datum sku, Datum location, StockRow *row);

// Applies deltas that do not lower available (commit, release, expiry) to a
// bucket no other session holds. False when there is none: not a hot SKU, or
// every bucket busy; the caller then updates the central row.
bool ApplyToFreeBucket(Datum sku, Datum location, const Deltas &deltas);

// The effect of deltas on available.
int32 AvailableDelta(const Deltas &deltas);

}  // namespace stocksync
