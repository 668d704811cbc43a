// expire_holds(): soft holds past their expiry are released through RELEASE
// rows.
//
// Several sessions may run it at once: each takes the expired orders no one
// else has locked (SKIP LOCKED). The projection rows of all the orders taken
// are then updated once per (sku, location), in byte order, like every other
// stocksync function, so a sweep never deadlocks with a reservation.
#include "pg.hpp"

#include "errors.hpp"
#include "hot.hpp"
#include "movement.hpp"
#include "order.hpp"
#include "spi.hpp"

using namespace stocksync;

extern "C" {
PG_FUNCTION_INFO_V1(stocksync_expire_holds);
}

namespace {

struct ExpiredUnits
{
	Datum sku;
	Datum location;
	int32 units;
	int64 reservation_id;
};

int
CompareUnits(const void *a, const void *b)
{
	const ExpiredUnits *x = static_cast<const ExpiredUnits *>(a);
	const ExpiredUnits *y = static_cast<const ExpiredUnits *>(b);
	int c = CompareText(x->sku, y->sku);
	return c != 0 ? c : CompareText(x->location, y->location);
}

}  // namespace

// expire_holds(max_rows): returns how many orders expired.
extern "C" Datum
stocksync_expire_holds(PG_FUNCTION_ARGS)
{
	int32 max_rows = PG_ARGISNULL(0) ? 1000 : PG_GETARG_INT32(0);
	if (max_rows <= 0)
		ereport(ERROR, (errcode(kInvalidArgument), errmsg("max_rows must be positive, got %d", max_rows)));

	SPI_connect();
	LockTableForWrites("reservation");	// the orders taken are written next
	static SPIPlanPtr take_plan = nullptr;
	static const Oid take_types[] = {INT4OID};
	Datum take_args[] = {Int32GetDatum(max_rows)};
	uint64 orders = RunPlan(KeptPlan(&take_plan,
									   "SELECT channel, order_ref, id, skus, locations, quantities, fulfilled "
									   "FROM stocksync.reservation "
									   "WHERE state = 'reserved' AND expires_at <= pg_catalog.now() "
									   "ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
									   1, take_types),
							take_args, nullptr);

	Datum *channels = static_cast<Datum *>(palloc(sizeof(Datum) * Max(orders, 1)));
	Datum *order_refs = static_cast<Datum *>(palloc(sizeof(Datum) * Max(orders, 1)));
	int capacity = 16;
	int entries = 0;
	ExpiredUnits *units = static_cast<ExpiredUnits *>(palloc(sizeof(ExpiredUnits) * capacity));
	for (uint64 o = 0; o < orders; o++)
	{
		channels[o] = ColumnDatum(o, 1);
		order_refs[o] = ColumnDatum(o, 2);
		int64 id = ColumnInt64(o, 3);
		int n;
		int32 *quantities = ReadIntArray(ColumnDatum(o, 6), &n);
		int32 *fulfilled = ReadIntArrayOrZeros(o, 7, n);
		OrderLine *lines = static_cast<OrderLine *>(palloc0(sizeof(OrderLine) * Max(n, 1)));
		ReadTextArray(ColumnDatum(o, 4), lines, n, false);
		ReadTextArray(ColumnDatum(o, 5), lines, n, true);
		for (int i = 0; i < n; i++)
		{
			if (quantities[i] == fulfilled[i])
				continue;
			if (entries == capacity)
			{
				capacity *= 2;
				units = static_cast<ExpiredUnits *>(repalloc(units, sizeof(ExpiredUnits) * capacity));
			}
			units[entries++] = ExpiredUnits{lines[i].sku, lines[i].location, quantities[i] - fulfilled[i], id};
		}
	}

	qsort(units, entries, sizeof(ExpiredUnits), CompareUnits);
	OptionalText reason{CStringGetTextDatum("expired"), false};
	for (int i = 0; i < entries;)
	{
		int end = i;
		Deltas total;
		while (end < entries && CompareUnits(&units[i], &units[end]) == 0)
			total.reserved -= units[end++].units;
		if (!ApplyToFreeBucket(units[i].sku, units[i].location, total))
			UpdateProjection(units[i].sku, units[i].location, total);
		for (; i < end; i++)
		{
			Deltas d;
			d.reserved = -units[i].units;
			AppendLedger("RELEASE", units[i].sku, units[i].location, units[i].units, d, units[i].reservation_id,
						 reason, NoText());
		}
	}

	if (orders > 0)
	{
		static SPIPlanPtr mark_plan = nullptr;
		static const Oid mark_types[] = {TEXTARRAYOID, TEXTARRAYOID};
		Datum mark_args[] = {
			PointerGetDatum(construct_array(channels, orders, TEXTOID, -1, false, TYPALIGN_INT)),
			PointerGetDatum(construct_array(order_refs, orders, TEXTOID, -1, false, TYPALIGN_INT))};
		RunPlan(KeptPlan(&mark_plan,
						   "UPDATE stocksync.reservation r SET state = 'expired', expires_at = NULL, updated_at = pg_catalog.now() "
						   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS k (channel, order_ref) "
						   "WHERE r.channel = k.channel AND r.order_ref = k.order_ref",
						   2, mark_types),
				mark_args, nullptr);
	}
	SPI_finish();
	PG_RETURN_INT32(static_cast<int32>(orders));
}
