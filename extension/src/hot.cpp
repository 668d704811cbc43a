// Hot SKUs: reservations claim bucket rows with SKIP LOCKED instead of
// queueing on the one projection row (hot.hpp, docs/hot-skus.md).
#include "pg.hpp"

#include "bucket_claim.hpp"
#include "bundles.hpp"
#include "errors.hpp"
#include "hot.hpp"
#include "spi.hpp"

namespace stocksync {

namespace {

// Units of available a bucket may still consume without the central row.
#define U_BUDGET "(u.lent + u.on_hand - u.reserved - u.committed - u.damaged - u.quality_control - u.safety_stock)"
#define BUDGET "(b.lent + b.on_hand - b.reserved - b.committed - b.damaged - b.quality_control - b.safety_stock)"

// Each backend tries the buckets in an order of its own (a hash of bucket and
// process id), so that concurrent sessions start on different rows instead of
// all skipping past the same locked first one. The pick is a MATERIALIZED
// CTE: evaluated once, whatever the join order, so one statement never
// updates a second bucket after skipping the row it just changed itself.
#define PICK_FREE_BUCKET(condition, seed)                                                              \
	"WITH pick AS MATERIALIZED (SELECT b.bucket FROM stocksync.stock_bucket b "                        \
	"WHERE b.sku = $1 AND b.location = $2 " condition " ORDER BY pg_catalog.hashint4(b.bucket + " seed \
	") LIMIT 1 FOR UPDATE SKIP LOCKED) "
#define AT_PICK " FROM pick WHERE u.sku = $1 AND u.location = $2 AND u.bucket = pick.bucket"

constexpr Oid kTwoTexts[] = {TEXTOID, TEXTOID};

Datum
BackendSeed()
{
	return Int32GetDatum(MyProcPid);
}

// Locks the central row and reads its own available; with `skip`, only if
// no other session holds it (false then).
bool
LockCentral(Datum sku, Datum location, bool skip, int32 *available)
{
	static SPIPlanPtr wait_plan = nullptr;
	static SPIPlanPtr skip_plan = nullptr;
	Datum args[] = {sku, location};
	LockTableForWrites("stock_level");	// the caller writes the row or its buckets
	uint64 rows = skip ? RunPlan(KeptPlan(&skip_plan,
										 "SELECT on_hand - reserved - committed - damaged - quality_control - "
										 "safety_stock FROM stocksync.stock_level WHERE sku = $1 AND location = $2 "
										 "FOR UPDATE SKIP LOCKED",
										 2, kTwoTexts),
							   args, nullptr)
					   : RunPlan(KeptPlan(&wait_plan,
										 "SELECT on_hand - reserved - committed - damaged - quality_control - "
										 "safety_stock FROM stocksync.stock_level WHERE sku = $1 AND location = $2 "
										 "FOR UPDATE",
										 2, kTwoTexts),
								args, nullptr);
	if (rows != 1)
	{
		if (skip)
			return false;
		elog(ERROR, "stocksync: projection row of hot sku \"%s\" missing", TextDatumGetCString(sku));
	}
	*available = ColumnInt32(0, 1);
	return true;
}

// The number of buckets and what the central row lent them. Stable while the
// caller holds the central row: lent changes only under its lock.
void
ReadLent(Datum sku, Datum location, int32 *buckets, int32 *lent)
{
	static SPIPlanPtr plan = nullptr;
	Datum args[] = {sku, location};
	RunPlan(KeptPlan(&plan,
					   "SELECT pg_catalog.count(*)::integer, COALESCE(pg_catalog.sum(lent), 0)::integer "
					   "FROM stocksync.stock_bucket WHERE sku = $1 AND location = $2",
					   2, kTwoTexts),
			args, nullptr);
	*buckets = ColumnInt32(0, 1);
	*lent = ColumnInt32(0, 2);
}

// With the central row locked: lends `amount` more units to a bucket, which
// stays locked by this session, and sets *claim to it. Waits for one bucket
// only when every bucket is busy, and only if `may_wait`; false then.
bool
Lend(Datum sku, Datum location, int32 amount, int32 buckets, bool may_wait, HotClaim *claim)
{
	static SPIPlanPtr free_plan = nullptr;
	static SPIPlanPtr wait_plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, INT4OID, INT4OID};
	Datum args[] = {sku, location, Int32GetDatum(amount), BackendSeed()};
	if (RunPlan(KeptPlan(&free_plan,
						   PICK_FREE_BUCKET("", "$4")
						   "UPDATE stocksync.stock_bucket u SET lent = u.lent + $3, version = u.version + 1"
						   AT_PICK " RETURNING u.bucket, " U_BUDGET,
						   4, types),
				args, nullptr) != 1)
	{
		if (!may_wait)
			return false;
		args[3] = Int32GetDatum(MyProcPid % buckets);
		if (RunPlan(KeptPlan(&wait_plan,
							   "UPDATE stocksync.stock_bucket u SET lent = u.lent + $3, version = u.version + 1 "
							   "WHERE u.sku = $1 AND u.location = $2 AND u.bucket = $4 RETURNING u.bucket, " U_BUDGET,
							   4, types),
					args, nullptr) != 1)
			elog(ERROR, "stocksync: bucket of hot sku \"%s\" missing", TextDatumGetCString(sku));
	}
	*claim = HotClaim{true, static_cast<int16>(DatumGetInt16(ColumnDatum(0, 1))), ColumnInt32(0, 2)};
	return true;
}

// With the central row locked: locks every bucket in order and takes their
// unused budgets back (lent falls by the budget, which becomes zero). Unless
// `may_wait`, only from the buckets no other session holds: the others keep
// what they were lent, which the central row then cannot consume.
void
ReclaimBudgets(Datum sku, Datum location, bool may_wait = true)
{
	static SPIPlanPtr lock_plan = nullptr;
	static SPIPlanPtr reclaim_plan = nullptr;
	static SPIPlanPtr free_plan = nullptr;
	Datum args[] = {sku, location};
	if (!may_wait)
	{
		RunPlan(KeptPlan(&free_plan,
						   "WITH free AS MATERIALIZED (SELECT bucket FROM stocksync.stock_bucket "
						   "  WHERE sku = $1 AND location = $2 ORDER BY bucket FOR UPDATE SKIP LOCKED) "
						   "UPDATE stocksync.stock_bucket b SET lent = b.lent - " BUDGET ", version = b.version + 1 "
						   "FROM free WHERE b.sku = $1 AND b.location = $2 AND b.bucket = free.bucket "
						   "AND " BUDGET " > 0",
						   2, kTwoTexts),
				args, nullptr);
		return;
	}
	LockTableForWrites("stock_bucket");	// the buckets are written next
	RunPlan(KeptPlan(&lock_plan,
					   "SELECT 1 FROM stocksync.stock_bucket WHERE sku = $1 AND location = $2 "
					   "ORDER BY bucket FOR UPDATE",
					   2, kTwoTexts),
			args, nullptr);
	RunPlan(KeptPlan(&reclaim_plan,
					   "UPDATE stocksync.stock_bucket b SET lent = b.lent - " BUDGET ", version = b.version + 1 "
					   "WHERE b.sku = $1 AND b.location = $2 AND " BUDGET " > 0",
					   2, kTwoTexts),
			args, nullptr);
}

// The budget of a bucket this transaction holds, as a claim on it.
HotClaim
ClaimOfHeld(Datum sku, Datum location, int16 bucket)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, INT2OID};
	Datum args[] = {sku, location, Int16GetDatum(bucket)};
	if (RunPlan(KeptPlan(&plan,
						   "SELECT " BUDGET " FROM stocksync.stock_bucket b "
						   "WHERE b.sku = $1 AND b.location = $2 AND b.bucket = $3",
						   3, types),
				args, nullptr) != 1)
		elog(ERROR, "stocksync: bucket of hot sku \"%s\" missing", TextDatumGetCString(sku));
	return HotClaim{true, bucket, ColumnInt32(0, 1)};
}

// Raises SS004 when holding qty more units would take the SKU's reserved,
// or all it holds, (the central row plus its buckets) past what an integer
// holds.
void
CheckReservedFits(Datum sku, Datum location, int32 qty)
{
	Deltas d;
	d.reserved = qty;
	CheckQuantitiesFit(sku, location, SummedHeldQuantities(sku, location), d);
}

}  // namespace

int32
AvailableDelta(const Deltas &d)
{
	return d.on_hand - d.reserved - d.committed - d.damaged - d.quality_control - d.safety_stock;
}

HotClaim
ClaimAfterCentral(Datum sku, Datum location, int32 demand, bool may_wait)
{
	// A transaction holding one of the SKU's buckets already (an earlier
	// reservation, commit or release of it) waits for no other row of the
	// SKU: a session holding that row may be waiting for the bucket this one
	// holds (taking every budget back). It decides on what it can take
	// without waiting instead.
	int16 held = HeldBucket(sku, location);
	may_wait = may_wait && held < 0;
	int32 central;
	if (!LockCentral(sku, location, true, &central))
	{
		// Another session is refilling or rebalancing (it holds the central
		// row until it commits): rather queue on a bucket that has the
		// budget, if one has.
		HotClaim claim;
		if (ClaimBucket(sku, location, demand, 0, may_wait, &claim))
			return claim;
		if (held >= 0)
			return ClaimOfHeld(sku, location, held);
		LockCentral(sku, location, false, &central);
	}
	int32 buckets, lent;
	ReadLent(sku, location, &buckets, &lent);
	int32 free = central - lent;
	if (buckets == 0)
		return HotClaim{false, -1, free};
	if (free >= demand)
	{
		// An even share of what is left, so that the other buckets refill
		// from the same pool without coming back here at once.
		int32 share = free / buckets + (free % buckets != 0);
		HotClaim claim;
		if (Lend(sku, location, Max(demand, share), buckets, may_wait, &claim))
			return claim;
		return HotClaim{true, -1, free};  // every bucket busy: the central row's own
	}
	// Nearly gone: take every budget back; the central row alone then holds
	// all that is available, decided with every row of the SKU locked (or,
	// not waiting, with what the buckets nobody holds had).
	ReclaimBudgets(sku, location, may_wait);
	ReadLent(sku, location, &buckets, &lent);
	return HotClaim{true, -1, central - lent};
}

HotClaim
ClaimHotBudget(Datum sku, Datum location, int32 demand)
{
	HotClaim claim;
	if (ClaimBucket(sku, location, demand, 0, false, &claim))
		return claim;
	return ClaimAfterCentral(sku, location, demand);
}

void
HoldClaimed(Datum sku, Datum location, const HotClaim &claim, int32 qty)
{
	if (claim.bucket < 0)
	{
		Deltas d;
		d.reserved = qty;
		UpdateProjection(sku, location, d);
		return;
	}
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, INT2OID, INT4OID};
	Datum args[] = {sku, location, Int16GetDatum(claim.bucket), Int32GetDatum(qty)};
	RunPlan(KeptPlan(&plan,
					   "UPDATE stocksync.stock_bucket SET reserved = reserved + $4, version = version + 1 "
					   "WHERE sku = $1 AND location = $2 AND bucket = $3",
					   4, types),
			args, nullptr);
}

HotHold
HoldHot(Datum sku, Datum location, int32 qty, bool record, int32 *shortage)
{
	*shortage = 0;
	// A claim writes the bucket through the table AM, past triggers: a bundle
	// component's change must reach the deferred cascade trigger (its
	// bundles' versions), so its claim only takes the bucket and the units
	// are added by an UPDATE, which fires it.
	bool through_sql = IsBundleComponent(sku);
	uint64 components_seen = ComponentCacheGeneration();
	HotClaim taken;
	if (ClaimBucket(sku, location, qty, through_sql ? 0 : qty, false, &taken))
	{
		if (through_sql)
			HoldClaimed(sku, location, taken, qty);
		else
			CascadeAfterDirectWrite(sku, components_seen);
		return HotHold::kHeld;
	}
	if (!IsHotSku(sku, location))
		return HotHold::kNotHot;
	// Every bucket is dry or busy.
	HotClaim claim = ClaimAfterCentral(sku, location, qty);
	if (!claim.hot)
		return HotHold::kNotHot;	// turned off while this session waited
	if (claim.budget < qty)
	{
		if (!record)
			ReportInsufficient(sku, location, "available", claim.budget, qty);
		*shortage = qty - Max(claim.budget, 0);
		// Units held beyond what is available: the SKU's reserved (its
		// rows' sum, which the stock view reads as an integer) must still fit.
		CheckReservedFits(sku, location, qty);
	}
	HoldClaimed(sku, location, claim, qty);
	return HotHold::kHeld;
}

bool
IsHotSku(Datum sku, Datum location)
{
	static SPIPlanPtr plan = nullptr;
	Datum args[] = {sku, location};
	return RunPlan(KeptPlan(&plan,
							  "SELECT 1 FROM stocksync.stock_level WHERE sku = $1 AND location = $2 AND buckets > 0",
							  2, kTwoTexts),
				   args, nullptr) == 1;
}

void
CollapseBuckets(Datum sku, Datum location, StockRow *row)
{
	ReclaimBudgets(sku, location);
	AddBucketQuantities(sku, location, row);
}

// Read without the buckets' locks, the sums of reserved and committed may be
// behind sessions holding a bucket; on_hand, damaged, quality_control,
// safety_stock and incoming are exact: only ApplyToFreeBucket writes them in a
// bucket, and no caller gives it a delta of those (commit, release and expiry
// move reserved and committed), so they stay the central row's.
void
AddBucketQuantities(Datum sku, Datum location, StockRow *row)
{
	static SPIPlanPtr plan = nullptr;
	Datum args[] = {sku, location};
	RunPlan(KeptPlan(&plan,
					   "SELECT pg_catalog.sum(on_hand)::integer, pg_catalog.sum(reserved)::integer, "
					   "pg_catalog.sum(committed)::integer, pg_catalog.sum(damaged)::integer, "
					   "pg_catalog.sum(quality_control)::integer, pg_catalog.sum(safety_stock)::integer, "
					   "pg_catalog.sum(incoming)::integer, pg_catalog.sum(version)::bigint "
					   "FROM stocksync.stock_bucket WHERE sku = $1 AND location = $2",
					   2, kTwoTexts),
			args, nullptr);
	if (ColumnIsNull(0, 1))
		return;
	row->on_hand += ColumnInt32(0, 1);
	row->reserved += ColumnInt32(0, 2);
	row->committed += ColumnInt32(0, 3);
	row->damaged += ColumnInt32(0, 4);
	row->quality_control += ColumnInt32(0, 5);
	row->safety_stock += ColumnInt32(0, 6);
	row->incoming += ColumnInt32(0, 7);
	row->version += ColumnInt64(0, 8);
}

bool
ApplyToFreeBucket(Datum sku, Datum location, const Deltas &d)
{
	Assert(AvailableDelta(d) >= 0);
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID, INT4OID,
								INT4OID, INT4OID, INT4OID, INT4OID};
	Datum args[3 + kDeltaCount] = {sku, location, BackendSeed()};
	DeltaArgs(d, args + 3);
	return RunPlan(KeptPlan(&plan,
							  PICK_FREE_BUCKET("", "$3")
							  "UPDATE stocksync.stock_bucket u SET on_hand = u.on_hand + $4, "
							  "reserved = u.reserved + $5, committed = u.committed + $6, damaged = u.damaged + $7, "
							  "quality_control = u.quality_control + $8, safety_stock = u.safety_stock + $9, "
							  "incoming = u.incoming + $10, version = u.version + 1, "
							  // The units go back to the central pool, not to this
							  // bucket's budget: after an oversell recorded on the
							  // central row, they repay it first (lowering lent
							  // without the central row's lock only ever makes a
							  // concurrent reading of the central row's free too small).
							  "lent = u.lent - ($4 - $5 - $6 - $7 - $8 - $9)"
							  AT_PICK,
							  10, types),
				   args, nullptr) == 1;
}

}  // namespace stocksync
