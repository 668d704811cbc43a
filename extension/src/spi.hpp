// Thin helpers over SPI: plans prepared once per backend, results read by
// column number, and query results handed back as a set-returning function's
// result. Every SQL text given here is schema-qualified (the functions run with
// search_path pinned to pg_catalog, pg_temp).
#pragma once

#include "pg.hpp"

namespace stocksync {

// Prepares `sql` on first use and keeps the plan for the life of the backend.
// `slot` is a function-local static owned by the caller.
SPIPlanPtr KeptPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes);

// Executes a prepared plan with a fresh snapshot per statement (READ COMMITTED
// semantics) and returns the number of rows processed; raises on SPI failure.
uint64 RunPlan(SPIPlanPtr plan, const Datum *values, const char *nulls);

// Locks stocksync.<table> in RowExclusiveLock for the transaction, as the
// statement that writes its rows does. Taken before a SELECT ... FOR UPDATE
// whose rows the caller writes next: the FOR UPDATE's own lock
// (RowShareLock) lets REINDEX's ShareLock in, REINDEX then waits for the
// index the call read, and the write, raising the table's lock, waits for
// REINDEX (a deadlock, test/isolation/specs/reindex_vs_order_calls.spec).
void LockTableForWrites(const char *table);

// Column accessors on the last result (SPI_tuptable); columns count from 1.
bool ColumnIsNull(uint64 row, int column);
Datum ColumnDatum(uint64 row, int column);
int32 ColumnInt32(uint64 row, int column);
int64 ColumnInt64(uint64 row, int column);

// Puts every row of the last result into the set-returning function's
// materialized result; the query's columns must match the declared result.
void MaterializeLastResult(FunctionCallInfo fcinfo);

}  // namespace stocksync
