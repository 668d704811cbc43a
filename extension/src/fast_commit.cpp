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
#include "commands/sequence.h"
#include "executor/executor.h"
#include "utils/array.h"
}

namespace stocksync {

namespace {

// A line to commit: its projection row, locked, and that row's new version.
struct CommitLine
{
	Datum sku;
	Datum location;
	int32 units;
	ItemPointerData tid;
	HeapTuple new_row;
};

int32
Column(TupleTableSlot *slot, int attnum)
{
	return DatumGetInt32(slot->tts_values[attnum - 1]);
}

// The order's lines and what of them was shipped and returned, copied out
// of the row.
struct OrderLines
{
	int count = 0;
	Datum *skus = nullptr;
	Datum *locations = nullptr;
	int32 *quantities = nullptr;
	int32 *fulfilled = nullptr;
	int32 *returned = nullptr;
};

// The order's text[] column, `count` elements, none NULL.
bool
ReadTexts(TupleTableSlot *order, int attnum, int count, Datum **values)
{
	if (order->tts_isnull[attnum - 1])
		return false;
	ArrayType *array = DatumGetArrayTypeP(order->tts_values[attnum - 1]);
	if (array_contains_nulls(array))
		return false;
	int n;
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, values, nullptr, &n);
	for (int i = 0; i < n; i++)
		(*values)[i] = PointerGetDatum(DatumGetTextPCopy((*values)[i]));
	return n == count;
}

// The order's int[] column, none NULL: `count` elements, or any number when
// *count is -1 (then set). A NULL column reads as zeros, as the general path
// reads fulfilled and returned.
bool
ReadInts(TupleTableSlot *order, int attnum, int *count, int32 **values)
{
	if (order->tts_isnull[attnum - 1])
	{
		*values = static_cast<int32 *>(palloc0(sizeof(int32) * Max(*count, 1)));
		return *count >= 0;
	}
	ArrayType *array = DatumGetArrayTypeP(order->tts_values[attnum - 1]);
	if (array_contains_nulls(array))
		return false;
	int n;
	*values = ReadIntArray(PointerGetDatum(array), &n);
	if (*count < 0)
		*count = n;
	return n == *count;
}

// false for anything the general path should judge: no lines, a NULL
// element, arrays of different lengths.
bool
ReadOrderLines(TupleTableSlot *order, OrderLines *lines)
{
	using namespace order_column;
	lines->count = -1;
	return ReadInts(order, kQuantities, &lines->count, &lines->quantities) && lines->count > 0 &&
		   ReadTexts(order, kSkus, lines->count, &lines->skus) &&
		   ReadTexts(order, kLocations, lines->count, &lines->locations) &&
		   ReadInts(order, kFulfilled, &lines->count, &lines->fulfilled) &&
		   ReadInts(order, kReturned, &lines->count, &lines->returned);
}

// Whether `next` comes after `line` in (sku, location) byte order, as the
// lines of an order are stored (order.cpp NormalizeLines).
bool
LineFollows(const CommitLine &line, const CommitLine &next)
{
	int c = CompareText(line.sku, next.sku);
	return c < 0 || (c == 0 && CompareText(line.location, next.location) < 0);
}

// Locks the line's projection row (following any newer version) and makes
// its committed version: reserved - units, committed + units, version + 1.
// false when the row is missing, hot, renamed meanwhile or would not fit.
bool
LockProjectionRow(DirectRelations &rels, const DirectCatalog *cat, CommitLine *line)
{
	using namespace stock_column;
	TupleTableSlot *row = rels.row;
	Datum key[] = {line->sku, line->location};
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
	if (CompareText(row->tts_values[kSku - 1], line->sku) != 0 ||
		CompareText(row->tts_values[kLocation - 1], line->location) != 0 ||
		DatumGetInt16(row->tts_values[kBuckets - 1]) != 0)
		return false;
	int64 reserved = static_cast<int64>(Column(row, kReserved)) - line->units;
	int64 committed = static_cast<int64>(Column(row, kCommitted)) + line->units;
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

void
AppendCommitRow(Relation ledger, const DirectCatalog *cat, const CommitLine &line, int64 reservation_id,
				TimestampTz now)
{
	Datum entry[] = {Int64GetDatum(nextval_internal(cat->ledger_id_seq, false)),
					 TimestampTzGetDatum(now),
					 CStringGetTextDatum("COMMIT"),
					 line.sku,
					 line.location,
					 Int32GetDatum(line.units),
					 Int32GetDatum(0),
					 Int32GetDatum(-line.units),
					 Int32GetDatum(line.units),
					 Int32GetDatum(0),
					 Int32GetDatum(0),
					 Int32GetDatum(0),
					 Int32GetDatum(0),
					 Int64GetDatum(reservation_id),
					 (Datum) 0,
					 (Datum) 0};
	bool nulls[] = {false, false, false, false, false, false, false, false,
					false, false, false, false, false, false, true,	 true};
	InsertRow(ledger, entry, nulls);
}

// The order's committed version: state, fulfilled and returned (written as
// arrays, as the general path's SaveReservation writes them), no expiry,
// updated now.
HeapTuple
CommittedOrder(TupleTableSlot *order, TupleDesc desc, const OrderLines &lines, TimestampTz now)
{
	using namespace order_column;
	int columns[] = {kState, kFulfilled, kReturned, kExpiresAt, kUpdatedAt};
	Datum values[] = {CStringGetTextDatum("committed"), IntArray(lines.fulfilled, lines.count),
					  IntArray(lines.returned, lines.count), (Datum) 0, TimestampTzGetDatum(now)};
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
	OrderLines order_lines;
	bool fast = LockOrderRow(rels, cat, channel, order_ref, order) &&
				strcmp(TextDatumGetCString(order->tts_values[kState - 1]), "reserved") == 0 &&
				ReadOrderLines(order, &order_lines);
	int count = fast ? order_lines.count : 0;
	CommitLine *lines = static_cast<CommitLine *>(palloc0(sizeof(CommitLine) * Max(count, 1)));
	for (int i = 0; fast && i < count; i++)
	{
		lines[i] = {order_lines.skus[i], order_lines.locations[i],
					order_lines.quantities[i] - order_lines.fulfilled[i], {}, nullptr};
		// Stored merged and sorted, as reserve() stores them: a line
		// repeated would replace its row twice from the version locked here.
		if (i > 0 && !LineFollows(lines[i - 1], lines[i]))
			fast = false;
		else if (lines[i].units == 0)
			continue;
		else
			fast = lines[i].units > 0 && !MayBeBundleComponent(lines[i].sku) &&
				   LockProjectionRow(rels, cat, &lines[i]);
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
		AppendCommitRow(rels.ledger, cat, lines[i], reservation_id, now);
	}
	UpdateRow(rels.reservation, &order->tts_tid,
			  CommittedOrder(order, RelationGetDescr(rels.reservation), order_lines, now),
			  {kState, kFulfilled, kReturned, kExpiresAt, kUpdatedAt});
	ExecDropSingleTupleTableSlot(order);
	rels.Close();
	CommandCounterIncrement();
	for (int i = 0; i < count; i++)
		if (lines[i].units != 0)
			CascadeAfterDirectWrite(lines[i].sku, components_seen);
	return true;
}

}  // namespace stocksync
