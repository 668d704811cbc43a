// Claiming a hot SKU's bucket with heap_update; see bucket_claim.hpp.
#include "pg.hpp"

#include "bucket_claim.hpp"
#include "direct.hpp"
#include "movement.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/multixact.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace stocksync {

namespace {

// Attribute numbers of stock_bucket, as checked by GetDirectCatalog.
constexpr int kSku = 1;
constexpr int kLocation = 2;
constexpr int kBucketNo = 3;
constexpr int kLent = 4;
constexpr int kOnHand = 5;
constexpr int kReserved = 6;
constexpr int kVersion = 12;
constexpr int kMaxBuckets = 256;
// Newer versions followed per bucket before giving it up (each one is a
// commit of another session on that bucket in the meantime).
constexpr int kMaxFollow = 64;

int32
Column(TupleTableSlot *slot, int attnum)
{
	return DatumGetInt32(slot->tts_values[attnum - 1]);
}

// lent + on_hand - reserved - committed - damaged - quality_control - safety_stock
int32
Budget(TupleTableSlot *slot)
{
	int32 budget = Column(slot, kLent) + Column(slot, kOnHand);
	for (int att = kReserved; att < kReserved + 5; att++)
		budget -= Column(slot, att);
	return budget;
}

uint32
BackendOrder(int16 bucket)
{
	return hash_bytes_uint32(static_cast<uint32>(bucket + MyProcPid));
}

struct Candidate
{
	ItemPointerData tid;
	uint32 order;
};

struct Candidates
{
	int32 demand;
	int count;
	Candidate rows[kMaxBuckets];
};

bool
Collect(TupleTableSlot *slot, void *arg)
{
	Candidates *c = static_cast<Candidates *>(arg);
	slot_getallattrs(slot);
	if (Budget(slot) >= c->demand && c->count < kMaxBuckets)
	{
		c->rows[c->count].tid = slot->tts_tid;
		c->rows[c->count++].order = BackendOrder(DatumGetInt16(slot->tts_values[kBucketNo - 1]));
	}
	return true;
}

int
CompareCandidates(const void *a, const void *b)
{
	uint32 x = static_cast<const Candidate *>(a)->order;
	uint32 y = static_cast<const Candidate *>(b)->order;
	return (x > y) - (x < y);
}

// The bucket this backend claimed last, for the last hot SKU it claimed one
// of: on Black Friday one SKU takes most orders, and trying that bucket first
// spares scanning all of them.
struct LastBucket
{
	Oid relid;	// stock_bucket then (the extension may have been recreated since)
	text *sku;	// in TopMemoryContext
	text *location;
	ItemPointerData tid;
};
LastBucket last_bucket;

bool
IsLastOf(Oid relid, Datum sku, Datum location)
{
	return last_bucket.sku != nullptr && last_bucket.relid == relid &&
		   CompareText(PointerGetDatum(last_bucket.sku), sku) == 0 &&
		   CompareText(PointerGetDatum(last_bucket.location), location) == 0;
}

void
Remember(Oid relid, Datum sku, Datum location, ItemPointer tid)
{
	if (last_bucket.sku == nullptr || CompareText(PointerGetDatum(last_bucket.sku), sku) != 0 ||
		CompareText(PointerGetDatum(last_bucket.location), location) != 0)
	{
		// Copies first: if one fails (out of memory), the error leaves the
		// remembered bucket as it was, never pointing at freed names.
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		text *sku_copy = DatumGetTextPCopy(sku);
		text *location_copy = DatumGetTextPCopy(location);
		MemoryContextSwitchTo(old);
		if (last_bucket.sku != nullptr)
		{
			pfree(last_bucket.sku);
			pfree(last_bucket.location);
		}
		last_bucket.sku = sku_copy;
		last_bucket.location = location_copy;
	}
	last_bucket.relid = relid;
	last_bucket.tid = *tid;
}

enum class Attempt
{
	kClaimed,
	kBusy,	  // another session holds it (only without wait)
	kShort,	  // its budget does not cover the demand, or it is gone
	kReplaced,	// changed after the transaction's snapshot (REPEATABLE READ and up)
};

// Claims the bucket whose version is at `tid` (or a newer one), by updating
// it; a bucket that is busy or short is left untouched. With `xact_snapshot`
// (REPEATABLE READ and SERIALIZABLE) only a version that snapshot sees is
// claimed: the transaction must not build on a change it cannot see.
Attempt
TryClaim(Relation buckets, ItemPointerData tid, Datum sku, Datum location, int32 demand, int32 reserve, bool wait,
		 Snapshot xact_snapshot, TupleTableSlot *slot, HotClaim *claim)
{
	for (int follow = 0; follow < kMaxFollow; follow++)
	{
		// A remembered line pointer may lie past a table VACUUM truncated.
		if (ItemPointerGetBlockNumber(&tid) >= RelationGetNumberOfBlocks(buckets))
			return Attempt::kShort;
		// A fresh snapshot: the version must be committed (or this
		// transaction's own); a remembered line pointer may name a version an
		// aborted transaction left behind.
		Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
		bool visible = table_tuple_fetch_row_version(buckets, &tid, snapshot, slot);
		if (visible)
			slot_getallattrs(slot);
		if (!visible || CompareText(slot->tts_values[kSku - 1], sku) != 0 ||
			CompareText(slot->tts_values[kLocation - 1], location) != 0 || Budget(slot) < demand)
		{
			UnregisterSnapshot(snapshot);
			return Attempt::kShort;	// gone, reused for another row, or short
		}
		if (xact_snapshot != nullptr && !table_tuple_satisfies_snapshot(buckets, slot, xact_snapshot))
		{
			UnregisterSnapshot(snapshot);
			return Attempt::kReplaced;
		}
		int32 budget = Budget(slot);
		// Lock exactly this version (no following of newer ones): a bucket
		// whose budget was checked is locked or left alone, never a newer
		// version nobody checked. Then the update cannot find it busy.
		TM_FailureData failure;
		TM_Result locked = table_tuple_lock(buckets, &tid, snapshot, slot, GetCurrentCommandId(false),
											LockTupleExclusive, wait ? LockWaitBlock : LockWaitSkip, 0, &failure);
		UnregisterSnapshot(snapshot);
		if (locked == TM_WouldBlock)
			return Attempt::kBusy;
		if (locked == TM_Updated || locked == TM_SelfModified)
		{
			if (ItemPointerEquals(&failure.ctid, &tid))
				return Attempt::kShort;	// deleted
			tid = failure.ctid;	// decide on the newer version
			continue;
		}
		if (locked != TM_Ok)
			return Attempt::kShort;
		slot_getallattrs(slot);
		HeapTuple new_tuple = WithReserved(slot, RelationGetDescr(buckets), kReserved, kVersion, reserve);
		if (TryUpdateRow(buckets, &tid, new_tuple, {kReserved, kVersion}, true, &failure) != TM_Ok)
			elog(ERROR, "stocksync: a locked bucket of sku \"%s\" could not be updated", TextDatumGetCString(sku));
		*claim = HotClaim{true, DatumGetInt16(slot->tts_values[kBucketNo - 1]), budget};
		Remember(RelationGetRelid(buckets), sku, location, &new_tuple->t_self);
		return Attempt::kClaimed;
	}
	return Attempt::kBusy;
}

}  // namespace

bool
ClaimBucket(Datum sku, Datum location, int32 demand, int32 reserve, bool wait, HotClaim *claim)
{
	// Without the tables as this build knows them, or with anything of the
	// user's on stock_bucket that a direct write would pass by (a trigger,
	// a constraint, an index with an expression), no bucket is claimed here:
	// the callers then take the units through SQL under the central row
	// (hot.cpp), slower but as PostgreSQL does it for anyone.
	const DirectCatalog *cat = GetDirectCatalog();
	if (cat == nullptr || !cat->buckets_writable_directly)
		return false;
	// Like SPI before each statement: this transaction's earlier writes count.
	CommandCounterIncrement();
	Relation buckets = table_open(cat->stock_bucket, RowExclusiveLock);
	// Again now that the table is locked: that took the invalidations sent
	// since the catalog was read.
	cat = GetDirectCatalog();
	if (cat == nullptr || !cat->buckets_writable_directly || RelationGetRelid(buckets) != cat->stock_bucket ||
		HasUserTrigger(buckets, TRIGGER_TYPE_UPDATE))
	{
		table_close(buckets, NoLock);
		return false;
	}
	// As for any UPDATE: a table published for updates needs a replica
	// identity.
	CheckCmdReplicaIdentity(buckets, CMD_UPDATE);
	TupleTableSlot *slot = table_slot_create(buckets, nullptr);
	// Under REPEATABLE READ or SERIALIZABLE: the transaction's snapshot (it
	// lives as long as the transaction; the command counter increment above
	// made this transaction's own writes so far part of it).
	Snapshot xact_snapshot = IsolationUsesXactSnapshot() ? GetTransactionSnapshot() : nullptr;
	bool claimed = false;
	bool replaced = false;
	auto attempt = [&](ItemPointerData tid, bool wait_for_it) {
		Attempt result = TryClaim(buckets, tid, sku, location, demand, reserve, wait_for_it, xact_snapshot, slot, claim);
		replaced |= result == Attempt::kReplaced;
		return result == Attempt::kClaimed;
	};
	if (IsLastOf(RelationGetRelid(buckets), sku, location))
		claimed = attempt(last_bucket.tid, false);
	if (!claimed)
	{
		Candidates *c = static_cast<Candidates *>(palloc(sizeof(Candidates)));
		c->demand = demand;
		c->count = 0;
		Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
		Datum key[] = {sku, location};
		ScanByKey(buckets, cat->stock_bucket_pkey, key, 2, snapshot, slot, Collect, c);
		UnregisterSnapshot(snapshot);
		qsort(c->rows, c->count, sizeof(Candidate), CompareCandidates);
		for (int i = 0; i < c->count && !claimed; i++)
			claimed = attempt(c->rows[i].tid, wait);
		pfree(c);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_close(buckets, NoLock);
	// The budget the transaction would need lies in versions it cannot see;
	// going on to the central row would rebalance from them too.
	if (!claimed && replaced)
		ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						errmsg("could not serialize access due to concurrent update"),
						errdetail("A bucket of hot sku \"%s\" changed after this transaction's snapshot.",
								  TextDatumGetCString(sku))));
	CommandCounterIncrement();
	return claimed;
}

namespace {

// Whether this transaction wrote or locked this row version. Read without
// the buffer lock: only this transaction puts its own id there.
bool
HeldByThisTransaction(HeapTupleHeader tuple)
{
	if (!HeapTupleHeaderXminFrozen(tuple) && TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmin(tuple)))
		return true;
	if ((tuple->t_infomask & HEAP_XMAX_INVALID) != 0)
		return false;
	TransactionId xmax = HeapTupleHeaderGetRawXmax(tuple);
	if ((tuple->t_infomask & HEAP_XMAX_IS_MULTI) == 0)
		return TransactionIdIsCurrentTransactionId(xmax);
	MultiXactMember *members;
	int count = GetMultiXactIdMembers(xmax, &members, false, HEAP_XMAX_IS_LOCKED_ONLY(tuple->t_infomask));
	for (int i = 0; i < count; i++)
		if (TransactionIdIsCurrentTransactionId(members[i].xid))
			return true;
	return false;
}

bool
StopAtHeld(TupleTableSlot *slot, void *arg)
{
	if (!HeldByThisTransaction(ExecFetchSlotHeapTuple(slot, false, nullptr)->t_data))
		return true;
	bool isnull;
	*static_cast<int16 *>(arg) = DatumGetInt16(slot_getattr(slot, kBucketNo, &isnull));
	return false;
}

}  // namespace

int16
HeldBucket(Datum sku, Datum location)
{
	const DirectCatalog *cat = GetDirectCatalog();
	if (cat == nullptr || !cat->buckets_writable_directly)
		return -1;
	Relation buckets = table_open(cat->stock_bucket, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(buckets, nullptr);
	Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
	int16 held = -1;
	Datum key[] = {sku, location};
	ScanByKey(buckets, cat->stock_bucket_pkey, key, 2, snapshot, slot, StopAtHeld, &held);
	UnregisterSnapshot(snapshot);
	ExecDropSingleTupleTableSlot(slot);
	table_close(buckets, NoLock);
	return held;
}

}  // namespace stocksync
