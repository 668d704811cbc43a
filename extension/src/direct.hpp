// Direct heap and index access to stocksync's own tables, for the reservation
// fast path (fast_reserve.cpp).
//
// Why: through SPI every statement pays for executor start-up (projections,
// expression compilation, type lookups per column), which costs more than the
// work itself on a single-row reservation. Writing the three rows of a
// reservation with the table AM keeps the same WAL, locks, index maintenance
// and visibility rules at a fraction of the cost. The general SPI path remains
// for everything else, and the fast path steps aside (returns "fallback")
// whenever a table differs from what it was written for: a column added or
// reordered, or a user trigger that expects to fire.
#pragma once

#include "pg.hpp"

#include <initializer_list>

extern "C" {
#include "access/tableam.h"
}

namespace stocksync {

// The relations and identity sequences the fast path writes, looked up once
// per backend and forgotten on any relcache invalidation of one of them.
struct DirectCatalog
{
	Oid stock_level;
	Oid stock_level_pkey;
	Oid reservation;
	Oid reservation_pkey;
	Oid reservation_id_seq;
	Oid ledger;
	Oid ledger_id_seq;
	Oid channel;
	Oid channel_pkey;
	// The bill of materials: its primary key (bundle_sku, component_sku) and
	// bom_component_idx (component_sku, bundle_sku), probed by prefix.
	Oid bom;
	Oid bom_pkey;
	Oid bom_component_idx;
	// Hot SKUs' buckets: primary key (sku, location, bucket), probed by prefix.
	Oid stock_bucket;
	Oid stock_bucket_pkey;
	// stocksync.stock_level_bundle_cascade(), the function of the bundle
	// cascade triggers on stock_level and stock_bucket (HasUserTrigger).
	Oid bundle_cascade_fn;
	// stocksync.invalidate_key_caches(), the function of the triggers that
	// keep the key caches exact (key_cache.hpp).
	Oid invalidate_key_caches_fn;
	// Whether stock_level, reservation and ledger are as the fast path
	// writes them (a user may add what a direct write would pass by; the
	// fast path then steps aside): no rule, row-level security or CHECK
	// constraint, only plain column indexes, nullable where it writes NULL.
	bool writable_directly;
	// The same for stock_bucket, which the hot SKUs' bucket claims write
	// (bucket_claim.hpp).
	bool buckets_writable_directly;
};

// nullptr when a table is missing or no longer has the expected columns.
const DirectCatalog *GetDirectCatalog();

// Registers the relcache callback (from _PG_init).
void RegisterDirectCatalogInvalidation();

// Whether `rel` has a trigger of the user's, a deferrable unique
// constraint's recheck, or a foreign key's check (every one on insert, a
// deferrable one on update), that fires on `event` (TRIGGER_TYPE_INSERT or
// TRIGGER_TYPE_UPDATE). stocksync's bundle cascade (a trigger calling
// bundle_cascade_fn) does not count: it acts only for bundle components, for
// which the fast path steps aside itself (MayBeBundleComponent).
bool HasUserTrigger(Relation rel, int16 event);

// Finds the row whose primary key equals `keys` (text columns, in index
// order; fewer keys than index columns match a prefix) as `snapshot` sees it,
// into `slot`. Returns false if there is none.
bool FindByKey(Relation rel, Oid index, const Datum *keys, int nkeys, Snapshot snapshot, TupleTableSlot *slot);

// Calls visit(slot, arg) for every row whose key starts with `keys`, as
// `snapshot` sees it, until visit returns false.
void ScanByKey(Relation rel, Oid index, const Datum *keys, int nkeys, Snapshot snapshot, TupleTableSlot *slot,
			   bool (*visit)(TupleTableSlot *slot, void *arg), void *arg);

// Whether a row of `relid` has the key (a prefix of the index's columns, as
// for FindByKey), as `as_of` sees it, by default a new snapshot. The table is
// locked in `lockmode` until the transaction ends, as a statement does: the
// index stays locked too, and an index locked without its table inverts the
// order in which VACUUM FULL, CLUSTER and REINDEX lock them (a deadlock with
// them). A caller that writes the table next passes the lock that write
// takes: a weaker one, raised later, deadlocks with REINDEX (whose ShareLock
// lets readers in, then waits for the index).
bool KeyExists(Oid relid, Oid index, const Datum *keys, int nkeys, Snapshot as_of = nullptr,
			   LOCKMODE lockmode = AccessShareLock);

// Calls visit(value, arg) with `column` (not null) of every row of the table
// as a new snapshot sees it, until visit returns false; returns false then
// (or if the column is missing), true after the last row.
bool ScanColumn(Oid relid, const char *column, bool (*visit)(Datum value, void *arg), void *arg);

// Inserts a row and its index entries (unique checks included).
void InsertRow(Relation rel, const Datum *values, const bool *nulls);

// Appends a ledger row of a reservation's movement (kind RESERVE or COMMIT):
// qty units, its reserved and committed deltas, the others 0, no reason or
// reference; its id drawn from the ledger's identity, its time `at` (the
// transaction's start, as the column's default now()).
void InsertLedgerRow(Relation ledger, Oid ledger_id_seq, const char *kind, Datum sku, Datum location, int32 qty,
					 int32 d_reserved, int32 d_committed, int64 reservation_id, TimestampTz at);

// Inserts a row that claims its key (an order key): true if no other row
// version has its key in any of the table's unique indexes, committed, in
// flight or inserted earlier by this transaction. If one has, the row is
// super-deleted (dead to every session at once, as INSERT ... ON CONFLICT
// does with a row that lost its race) and false is returned, without waiting
// and without raising: one index descent both checks and claims the key,
// where a probe first and an insert after would make two. The caller then
// takes a path that decides with waits and errors.
bool InsertRowClaimingKey(Relation rel, const Datum *values, const bool *nulls);

// The row in `slot` (all attributes deformed) with `qty` more units in its
// integer column `reserved_attnum` and its bigint column `version_attnum`
// raised by one: what a reservation does to a projection row or a bucket.
HeapTuple WithReserved(TupleTableSlot *slot, TupleDesc desc, int reserved_attnum, int version_attnum, int32 qty);

// Replaces the row at `tid` if it is the latest version and, unless `wait`,
// no other transaction holds it (TM_BeingModified then); maintains the
// indexes when the update is not HOT. Any other result changes nothing.
// `changed`: the attribute numbers the new version changes (an index on
// none of them is told its key is unchanged, as the executor tells it).
TM_Result TryUpdateRow(Relation rel, ItemPointer tid, HeapTuple new_tuple, std::initializer_list<int> changed,
					   bool wait, TM_FailureData *failure);

// Replaces the row at `tid`, which the caller has locked, and maintains the
// indexes when the update is not HOT (`changed` as for TryUpdateRow).
void UpdateRow(Relation rel, ItemPointer tid, HeapTuple new_tuple, std::initializer_list<int> changed);

}  // namespace stocksync
