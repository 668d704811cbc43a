// reserve() of one line with enough stock, without the executor.
//
// The order of steps is the order of the SPI path, with one difference that
// keeps replays exact: the projection row is locked before the order key is
// probed. Two deliveries of the same order name the same first line, so the
// second waits on that row lock until the first commits or aborts and then
// sees the order (a replay) or not (it reserves afresh). The probe uses a
// dirty snapshot and waits for an in-flight inserter of the same key, which
// covers two different orders sent with one key at once.
#include "pg.hpp"

#include "bundles.hpp"
#include "direct.hpp"
#include "fast_reserve.hpp"
#include "movement.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "common/hashfn.h"
#include "commands/sequence.h"
#include "executor/tuptable.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace stocksync {

namespace {

// Attribute numbers (1-based) of stock_level, as checked by GetDirectCatalog.
constexpr int kSku = 1;
constexpr int kLocation = 2;
constexpr int kOnHand = 3;
constexpr int kReserved = 4;
constexpr int kCommitted = 5;
constexpr int kDamaged = 6;
constexpr int kQualityControl = 7;
constexpr int kSafetyStock = 8;
constexpr int kVersion = 10;

// Attribute numbers of stock_bucket (a hot SKU's buckets, hot.hpp).
constexpr int kBucketSku = 1;
constexpr int kBucketLocation = 2;
constexpr int kBucketNo = 3;
constexpr int kBucketLent = 4;
constexpr int kBucketOnHand = 5;
constexpr int kBucketReserved = 6;
constexpr int kBucketVersion = 12;
constexpr int kMaxBuckets = 256;

int32
Column(TupleTableSlot *slot, int attnum)
{
	return DatumGetInt32(slot->tts_values[attnum - 1]);
}

// lent + on_hand - reserved - committed - damaged - quality_control - safety_stock
int32
BucketBudget(TupleTableSlot *slot)
{
	int32 budget = Column(slot, kBucketLent);
	for (int att = kBucketOnHand; att < kBucketOnHand + 6; att++)
		budget += att == kBucketOnHand ? Column(slot, att) : -Column(slot, att);
	return budget;
}

// Buckets whose budget covered the order when scanned, in this backend's
// order (the hash of bucket number and process id that the SQL path uses).
struct BucketCandidate
{
	ItemPointerData tid;
	uint32 order;
};

struct BucketCandidates
{
	int32 qty;
	int count;
	BucketCandidate rows[kMaxBuckets];
};

bool
CollectBucket(TupleTableSlot *slot, void *arg)
{
	BucketCandidates *c = static_cast<BucketCandidates *>(arg);
	slot_getallattrs(slot);
	if (BucketBudget(slot) >= c->qty && c->count < kMaxBuckets)
	{
		int16 bucket = DatumGetInt16(slot->tts_values[kBucketNo - 1]);
		c->rows[c->count].tid = slot->tts_tid;
		c->rows[c->count++].order = hash_bytes_uint32(static_cast<uint32>(bucket + MyProcPid));
	}
	return true;
}

int
CompareCandidates(const void *a, const void *b)
{
	uint32 x = static_cast<const BucketCandidate *>(a)->order;
	uint32 y = static_cast<const BucketCandidate *>(b)->order;
	return (x > y) - (x < y);
}

// The bucket this backend last reserved from, per the last hot SKU it
// reserved: on Black Friday one SKU takes most orders, and probing that one
// bucket first spares a scan of all of them.
struct LastBucket
{
	text *sku;	// in TopMemoryContext
	text *location;
	int16 bucket;
};
LastBucket last_bucket;

bool
IsLastBucketOf(Datum sku, Datum location)
{
	return last_bucket.sku != nullptr && CompareText(PointerGetDatum(last_bucket.sku), sku) == 0 &&
		   CompareText(PointerGetDatum(last_bucket.location), location) == 0;
}

void
RememberBucket(Datum sku, Datum location, int16 bucket)
{
	if (!IsLastBucketOf(sku, location))
	{
		if (last_bucket.sku != nullptr)
		{
			pfree(last_bucket.sku);
			pfree(last_bucket.location);
		}
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		last_bucket.sku = DatumGetTextPCopy(sku);
		last_bucket.location = DatumGetTextPCopy(location);
		MemoryContextSwitchTo(old);
	}
	last_bucket.bucket = bucket;
}

// The bucket row (sku, location, bucket) as `snapshot` sees it, into `slot`.
bool
FindBucket(Relation buckets, Oid pkey, Datum sku, Datum location, int16 bucket, Snapshot snapshot,
		   TupleTableSlot *slot)
{
	Relation index = index_open(pkey, AccessShareLock);
	ScanKeyData keys[3];
	ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0], F_TEXTEQ,
						   sku);
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[1], F_TEXTEQ,
						   location);
	ScanKeyEntryInitialize(&keys[2], 0, 3, BTEqualStrategyNumber, InvalidOid, InvalidOid, F_INT2EQ,
						   Int16GetDatum(bucket));
	IndexScanDesc scan = index_beginscan(buckets, index, snapshot, 3, 0);
	index_rescan(scan, keys, 3, nullptr, 0);
	bool found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	index_close(index, NoLock);
	return found;
}

// Locks the bucket at `tid` if no other session holds it and checks that, in
// its latest version, its budget still covers qty.
bool
TryLockBucket(Relation buckets, ItemPointer tid, Datum sku, Datum location, int32 qty, Snapshot snapshot,
			  TupleTableSlot *slot)
{
	TM_FailureData failure;
	ItemPointerData target = *tid;
	TM_Result result = table_tuple_lock(buckets, &target, snapshot, slot, GetCurrentCommandId(false),
										LockTupleExclusive, LockWaitSkip, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &failure);
	if (result != TM_Ok)
		return false;
	slot_getallattrs(slot);
	return CompareText(slot->tts_values[kBucketSku - 1], sku) == 0 &&
		   CompareText(slot->tts_values[kBucketLocation - 1], location) == 0 && BucketBudget(slot) >= qty;
}

// Locks a bucket of (sku, location) whose budget covers qty, skipping the
// ones other sessions hold (SKIP LOCKED), into `slot`. False when none can:
// the general path then refills or rebalances (hot.cpp).
bool
LockBucketWithBudget(Relation buckets, Oid pkey, Datum sku, Datum location, int32 qty, Snapshot snapshot,
					 TupleTableSlot *slot)
{
	if (IsLastBucketOf(sku, location) &&
		FindBucket(buckets, pkey, sku, location, last_bucket.bucket, snapshot, slot))
	{
		slot_getallattrs(slot);
		if (BucketBudget(slot) >= qty && TryLockBucket(buckets, &slot->tts_tid, sku, location, qty, snapshot, slot))
			return true;
	}
	BucketCandidates *c = static_cast<BucketCandidates *>(palloc(sizeof(BucketCandidates)));
	c->qty = qty;
	c->count = 0;
	Datum key[] = {sku, location};
	ScanByKey(buckets, pkey, key, 2, snapshot, slot, CollectBucket, c);
	qsort(c->rows, c->count, sizeof(c->rows[0]), CompareCandidates);
	// Every bucket with budget busy, or none funded: the general path
	// refills one from the central row, or queues on a funded one while
	// another session refills (hot.cpp).
	for (int i = 0; i < c->count; i++)
		if (TryLockBucket(buckets, &c->rows[i].tid, sku, location, qty, snapshot, slot))
		{
			RememberBucket(sku, location, DatumGetInt16(slot->tts_values[kBucketNo - 1]));
			return true;
		}
	return false;
}

// Two deliveries of one order on a hot SKU may lock different buckets, so the
// bucket is no queue for them as the projection row is: a transaction-level
// lock on the order key's hash makes the second wait for the first, then see
// its order (a replay). Field 4 keeps it apart from pg_advisory_xact_lock's.
void
LockOrderKey(Datum channel, Datum order_ref)
{
	text *c = DatumGetTextPP(channel);
	text *r = DatumGetTextPP(order_ref);
	uint32 hc = hash_bytes(reinterpret_cast<const unsigned char *>(VARDATA_ANY(c)), VARSIZE_ANY_EXHDR(c));
	uint32 hr = hash_bytes(reinterpret_cast<const unsigned char *>(VARDATA_ANY(r)), VARSIZE_ANY_EXHDR(r));
	LOCKTAG tag;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, hc, hr, 0x5353);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

struct Relations
{
	Relation stock;
	Relation reservation;
	Relation ledger;
	Relation channel;
	Relation buckets;

	void Close()
	{
		table_close(buckets, NoLock);
		table_close(channel, NoLock);
		table_close(ledger, NoLock);
		table_close(reservation, NoLock);
		table_close(stock, NoLock);
	}
};

// Waits out an in-flight insert of the same order key; true if the order
// exists (committed, or inserted earlier in this transaction).
bool
OrderExists(Relation reservation, Oid pkey, const Datum *key)
{
	TupleTableSlot *slot = table_slot_create(reservation, nullptr);
	bool exists = false;
	for (;;)
	{
		SnapshotData dirty;
		InitDirtySnapshot(dirty);
		if (!FindByKey(reservation, pkey, key, 2, &dirty, slot))
			break;
		if (TransactionIdIsValid(dirty.xmin))
		{
			XactLockTableWait(dirty.xmin, reservation, &slot->tts_tid, XLTW_InsertIndex);
			continue;
		}
		exists = true;
		break;
	}
	ExecDropSingleTupleTableSlot(slot);
	return exists;
}

// A hot SKU's units are held in its buckets (hot.cpp), not in the row this
// path updates.
bool
IsHot(const DirectCatalog *cat, Relation buckets, Datum sku, Datum location, Snapshot snapshot)
{
	TupleTableSlot *slot = table_slot_create(buckets, nullptr);
	Datum key[] = {sku, location};
	bool hot = FindByKey(buckets, cat->stock_bucket_pkey, key, 2, snapshot, slot);
	ExecDropSingleTupleTableSlot(slot);
	return hot;
}

}  // namespace

FastReserve
ReserveFast(Datum channel, Datum order_ref, const OrderLine &line, Datum ttl, int64 *reservation_id,
			TimestampTz *expires_at)
{
	Datum sku = line.sku;
	Datum location = line.location;
	int32 qty = line.qty;
	const DirectCatalog *cat = GetDirectCatalog();
	if (cat == nullptr)
		return FastReserve::kFallback;
	// Like SPI before each statement: make this transaction's earlier writes
	// (an earlier call in the same statement) visible to the probes below.
	CommandCounterIncrement();

	Relations rels{table_open(cat->stock_level, RowExclusiveLock), table_open(cat->reservation, RowExclusiveLock),
				   table_open(cat->ledger, RowExclusiveLock), table_open(cat->channel, AccessShareLock),
				   table_open(cat->stock_bucket, RowExclusiveLock)};
	if (HasUserTrigger(rels.stock, TRIGGER_TYPE_UPDATE) || HasUserTrigger(rels.reservation, TRIGGER_TYPE_INSERT) ||
		HasUserTrigger(rels.ledger, TRIGGER_TYPE_INSERT) || HasUserTrigger(rels.buckets, TRIGGER_TYPE_UPDATE))
	{
		rels.Close();
		return FastReserve::kFallback;
	}
	// A bundle component's change must raise its bundles' versions, which the
	// deferred cascade trigger does for the general path's updates; the
	// direct update below would bypass it.
	if (IsBundleComponent(sku))
	{
		rels.Close();
		return FastReserve::kFallback;
	}

	Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
	TupleTableSlot *channel_slot = table_slot_create(rels.channel, nullptr);
	bool channel_known = FindByKey(rels.channel, cat->channel_pkey, &channel, 1, snapshot, channel_slot);
	ExecDropSingleTupleTableSlot(channel_slot);
	bool hot = channel_known && IsHot(cat, rels.buckets, sku, location, snapshot);

	// The row that takes the units, locked: the projection row (following any
	// newer version), or for a hot SKU one of its buckets with the budget.
	Relation held_rel = hot ? rels.buckets : rels.stock;
	TupleTableSlot *held = table_slot_create(held_rel, nullptr);
	Datum stock_key[] = {sku, location};
	Datum order_key[] = {channel, order_ref};
	bool locked = false;
	bool replay = false;
	if (hot)
	{
		LockOrderKey(channel, order_ref);
		replay = OrderExists(rels.reservation, cat->reservation_pkey, order_key);
		locked = !replay && LockBucketWithBudget(rels.buckets, cat->stock_bucket_pkey, sku, location, qty, snapshot,
												 held);
	}
	else if (channel_known && FindByKey(rels.stock, cat->stock_level_pkey, stock_key, 2, snapshot, held))
	{
		TM_FailureData failure;
		TM_Result result = table_tuple_lock(rels.stock, &held->tts_tid, snapshot, held,
											GetCurrentCommandId(false), LockTupleExclusive, LockWaitBlock,
											TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &failure);
		slot_getallattrs(held);
		locked = result == TM_Ok && CompareText(held->tts_values[kSku - 1], sku) == 0 &&
				 CompareText(held->tts_values[kLocation - 1], location) == 0;
		replay = locked && OrderExists(rels.reservation, cat->reservation_pkey, order_key);
	}
	UnregisterSnapshot(snapshot);
	if (replay)
	{
		ExecDropSingleTupleTableSlot(held);
		rels.Close();
		return FastReserve::kReplay;
	}
	if (!locked)
	{
		ExecDropSingleTupleTableSlot(held);
		rels.Close();
		return FastReserve::kFallback;
	}

	if (!hot)
	{
		int32 available = Column(held, kOnHand) - Column(held, kReserved) - Column(held, kCommitted) -
						  Column(held, kDamaged) - Column(held, kQualityControl) - Column(held, kSafetyStock);
		if (available < qty)
		{
			// Short: the general path refuses or records, under the lock we hold.
			ExecDropSingleTupleTableSlot(held);
			rels.Close();
			return FastReserve::kFallback;
		}
	}

	// The order row.
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	*reservation_id = nextval_internal(cat->reservation_id_seq, false);
	*expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(now), ttl));
	Datum order[] = {Int64GetDatum(*reservation_id),
					 channel,
					 order_ref,
					 CStringGetTextDatum("reserved"),
					 TextArray(&line, 1, false),
					 TextArray(&line, 1, true),
					 IntArray(&line.qty, 1),
					 (Datum) 0,
					 (Datum) 0,
					 (Datum) 0,
					 TimestampTzGetDatum(now),
					 TimestampTzGetDatum(*expires_at),
					 TimestampTzGetDatum(now)};
	bool order_nulls[] = {false, false, false, false, false, false, false, true, true, true, false, false, false};
	InsertRow(rels.reservation, order, order_nulls);

	// The row: reserved + qty, version + 1.
	int reserved_att = hot ? kBucketReserved : kReserved;
	int version_att = hot ? kBucketVersion : kVersion;
	bool should_free;
	HeapTuple old_tuple = ExecFetchSlotHeapTuple(held, true, &should_free);
	Datum replace_values[kBucketVersion] = {};
	bool replace_nulls[kBucketVersion] = {};
	bool replace[kBucketVersion] = {};
	replace_values[reserved_att - 1] = Int32GetDatum(Column(held, reserved_att) + qty);
	replace[reserved_att - 1] = true;
	replace_values[version_att - 1] = Int64GetDatum(DatumGetInt64(held->tts_values[version_att - 1]) + 1);
	replace[version_att - 1] = true;
	HeapTuple new_tuple =
		heap_modify_tuple(old_tuple, RelationGetDescr(held_rel), replace_values, replace_nulls, replace);
	UpdateRow(held_rel, &held->tts_tid, new_tuple);

	// The ledger row.
	Datum entry[] = {Int64GetDatum(nextval_internal(cat->ledger_id_seq, false)),
					 TimestampTzGetDatum(now),
					 CStringGetTextDatum("RESERVE"),
					 sku,
					 location,
					 Int32GetDatum(qty),
					 Int32GetDatum(0),
					 Int32GetDatum(qty),
					 Int32GetDatum(0),
					 Int32GetDatum(0),
					 Int32GetDatum(0),
					 Int32GetDatum(0),
					 Int32GetDatum(0),
					 Int64GetDatum(*reservation_id),
					 (Datum) 0,
					 (Datum) 0};
	bool entry_nulls[] = {false, false, false, false, false, false, false, false,
						  false, false, false, false, false, false, true,  true};
	InsertRow(rels.ledger, entry, entry_nulls);

	if (should_free)
		heap_freetuple(old_tuple);
	ExecDropSingleTupleTableSlot(held);
	rels.Close();
	CommandCounterIncrement();
	return FastReserve::kHeld;
}

}  // namespace stocksync
