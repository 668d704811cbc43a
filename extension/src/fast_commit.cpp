// commit() of a held order of plain SKUs, without the executor.
//
// The general path (holds.cpp) locks the order row, then for each line, in
// the order's stored (sku, location) order, updates the projection row and
// appends a COMMIT ledger row, then updates the order: a statement each, each
// with its executor start-up, and the projection's update with its triggers
// (the foreign keys are checked again for a row this transaction reserved,
// as a paid webhook order's is). That was about 110 us an order, four times
// the reservation itself. This path takes the same locks in the same order,
// decides everything before it writes anything (so that stepping aside never
// leaves half a commit for the general path to apply again), and writes the
// same rows through the table AM, as reserve()'s fast path does
// (fast_reserve.cpp, whose conditions it shares: no trigger, foreign key,
// CHECK constraint, rule or row-level security of the user's on the three
// tables, READ COMMITTED, no hot SKU, no bundle component).
#include "pg.hpp"

#include "bundles.hpp"
#include "direct.hpp"
#include "direct_tables.hpp"
#include "fast_commit.hpp"
#include "movement.hpp"
#include "order.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "executor/executor.h"
}

namespace stocksync {

namespace {

// A line to commit: its projection row, locked, and that row's new version.
struct CommitLine
{
	const OrderLine *line;
	int32 units;
	ItemPointerData tid;
	HeapTuple new_row;
};

// Locks the line's projection row (following any newer version) and makes
// its committed version: reserved - units, committed + units, version + 1.
// false when the row is missing, hot, renamed meanwhile or would not fit.
bool
LockProjectionRow(DirectRelations &rels, const DirectCatalog *cat, CommitLine *line)
{
	using namespace stock_column;
	TupleTableSlot *row = rels.row;
	Datum key[] = {line->line->sku, line->line->location};
	if (!FindByKey(rels.stock, cat->stock_level_pkey, key, 2, rels.snapshot, row))
		return false;
	// A hot SKU's commit goes to a free bucket and leaves the central row
	// unlocked (movement.cpp ApplyToFreeBucket): looked at before locking,
	// so that the general path takes no lock it would not. (One made hot
	// between the look and the lock stays locked: set_hot() racing a
	// payment.)
	slot_getallattrs(row);
	if (DatumGetInt16(row->tts_values[kBuckets - 1]) != 0)
		return false;
	// The lock the general path's UPDATE takes (no key column changes).
	TM_FailureData failure;
	if (table_tuple_lock(rels.stock, &row->tts_tid, rels.snapshot, row, GetCurrentCommandId(false),
						 LockTupleNoKeyExclusive, LockWaitBlock, TUPLE_LOCK_FLAG_FIND_LAST_VERSION,
						 &failure) != TM_Ok)
		return false;
	slot_getallattrs(row);
	if (CompareText(row->tts_values[kSku - 1], line->line->sku) != 0 ||
		CompareText(row->tts_values[kLocation - 1], line->line->location) != 0 ||
		DatumGetInt16(row->tts_values[kBuckets - 1]) != 0)
		return false;
	int64 reserved = static_cast<int64>(IntColumn(row, kReserved)) - line->units;
	int64 committed = static_cast<int64>(IntColumn(row, kCommitted)) + line->units;
	if (reserved < PG_INT32_MIN || committed > PG_INT32_MAX)
		return false;  // the general path reports it
	int columns[] = {kReserved, kCommitted, kVersion};
	Datum values[] = {Int32GetDatum(static_cast<int32>(reserved)), Int32GetDatum(static_cast<int32>(committed)),
					  Int64GetDatum(DatumGetInt64(row->tts_values[kVersion - 1]) + 1)};
	bool nulls[] = {false, false, false};
	line->tid = row->tts_tid;
	line->new_row = heap_modify_tuple_by_cols(ExecFetchSlotHeapTuple(row, false, nullptr),
											  RelationGetDescr(rels.stock), 3, columns, values, nulls);
	return true;
}

// The order's committed version: state, fulfilled and returned (written as
// arrays, as the general path's SaveReservation writes them), no expiry,
// updated now.
HeapTuple
CommittedOrder(TupleTableSlot *order, TupleDesc desc, const OrderLine *lines, int count, TimestampTz now)
{
	using namespace order_column;
	int32 *fulfilled = static_cast<int32 *>(palloc(sizeof(int32) * Max(count, 1)));
	int32 *returned = static_cast<int32 *>(palloc(sizeof(int32) * Max(count, 1)));
	for (int i = 0; i < count; i++)
	{
		fulfilled[i] = lines[i].fulfilled;
		returned[i] = lines[i].returned;
	}
	int columns[] = {kState, kFulfilled, kReturned, kExpiresAt, kUpdatedAt};
	Datum values[] = {CStringGetTextDatum("committed"), IntArray(fulfilled, count), IntArray(returned, count),
					  (Datum) 0, TimestampTzGetDatum(now)};
	bool nulls[] = {false, false, false, true, false};
	return heap_modify_tuple_by_cols(ExecFetchSlotHeapTuple(order, false, nullptr), desc, 5, columns, values,
									 nulls);
}

// Locks the order row (following any newer version); false when there is
// none or its key changed meanwhile (a channel renamed).
bool
LockOrderRow(DirectRelations &rels, const DirectCatalog *cat, Datum channel, Datum order_ref, TupleTableSlot *order)
{
	using namespace order_column;
	Datum key[] = {channel, order_ref};
	if (!FindByKey(rels.reservation, cat->reservation_pkey, key, 2, rels.snapshot, order))
		return false;
	TM_FailureData failure;
	if (table_tuple_lock(rels.reservation, &order->tts_tid, rels.snapshot, order, GetCurrentCommandId(false),
						 LockTupleExclusive, LockWaitBlock, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &failure) != TM_Ok)
		return false;
	// Copied out of its buffer, as SPI copies the general path's row: the
	// lines' rows are waited for next, and a pin kept meanwhile holds off
	// VACUUM's cleanup lock of the page for as long, a wait the deadlock
	// detector does not see (pay_wait_vs_vacuum_freeze.spec).
	ExecMaterializeSlot(order);
	slot_getallattrs(order);
	return CompareText(order->tts_values[kChannel - 1], channel) == 0 &&
		   CompareText(order->tts_values[kOrderRef - 1], order_ref) == 0;
}

}  // namespace

bool
CommitFast(Datum channel, Datum order_ref)
{
	using namespace order_column;
	const DirectCatalog *cat = GetDirectCatalog();
	// Under REPEATABLE READ or SERIALIZABLE a row changed after the
	// transaction's snapshot must fail it, as the executor does; this path
	// reads the latest version. A read-only transaction (a standby's too)
	// gets the general path's error before anything is locked or written:
	// the table AM checks no such thing, and nextval() would refuse only
	// after the rows were replaced.
	if (XactReadOnly || cat == nullptr || !cat->writable_directly || IsolationUsesXactSnapshot())
		return false;
	// As SPI before each statement: this transaction's earlier writes (the
	// order's reservation in the same statement) become visible below.
	CommandCounterIncrement();
	DirectRelations rels(cat);
	if (!rels.StillAsCataloged() || HasUserTrigger(rels.stock, TRIGGER_TYPE_UPDATE) ||
		HasUserTrigger(rels.reservation, TRIGGER_TYPE_UPDATE) || HasUserTrigger(rels.ledger, TRIGGER_TYPE_INSERT))
	{
		rels.Close();
		return false;
	}
	uint64 components_seen = ComponentCacheGeneration();
	rels.snapshot = RegisterSnapshot(GetLatestSnapshot());
	TupleTableSlot *order = table_slot_create(rels.reservation, nullptr);
	rels.row = table_slot_create(rels.stock, nullptr);

	// Everything decided first: the order held, each line's row locked.
	bool fast = LockOrderRow(rels, cat, channel, order_ref, order) &&
				strcmp(TextDatumGetCString(order->tts_values[kState - 1]), "reserved") == 0;
	// The line columns follow each other from skus to returned (as
	// GetDirectCatalog checks), as LinesFromColumns reads them; the slot
	// keeps the row they point into until the end.
	int count = 0;
	OrderLine *order_lines = fast ? LinesFromColumns(&order->tts_values[kSkus - 1], &order->tts_isnull[kSkus - 1],
													 &count)
								  : nullptr;
	fast = fast && count > 0;
	CommitLine *lines = static_cast<CommitLine *>(palloc0(sizeof(CommitLine) * Max(count, 1)));
	for (int i = 0; fast && i < count; i++)
	{
		const OrderLine &line = order_lines[i];
		lines[i] = {&line, line.qty - line.fulfilled, {}, nullptr};
		// Stored merged and sorted, as reserve() stores them: a line
		// repeated would replace its row twice from the version locked here.
		if (i > 0 && CompareLines(&order_lines[i - 1], &line) >= 0)
			fast = false;
		else if (lines[i].units != 0)
			fast = lines[i].units > 0 && !MayBeBundleComponent(line.sku) && LockProjectionRow(rels, cat, &lines[i]);
	}
	if (!fast)
	{
		ExecDropSingleTupleTableSlot(order);
		rels.Close();
		return false;
	}

	// The writes, in the general path's order: each line's projection row
	// and ledger row, then the order.
	CheckCmdReplicaIdentity(rels.stock, CMD_UPDATE);
	CheckCmdReplicaIdentity(rels.reservation, CMD_UPDATE);
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	int64 reservation_id = DatumGetInt64(order->tts_values[kId - 1]);
	for (int i = 0; i < count; i++)
	{
		if (lines[i].units == 0)
			continue;
		UpdateRow(rels.stock, &lines[i].tid, lines[i].new_row,
				  {stock_column::kReserved, stock_column::kCommitted, stock_column::kVersion});
		InsertLedgerRow(rels.ledger, cat->ledger_id_seq, "COMMIT", order_lines[i].sku, order_lines[i].location,
						lines[i].units, -lines[i].units, lines[i].units, reservation_id, now);
	}
	UpdateRow(rels.reservation, &order->tts_tid,
			  CommittedOrder(order, RelationGetDescr(rels.reservation), order_lines, count, now),
			  {kState, kFulfilled, kReturned, kExpiresAt, kUpdatedAt});
	rels.Close();
	CommandCounterIncrement();
	for (int i = 0; i < count; i++)
		if (lines[i].units != 0)
			CascadeAfterDirectWrite(order_lines[i].sku, components_seen);
	ExecDropSingleTupleTableSlot(order);
	return true;
}

}  // namespace stocksync
