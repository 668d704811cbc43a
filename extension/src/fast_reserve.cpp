// reserve() of one line with enough stock, without the executor.
//
// The order key is claimed by inserting the order row first: its unique
// index checks and takes the key in one descent (InsertRowClaimingKey), so a
// new order, nearly every call, needs neither a probe of the key nor the
// order key's lock. A key another row version has, committed (a replay), in
// flight (the same order delivered twice at once) or this transaction's own,
// leaves nothing behind (kTaken): reserve() replays a committed or own order
// at once, and otherwise takes the order key's lock on the general path and
// waits for the other delivery's outcome. A new order whose line this path
// cannot hold (a shortage, a contended bucket) keeps its order row
// (kClaimed), and the general path holds the line under it.
//
// The projection row of a plain SKU that nobody held when it was read is
// replaced directly: heap_update replaces that version only if it is still
// the latest (waiting out a holder that came in since, then reporting it
// replaced), so the quantities checked are exactly the ones replaced, and no
// separate row lock (one WAL record and one more page change) is taken. A row
// someone holds or has replaced meanwhile is locked, following its newest
// version, and checked again: the queue of a busy SKU stays a queue.
//
// This path runs as reserve()'s caller (definer.hpp): it resolves no names,
// checks no privileges and runs none of the user's code. It steps aside for
// anything of the user's on its tables that a direct write would pass by: a
// trigger, a foreign key, a CHECK constraint, a rule, row-level security, an
// index with an expression or predicate, a column of another type
// (direct.cpp's catalog and HasUserTrigger).
#include "pg.hpp"

#include "bucket_claim.hpp"
#include "bundles.hpp"
#include "direct.hpp"
#include "direct_tables.hpp"
#include "fast_reserve.hpp"
#include "key_cache.hpp"
#include "movement.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "storage/lmgr.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace stocksync {

namespace {

using namespace stock_column;

int32
Available(TupleTableSlot *row)
{
	return IntColumn(row, kOnHand) - IntColumn(row, kReserved) - IntColumn(row, kCommitted) - IntColumn(row, kDamaged) -
		   IntColumn(row, kQualityControl) - IntColumn(row, kSafetyStock);
}

// Whether the row version in the slot had no updater or locker when it was
// read (its xmax is known invalid). A hint only, read without the buffer
// lock: heap_update decides under it.
bool
Unheld(TupleTableSlot *row)
{
	HeapTuple tuple = ExecFetchSlotHeapTuple(row, false, nullptr);
	return (tuple->t_data->t_infomask & HEAP_XMAX_INVALID) != 0;
}

// Whether stocksync.channel has the code, as a new snapshot sees it.
bool
ChannelExists(Datum code)
{
	const DirectCatalog *cat = GetDirectCatalog();
	// Changed shape meanwhile: "unknown" sends the call to the general path.
	return cat != nullptr && KeyExists(cat->channel, cat->channel_pkey, &code, 1);
}

// The order row of a single-line reservation held until `expires_at`.
bool
ClaimOrder(Relation reservation, Datum channel, Datum order_ref, const OrderLine &line, int64 id,
		   TimestampTz now, TimestampTz expires_at)
{
	Datum order[] = {Int64GetDatum(id),
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
					 TimestampTzGetDatum(expires_at),
					 TimestampTzGetDatum(now)};
	bool nulls[] = {false, false, false, false, false, false, false, true, true, true, false, false, false};
	return InsertRowClaimingKey(reservation, order, nulls);
}

}  // namespace

bool
OrderVisible(Datum channel, Datum order_ref)
{
	const DirectCatalog *cat = GetDirectCatalog();
	Datum key[] = {channel, order_ref};
	// Under REPEATABLE READ or SERIALIZABLE as the transaction sees it: an
	// order committed after its snapshot is no replay there (inserting it
	// again fails the transaction with a serialization failure).
	// The caller inserts the order next: the table's lock for that, taken now.
	return cat != nullptr && KeyExists(cat->reservation, cat->reservation_pkey, key, 2,
									   IsolationUsesXactSnapshot() ? GetTransactionSnapshot() : nullptr,
									   RowExclusiveLock);
}

bool
WaitForOrderInFlight(Datum channel, Datum order_ref)
{
	const DirectCatalog *cat = GetDirectCatalog();
	if (cat == nullptr)
		return false;
	Relation reservation = table_open(cat->reservation, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(reservation, nullptr);
	Datum key[] = {channel, order_ref};
	bool seen = false;
	for (;;)
	{
		SnapshotData dirty;
		InitDirtySnapshot(dirty);
		if (!FindByKey(reservation, cat->reservation_pkey, key, 2, &dirty, slot))
			break;
		seen = true;
		if (!TransactionIdIsValid(dirty.xmin))
			break;	// committed since the caller looked
		// As _bt_check_unique does: a row still being claimed is waited for
		// only until its claim is decided (it may be given up at once); a
		// claimed one until its transaction ends.
		if (dirty.speculativeToken != 0)
			SpeculativeInsertionWait(dirty.xmin, dirty.speculativeToken);
		else
			XactLockTableWait(dirty.xmin, reservation, &slot->tts_tid, XLTW_InsertIndex);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_close(reservation, NoLock);
	return seen;
}

FastReserve
ReserveFast(Datum channel, Datum order_ref, const OrderLine &line, Datum ttl, int64 *reservation_id,
			TimestampTz *expires_at)
{
	Datum sku = line.sku;
	Datum location = line.location;
	int32 qty = line.qty;
	const DirectCatalog *cat = GetDirectCatalog();
	// Under REPEATABLE READ or SERIALIZABLE a row replaced after the
	// transaction's snapshot must fail the transaction (a serialization
	// failure), as the general path's executor does; this path reads the
	// latest version.
	if (cat == nullptr || !cat->writable_directly || IsolationUsesXactSnapshot())
		return FastReserve::kFallback;
	// Like SPI before each statement: make this transaction's earlier writes
	// (an earlier call in the same statement) visible to the reads below.
	CommandCounterIncrement();

	DirectRelations rels(cat);
	// The direct writes below fire no trigger: a table with one of the user's
	// takes the general path, and so does a bundle component, whose change
	// must raise its bundles' versions (the deferred cascade trigger does
	// that for the general path's updates).
	if (!rels.StillAsCataloged() || HasUserTrigger(rels.stock, TRIGGER_TYPE_UPDATE) ||
		HasUserTrigger(rels.reservation, TRIGGER_TYPE_INSERT) || HasUserTrigger(rels.ledger, TRIGGER_TYPE_INSERT) ||
		MayBeBundleComponent(sku))
	{
		rels.Close();
		return FastReserve::kFallback;
	}
	uint64 components_seen = ComponentCacheGeneration();

	bool channel_known = KeyCacheLookup(KeyCacheId::kChannels, cat->channel, "code", channel, ChannelExists);
	rels.snapshot = RegisterSnapshot(GetLatestSnapshot());
	// The projection row, as the snapshot sees it: a hot SKU (buckets > 0)
	// takes its units from a bucket instead (hot.cpp), whose claim steps
	// aside itself for anything of the user's on stock_bucket.
	TupleTableSlot *held = rels.row = table_slot_create(rels.stock, nullptr);
	Datum stock_key[] = {sku, location};
	bool found = channel_known && FindByKey(rels.stock, cat->stock_level_pkey, stock_key, 2, rels.snapshot, held);
	if (found)
		slot_getallattrs(held);
	bool hot = found && DatumGetInt16(held->tts_values[kBuckets - 1]) > 0;
	if (!found)
	{
		// Unknown channel, SKU or location, or a row that needs creating:
		// the general path reports or does it.
		rels.Close();
		return FastReserve::kFallback;
	}
	// As for any UPDATE: a table published for updates needs a replica
	// identity (a bucket claim checks its own table).
	if (!hot)
		CheckCmdReplicaIdentity(rels.stock, CMD_UPDATE);

	// The order row first: it claims the order key.
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	*reservation_id = nextval_internal(cat->reservation_id_seq, false);
	*expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(now), ttl));
	if (!ClaimOrder(rels.reservation, channel, order_ref, line, *reservation_id, now, *expires_at))
	{
		rels.Close();
		return FastReserve::kTaken;
	}

	// The units: for a hot SKU taken from one of its buckets with the budget
	// (bucket_claim.hpp); otherwise from the projection row, replaced at once
	// if nobody holds it, else locked here (following any newer version) and
	// replaced below.
	bool locked = false;
	bool updated = false;
	if (hot)
	{
		HotClaim claim;
		locked = ClaimBucket(sku, location, qty, qty, false, &claim);
	}
	else
	{
		if (Available(held) >= qty && Unheld(held))
		{
			// A holder that came in since the look is waited out (heap_update
			// does not support not waiting); the row is then reported
			// replaced, and the lock path below takes it from there.
			HeapTuple new_tuple = WithReserved(held, RelationGetDescr(rels.stock), kReserved, kVersion, qty);
			TM_FailureData failure;
			updated = locked = TryUpdateRow(rels.stock, &held->tts_tid, new_tuple, {kReserved, kVersion}, true, &failure) == TM_Ok;
			heap_freetuple(new_tuple);
		}
		if (!updated)
		{
			TM_FailureData failure;
			TM_Result result = table_tuple_lock(rels.stock, &held->tts_tid, rels.snapshot, held,
												GetCurrentCommandId(false), LockTupleExclusive, LockWaitBlock,
												TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &failure);
			slot_getallattrs(held);
			// A SKU turned hot meanwhile, or short, is left to the general
			// path (which refuses or records short lines under this lock).
			locked = result == TM_Ok && CompareText(held->tts_values[kSku - 1], sku) == 0 &&
					 CompareText(held->tts_values[kLocation - 1], location) == 0 &&
					 DatumGetInt16(held->tts_values[kBuckets - 1]) == 0 && Available(held) >= qty;
		}
	}
	if (!locked)
	{
		// The order row stays: the general path holds the line under it.
		rels.Close();
		CommandCounterIncrement();
		return FastReserve::kClaimed;
	}

	// The projection row, locked above: reserved + qty, version + 1 (a bucket
	// was updated by its claim, an unheld row already).
	if (!hot && !updated)
	{
		HeapTuple new_tuple = WithReserved(held, RelationGetDescr(rels.stock), kReserved, kVersion, qty);
		UpdateRow(rels.stock, &held->tts_tid, new_tuple, {kReserved, kVersion});
		heap_freetuple(new_tuple);
	}

	// The ledger row.
	InsertLedgerRow(rels.ledger, cat->ledger_id_seq, "RESERVE", sku, location, qty, qty, 0, *reservation_id, now);

	rels.Close();
	CommandCounterIncrement();
	CascadeAfterDirectWrite(sku, components_seen);
	return FastReserve::kHeld;
}

}  // namespace stocksync
