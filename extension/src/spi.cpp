// SPI helpers: cached plans, column access and materialized results.
#include "pg.hpp"

#include "spi.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "storage/lmgr.h"
#include "utils/tuplestore.h"
}

namespace stocksync {

// Prepares once, then keeps the plan out of SPI's per-call memory so that the
// next call of any stocksync function reuses it without parsing or planning.
SPIPlanPtr
KeptPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes)
{
	if (*slot != nullptr)
		return *slot;
	// Generic plans only: every statement here has the same best plan for any
	// parameter value (key lookups), and a custom plan would be planned anew
	// on each of the first executions of every backend.
	SPIPlanPtr plan = SPI_prepare_cursor(sql, nargs, const_cast<Oid *>(argtypes), CURSOR_OPT_GENERIC_PLAN);
	if (plan == nullptr)
		elog(ERROR, "stocksync: SPI_prepare failed (%s) for: %s",
			 SPI_result_code_string(SPI_result), sql);
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "stocksync: SPI_keepplan failed for: %s", sql);
	*slot = plan;
	return plan;
}

// Runs a kept plan read-write: SPI then takes a new snapshot per statement, so
// each step sees what concurrent transactions committed before it started.
uint64
RunPlan(SPIPlanPtr plan, const Datum *values, const char *nulls)
{
	int rc = SPI_execute_plan(plan, const_cast<Datum *>(values), nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "stocksync: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

void
LockTableForWrites(const char *table)
{
	Oid relid = get_relname_relid(table, get_namespace_oid("stocksync", false));
	if (relid != InvalidOid)
		LockRelationOid(relid, RowExclusiveLock);
}

bool
ColumnIsNull(uint64 row, int column)
{
	bool isnull;
	SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, &isnull);
	return isnull;
}

Datum
ColumnDatum(uint64 row, int column)
{
	bool isnull;
	Datum value = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, &isnull);
	if (isnull)
		elog(ERROR, "stocksync: unexpected null in column %d", column);
	return value;
}

int32
ColumnInt32(uint64 row, int column)
{
	return DatumGetInt32(ColumnDatum(row, column));
}

int64
ColumnInt64(uint64 row, int column)
{
	return DatumGetInt64(ColumnDatum(row, column));
}

// Copies the rows into the tuplestore that InitMaterializedSRF set up in the
// per-query context, so they outlive SPI_finish.
void
MaterializeLastResult(FunctionCallInfo fcinfo)
{
	InitMaterializedSRF(fcinfo, 0);
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	int natts = rsinfo->setDesc->natts;
	if (natts != SPI_tuptable->tupdesc->natts)
		elog(ERROR, "stocksync: result has %d columns, query returned %d",
			 natts, SPI_tuptable->tupdesc->natts);
	Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * natts));
	bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * natts));
	for (uint64 row = 0; row < SPI_processed; row++)
	{
		heap_deform_tuple(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

}  // namespace stocksync
