// Direct heap and index access for the reservation fast path; see direct.hpp.
#include "pg.hpp"

#include "direct.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace stocksync {

namespace {

DirectCatalog catalog;
bool catalog_valid = false;

// A column the fast path reads or writes as a Datum of `type`.
struct Column
{
	const char *name;
	Oid type;
};

// The tables as the fast path was written for them, columns in table order.
constexpr Column kStockLevelColumns[] = {
	{"sku", TEXTOID},		  {"location", TEXTOID},	  {"on_hand", INT4OID},	 {"reserved", INT4OID},
	{"committed", INT4OID},	  {"damaged", INT4OID},		  {"quality_control", INT4OID}, {"safety_stock", INT4OID},
	{"incoming", INT4OID},	  {"version", INT8OID},		  {"buckets", INT2OID}};
constexpr Column kReservationColumns[] = {
	{"id", INT8OID},			 {"channel", TEXTOID},		  {"order_ref", TEXTOID},	   {"state", TEXTOID},
	{"skus", TEXTARRAYOID},		 {"locations", TEXTARRAYOID}, {"quantities", INT4ARRAYOID}, {"shortages", INT4ARRAYOID},
	{"fulfilled", INT4ARRAYOID}, {"returned", INT4ARRAYOID},  {"created_at", TIMESTAMPTZOID}, {"expires_at", TIMESTAMPTZOID},
	{"updated_at", TIMESTAMPTZOID}};
constexpr Column kLedgerColumns[] = {
	{"id", INT8OID},		   {"at", TIMESTAMPTZOID},		{"kind", TEXTOID},		   {"sku", TEXTOID},
	{"location", TEXTOID},	   {"qty", INT4OID},			{"d_on_hand", INT4OID},	   {"d_reserved", INT4OID},
	{"d_committed", INT4OID},  {"d_damaged", INT4OID},		{"d_quality_control", INT4OID}, {"d_safety_stock", INT4OID},
	{"d_incoming", INT4OID},   {"reservation_id", INT8OID}, {"reason", TEXTOID},	   {"reference", TEXTOID}};
constexpr Column kStockBucketColumns[] = {
	{"sku", TEXTOID},		 {"location", TEXTOID},		   {"bucket", INT2OID},		 {"lent", INT4OID},
	{"on_hand", INT4OID},	 {"reserved", INT4OID},		   {"committed", INT4OID},	 {"damaged", INT4OID},
	{"quality_control", INT4OID}, {"safety_stock", INT4OID}, {"incoming", INT4OID},	 {"version", INT8OID}};
// The columns the fast path leaves NULL in the rows it inserts.
const char *const kReservationNullColumns[] = {"shortages", "fulfilled", "returned"};
const char *const kLedgerNullColumns[] = {"reason", "reference"};

void
ForgetCatalog(Datum arg, Oid relid)
{
	if (!catalog_valid)
		return;
	if (relid == InvalidOid || relid == catalog.stock_level || relid == catalog.reservation ||
		relid == catalog.ledger || relid == catalog.channel || relid == catalog.bom || relid == catalog.stock_bucket)
		catalog_valid = false;
}

// The relation's OID and primary key if its columns are exactly `columns`,
// names and types (a domain over a type is another type: its checks would
// be skipped). Without `pkey` (the ledger, which the fast path only appends
// to) the table needs no primary key.
bool
LookupTable(Oid schema, const char *name, const Column *columns, int ncolumns, Oid *relid, Oid *pkey = nullptr)
{
	*relid = get_relname_relid(name, schema);
	if (*relid == InvalidOid)
		return false;
	Relation rel = table_open(*relid, AccessShareLock);
	TupleDesc desc = RelationGetDescr(rel);
	bool same = desc->natts == ncolumns;
	for (int i = 0; same && i < ncolumns; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		same = !att->attisdropped && strcmp(NameStr(att->attname), columns[i].name) == 0 &&
			   att->atttypid == columns[i].type;
	}
	bool keyed = true;
	if (pkey != nullptr)
	{
		*pkey = same ? RelationGetPrimaryKeyIndex(rel) : InvalidOid;
		keyed = *pkey != InvalidOid;
	}
	table_close(rel, AccessShareLock);
	return same && keyed;
}

// The relation's OID and primary key if that key is its column `key` alone:
// for a table users own and may add columns to (channel), of which the fast
// path only asks whether a key exists.
bool
LookupKeyedTable(Oid schema, const char *name, const char *key, Oid *relid, Oid *pkey)
{
	*relid = get_relname_relid(name, schema);
	if (*relid == InvalidOid)
		return false;
	Relation rel = table_open(*relid, AccessShareLock);
	*pkey = RelationGetPrimaryKeyIndex(rel);
	bool keyed = false;
	if (*pkey != InvalidOid)
	{
		Relation index = index_open(*pkey, AccessShareLock);
		keyed = index->rd_index->indnkeyatts == 1 &&
				get_attnum(*relid, key) == index->rd_index->indkey.values[0];
		index_close(index, AccessShareLock);
	}
	table_close(rel, AccessShareLock);
	return keyed;
}

// Whether the direct writes of the table are all that PostgreSQL would do
// for them: every index a plain column index (no expression, predicate or
// exclusion constraint, none of which the fast path may evaluate: it runs as
// the caller, definer.hpp), no CHECK constraint (stocksync's own tables have
// none), the columns the fast path leaves NULL still nullable, and no rule
// or row-level security policy that would rewrite or filter a statement.
bool
WritableDirectly(Oid relid, const char *const *null_columns = nullptr, int count = 0)
{
	Relation rel = table_open(relid, AccessShareLock);
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	// rd_rules, not relhasrules, which stays set after the last rule is
	// dropped until a VACUUM.
	bool writable = (constr == nullptr || constr->num_check == 0) && rel->rd_rules == nullptr &&
					!rel->rd_rel->relrowsecurity;
	for (int i = 0; i < count; i++)
	{
		AttrNumber attnum = get_attnum(relid, null_columns[i]);
		writable = writable && attnum != InvalidAttrNumber &&
				   !TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attnotnull;
	}
	List *index_oids = RelationGetIndexList(rel);
	ListCell *cell;
	foreach (cell, index_oids)
	{
		Relation index = index_open(lfirst_oid(cell), AccessShareLock);
		writable = writable && heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, nullptr) &&
				   heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, nullptr) &&
				   !index->rd_index->indisexclusion;
		index_close(index, AccessShareLock);
	}
	list_free(index_oids);
	table_close(rel, AccessShareLock);
	return writable;
}

// Defaults the general path's inserts rely on and the fast path writes
// itself: the transaction's start for a timestamp (now()), a text constant,
// or none (NULL).
struct ColumnDefault
{
	const char *column;
	enum
	{
		kNow,
		kText,
		kNone
	} kind;
	const char *text;
};
constexpr ColumnDefault kReservationDefaults[] = {{"state", ColumnDefault::kText, "reserved"},
												  {"created_at", ColumnDefault::kNow, nullptr},
												  {"updated_at", ColumnDefault::kNow, nullptr},
												  {"shortages", ColumnDefault::kNone, nullptr},
												  {"fulfilled", ColumnDefault::kNone, nullptr},
												  {"returned", ColumnDefault::kNone, nullptr}};
constexpr ColumnDefault kLedgerDefaults[] = {{"at", ColumnDefault::kNow, nullptr},
											 {"reason", ColumnDefault::kNone, nullptr},
											 {"reference", ColumnDefault::kNone, nullptr}};

// Whether the table's columns still have the defaults stocksync gave them: a
// default of the user's (ALTER ... SET DEFAULT) is honoured by the general
// path's INSERT and would be passed by a direct write.
bool
DefaultsAsCreated(Oid relid, const ColumnDefault *defaults, int count)
{
	Relation rel = table_open(relid, AccessShareLock);
	bool same = true;
	for (int i = 0; same && i < count; i++)
	{
		AttrNumber attnum = get_attnum(relid, defaults[i].column);
		Node *expr = attnum == InvalidAttrNumber ? nullptr : build_column_default(rel, attnum);
		switch (defaults[i].kind)
		{
			case ColumnDefault::kNow:
				same = expr != nullptr && IsA(expr, FuncExpr) && castNode(FuncExpr, expr)->funcid == F_NOW;
				break;
			case ColumnDefault::kText:
				same = expr != nullptr && IsA(expr, Const) && castNode(Const, expr)->consttype == TEXTOID &&
					   !castNode(Const, expr)->constisnull &&
					   strcmp(TextDatumGetCString(castNode(Const, expr)->constvalue), defaults[i].text) == 0;
				break;
			case ColumnDefault::kNone:
				same = attnum != InvalidAttrNumber && expr == nullptr;
				break;
		}
	}
	table_close(rel, AccessShareLock);
	return same;
}

// The OID of the trigger function `name`() in `schema`, InvalidOid if there
// is none: stocksync's own triggers are known by their function, which a
// user's trigger of the same name does not share.
Oid
TriggerFunction(Oid schema, const char *name)
{
	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(name),
						   PointerGetDatum(buildoidvector(nullptr, 0)), ObjectIdGetDatum(schema));
}

}  // namespace

void
RegisterDirectCatalogInvalidation()
{
	CacheRegisterRelcacheCallback(ForgetCatalog, (Datum) 0);
}

const DirectCatalog *
GetDirectCatalog()
{
	if (catalog_valid)
		return &catalog;
	Oid schema = get_namespace_oid("stocksync", true);
	if (schema == InvalidOid)
		return nullptr;
	DirectCatalog c;
	if (!LookupTable(schema, "stock_level", kStockLevelColumns, lengthof(kStockLevelColumns), &c.stock_level,
					 &c.stock_level_pkey) ||
		!LookupTable(schema, "reservation", kReservationColumns, lengthof(kReservationColumns), &c.reservation,
					 &c.reservation_pkey) ||
		!LookupTable(schema, "ledger", kLedgerColumns, lengthof(kLedgerColumns), &c.ledger) ||
		!LookupKeyedTable(schema, "channel", "code", &c.channel, &c.channel_pkey))
		return nullptr;
	if (!LookupTable(schema, "stock_bucket", kStockBucketColumns, lengthof(kStockBucketColumns), &c.stock_bucket,
					 &c.stock_bucket_pkey))
		return nullptr;
	c.bom = get_relname_relid("bom", schema);
	c.bom_component_idx = get_relname_relid("bom_component_idx", schema);
	if (c.bom == InvalidOid || c.bom_component_idx == InvalidOid)
		return nullptr;
	Relation bom = table_open(c.bom, AccessShareLock);
	c.bom_pkey = RelationGetPrimaryKeyIndex(bom);
	table_close(bom, AccessShareLock);
	if (c.bom_pkey == InvalidOid)
		return nullptr;
	c.writable_directly = WritableDirectly(c.stock_level) &&
						  WritableDirectly(c.reservation, kReservationNullColumns, lengthof(kReservationNullColumns)) &&
						  WritableDirectly(c.ledger, kLedgerNullColumns, lengthof(kLedgerNullColumns)) &&
						  DefaultsAsCreated(c.reservation, kReservationDefaults, lengthof(kReservationDefaults)) &&
						  DefaultsAsCreated(c.ledger, kLedgerDefaults, lengthof(kLedgerDefaults));
	c.buckets_writable_directly = WritableDirectly(c.stock_bucket);
	c.bundle_cascade_fn = TriggerFunction(schema, "stock_level_bundle_cascade");
	c.invalidate_key_caches_fn = TriggerFunction(schema, "invalidate_key_caches");
	c.reservation_id_seq = getIdentitySequence(c.reservation, 1, true);
	c.ledger_id_seq = getIdentitySequence(c.ledger, 1, true);
	if (c.reservation_id_seq == InvalidOid || c.ledger_id_seq == InvalidOid)
		return nullptr;
	catalog = c;
	catalog_valid = true;
	return &catalog;
}

bool
HasUserTrigger(Relation rel, int16 event)
{
	// Read before the triggers: reading the catalog may take invalidations,
	// which may replace rel->trigdesc.
	const DirectCatalog *cat = GetDirectCatalog();
	Oid bundle_cascade_fn = cat != nullptr ? cat->bundle_cascade_fn : InvalidOid;
	TriggerDesc *triggers = rel->trigdesc;
	if (triggers == nullptr)
		return false;
	for (int i = 0; i < triggers->numtriggers; i++)
	{
		const Trigger &t = triggers->triggers[i];
		if ((t.tgtype & event) == 0)
			continue;
		// Internal triggers that must fire, which the direct writes would
		// not queue: a deferrable unique constraint's recheck, a foreign
		// key's check of an inserted row, and a deferred foreign key's check
		// of an updated one (PostgreSQL checks the update of a row this
		// transaction inserted, whose own check will then find it gone).
		// Otherwise the foreign keys' update triggers act only when a key
		// column changes, which the direct updates never do (they change
		// quantities and the version).
		if (t.tgisinternal && event == TRIGGER_TYPE_UPDATE && t.tgfoid != F_UNIQUE_KEY_RECHECK &&
			!(t.tgdeferrable && t.tgfoid == F_RI_FKEY_CHECK_UPD))
			continue;
		// stocksync's bundle cascade, which the fast path and the bucket
		// claims stand in for (they step aside for bundle components).
		if (t.tgfoid != bundle_cascade_fn)
			return true;
	}
	return false;
}

void
ScanByKey(Relation rel, Oid index_oid, const Datum *keys, int nkeys, Snapshot snapshot, TupleTableSlot *slot,
		  bool (*visit)(TupleTableSlot *slot, void *arg), void *arg)
{
	Relation index = index_open(index_oid, AccessShareLock);
	ScanKeyData scankeys[INDEX_MAX_KEYS];
	for (int i = 0; i < nkeys; i++)
		ScanKeyEntryInitialize(&scankeys[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[i], F_TEXTEQ, keys[i]);
	IndexScanDesc scan = index_beginscan(rel, index, snapshot, nkeys, 0);
	index_rescan(scan, scankeys, nkeys, nullptr, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
		if (!visit(slot, arg))
			break;
	index_endscan(scan);
	index_close(index, NoLock);
}

bool
FindByKey(Relation rel, Oid index_oid, const Datum *keys, int nkeys, Snapshot snapshot, TupleTableSlot *slot)
{
	bool found = false;
	ScanByKey(rel, index_oid, keys, nkeys, snapshot, slot,
			  [](TupleTableSlot *, void *arg) {
				  *static_cast<bool *>(arg) = true;
				  return false;	 // the first row is the one
			  },
			  &found);
	return found;
}

bool
KeyExists(Oid relid, Oid index, const Datum *keys, int nkeys, Snapshot as_of, LOCKMODE lockmode)
{
	Relation rel = table_open(relid, lockmode);
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	Snapshot snapshot = RegisterSnapshot(as_of != nullptr ? as_of : GetLatestSnapshot());
	bool found = FindByKey(rel, index, keys, nkeys, snapshot, slot);
	UnregisterSnapshot(snapshot);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, NoLock);
	return found;
}

bool
ScanColumn(Oid relid, const char *column, bool (*visit)(Datum value, void *arg), void *arg)
{
	AttrNumber attnum = get_attnum(relid, column);
	if (attnum == InvalidAttrNumber)
		return false;
	Relation rel = table_open(relid, AccessShareLock);
	Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	bool complete = true;
	while (complete && table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool isnull;
		Datum value = slot_getattr(slot, attnum, &isnull);
		complete = isnull || visit(value, arg);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return complete;
}

namespace {

// Adds the index entries of a new row version, as the executor would after an
// INSERT (or after an UPDATE that could not be HOT), unique checks included.
// Every index a caller writes is a plain column index of an immediate
// constraint, which needs no executor state: the callers write only tables
// whose catalog says so, checked under the lock that keeps it so
// (DirectCatalog, HasUserTrigger). An index being built concurrently takes
// no entries before it is ready for them, as with the executor.
//
// With `claim`, no unique index raises or waits: each entry is added all the
// same (UNIQUE_CHECK_PARTIAL, as for a deferred constraint), and false is
// returned if another row version, committed or in flight, or this
// transaction's own, already has the key in any of them. The caller then
// gives the row up.
bool
InsertIndexEntries(Relation rel, HeapTuple tuple, bool claim = false, std::initializer_list<int> changed = {})
{
	List *index_oids = RelationGetIndexList(rel);
	bool claimed = true;
	ListCell *cell;
	foreach (cell, index_oids)
	{
		Relation index = index_open(lfirst_oid(cell), RowExclusiveLock);
		IndexInfo *info = BuildIndexInfo(index);
		if (info->ii_ReadyForInserts)
		{
			if (info->ii_Expressions != NIL || info->ii_Predicate != NIL || info->ii_ExclusionOps != nullptr ||
				!index->rd_index->indimmediate)
				elog(ERROR, "stocksync: index \"%s\" cannot be written directly", RelationGetRelationName(index));
			Datum values[INDEX_MAX_KEYS];
			bool nulls[INDEX_MAX_KEYS];
			for (int k = 0; k < info->ii_NumIndexAttrs; k++)
				values[k] = heap_getattr(tuple, info->ii_IndexAttrNumbers[k], RelationGetDescr(rel), &nulls[k]);
			IndexUniqueCheck check = !index->rd_index->indisunique ? UNIQUE_CHECK_NO
									 : claim						  ? UNIQUE_CHECK_PARTIAL
																	  : UNIQUE_CHECK_YES;
			// As the executor does for an update (which names the columns
			// it changed): an index none of whose columns changed is told
			// so, and btree then removes older versions of the key itself
			// before it splits a page.
			bool unchanged = changed.size() > 0;
			for (int k = 0; unchanged && k < info->ii_NumIndexAttrs; k++)
				for (int column : changed)
					unchanged = unchanged && column != info->ii_IndexAttrNumbers[k];
			bool unique = index_insert(index, values, nulls, &tuple->t_self, rel, check, unchanged, info);
			claimed = claimed && (check != UNIQUE_CHECK_PARTIAL || unique);
		}
		index_close(index, NoLock);
	}
	list_free(index_oids);
	return claimed;
}

}  // namespace

void
InsertRow(Relation rel, const Datum *values, const bool *nulls)
{
	HeapTuple tuple = heap_form_tuple(RelationGetDescr(rel), const_cast<Datum *>(values), const_cast<bool *>(nulls));
	simple_heap_insert(rel, tuple);
	InsertIndexEntries(rel, tuple);
}

void
InsertLedgerRow(Relation ledger, Oid ledger_id_seq, const char *kind, Datum sku, Datum location, int32 qty,
				int32 d_reserved, int32 d_committed, int64 reservation_id, TimestampTz at)
{
	Datum entry[] = {Int64GetDatum(nextval_internal(ledger_id_seq, false)),
					 TimestampTzGetDatum(at),
					 CStringGetTextDatum(kind),
					 sku,
					 location,
					 Int32GetDatum(qty),
					 Int32GetDatum(0),
					 Int32GetDatum(d_reserved),
					 Int32GetDatum(d_committed),
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

bool
InsertRowClaimingKey(Relation rel, const Datum *values, const bool *nulls)
{
	HeapTuple tuple = heap_form_tuple(RelationGetDescr(rel), const_cast<Datum *>(values), const_cast<bool *>(nulls));
	// Inserted speculatively, as INSERT ... ON CONFLICT does: a row given up
	// is then dead to every session at once (super-deleted), so that nobody
	// waits for this transaction because of it. A plain delete would leave it
	// in flight until the end of the transaction, and another delivery of the
	// order that waits for it while this one waits for that delivery would be
	// a deadlock.
	TransactionId xid = GetCurrentTransactionId();
	uint32 token = SpeculativeInsertionLockAcquire(xid);
	HeapTupleHeaderSetSpeculativeToken(tuple->t_data, token);
	heap_insert(rel, tuple, GetCurrentCommandId(true), HEAP_INSERT_SPECULATIVE, nullptr);
	bool claimed = InsertIndexEntries(rel, tuple, true);
	if (claimed)
		heap_finish_speculative(rel, &tuple->t_self);
	else
		heap_abort_speculative(rel, &tuple->t_self);
	SpeculativeInsertionLockRelease(xid);
	return claimed;
}

HeapTuple
WithReserved(TupleTableSlot *slot, TupleDesc desc, int reserved_attnum, int version_attnum, int32 qty)
{
	int columns[] = {reserved_attnum, version_attnum};
	Datum values[] = {Int32GetDatum(DatumGetInt32(slot->tts_values[reserved_attnum - 1]) + qty),
					  Int64GetDatum(DatumGetInt64(slot->tts_values[version_attnum - 1]) + 1)};
	bool nulls[] = {false, false};
	return heap_modify_tuple_by_cols(ExecFetchSlotHeapTuple(slot, false, nullptr), desc, 2, columns, values, nulls);
}

TM_Result
TryUpdateRow(Relation rel, ItemPointer tid, HeapTuple new_tuple, std::initializer_list<int> changed, bool wait,
			 TM_FailureData *failure)
{
	LockTupleMode mode;
	TM_Result result = heap_update(rel, tid, new_tuple, GetCurrentCommandId(true), InvalidSnapshot, wait, failure,
								   &mode);
	if (result == TM_Ok && !HeapTupleIsHeapOnly(new_tuple))
		InsertIndexEntries(rel, new_tuple, false, changed);
	return result;
}

void
UpdateRow(Relation rel, ItemPointer tid, HeapTuple new_tuple, std::initializer_list<int> changed)
{
	simple_heap_update(rel, tid, new_tuple);
	if (!HeapTupleIsHeapOnly(new_tuple))
		InsertIndexEntries(rel, new_tuple, false, changed);
}

}  // namespace stocksync
