// Reading stock: available(), stock_at() and verify_ledger().
#include "pg.hpp"

#include "errors.hpp"
#include "spi.hpp"

using namespace stocksync;

extern "C" {
PG_FUNCTION_INFO_V1(stocksync_available);
PG_FUNCTION_INFO_V1(stocksync_stock_at);
PG_FUNCTION_INFO_V1(stocksync_verify_ledger);
}

namespace {

// An empty answer must not hide a typo: name the unknown SKU or location.
void
CheckSkuAndLocationKnown(Datum sku, bool location_isnull, Datum location)
{
	static SPIPlanPtr sku_plan = nullptr;
	static SPIPlanPtr location_plan = nullptr;
	static const Oid types[] = {TEXTOID};
	Datum sku_arg[] = {sku};
	if (RunPlan(KeptPlan(&sku_plan, "SELECT 1 FROM stocksync.item WHERE sku = $1", 1, types), sku_arg, nullptr) == 0)
		ereport(ERROR, (errcode(kUnknownSku), errmsg("unknown sku \"%s\"", TextDatumGetCString(sku))));
	Datum location_arg[] = {location};
	if (!location_isnull &&
		RunPlan(KeptPlan(&location_plan, "SELECT 1 FROM stocksync.location WHERE code = $1", 1, types),
				location_arg, nullptr) == 0)
		ereport(ERROR,
				(errcode(kUnknownLocation), errmsg("unknown location \"%s\"", TextDatumGetCString(location))));
}

// A bundle holds no stock rows of its own: its available is what its
// components make up, per location the fewest whole bundles over its
// components (never below 0), summed over the locations asked for, as
// channel_available() counts it. 0 for a simple SKU.
int32
BundleAvailable(Datum sku, bool location_isnull, Datum location)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID};
	Datum args[] = {sku, location};
	char nulls[] = {' ', location_isnull ? 'n' : ' '};
	RunPlan(KeptPlan(&plan,
					 "SELECT LEAST(COALESCE(pg_catalog.sum(p.units), 0), 2147483647)::integer FROM ("
					 "  SELECT pg_catalog.min(pg_catalog.div(GREATEST(COALESCE(s.units, 0), 0), lv.qty)) AS units"
					 "    FROM stocksync.location l CROSS JOIN stocksync.bundle_leaves($1) lv"
					 "    LEFT JOIN LATERAL (SELECT pg_catalog.sum(r.on_hand - r.reserved - r.committed - r.damaged"
					 "                                             - r.quality_control - r.safety_stock) AS units"
					 "                         FROM stocksync.stock_rows r"
					 "                        WHERE r.sku = lv.component_sku AND r.location = l.code) s ON true"
					 "   WHERE $2::text IS NULL OR l.code = $2"
					 "   GROUP BY l.code) p",
					 2, types),
			args, nulls);
	return ColumnInt32(0, 1);
}

}  // namespace

// available(sku, location): sellable units at one location, or over all.
extern "C" Datum
stocksync_available(PG_FUNCTION_ARGS)
{
	CheckNotNull(PG_ARGISNULL(0), "sku");
	Datum sku = PG_GETARG_DATUM(0);
	bool location_isnull = PG_ARGISNULL(1);
	Datum location = location_isnull ? (Datum) 0 : PG_GETARG_DATUM(1);

	SPI_connect();
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID};
	Datum args[] = {sku, location};
	char nulls[] = {' ', location_isnull ? 'n' : ' '};
	// Over several locations the sum may pass an integer either way (each
	// location's available is one): it stops at the bounds. NULL stays NULL:
	// no stock rows at all.
	RunPlan(KeptPlan(&plan,
					   "SELECT CASE WHEN s > 2147483647 THEN 2147483647 WHEN s < -2147483648 THEN -2147483648 "
					   "ELSE s END::integer FROM (SELECT pg_catalog.sum(on_hand - reserved - committed - damaged "
					   "- quality_control - safety_stock) AS s FROM stocksync.stock_rows "
					   "WHERE sku = $1 AND ($2::text IS NULL OR location = $2)) q",
					   2, types),
			args, nulls);
	bool none = ColumnIsNull(0, 1);
	int32 available = none ? 0 : ColumnInt32(0, 1);
	if (none)
	{
		CheckSkuAndLocationKnown(sku, location_isnull, location);
		available = BundleAvailable(sku, location_isnull, location);
	}
	SPI_finish();
	PG_RETURN_INT32(available);
}

// stock_at(sku, at, location): the ledger summed up to an instant.
extern "C" Datum
stocksync_stock_at(PG_FUNCTION_ARGS)
{
	CheckNotNull(PG_ARGISNULL(0), "sku");
	CheckNotNull(PG_ARGISNULL(1), "at");
	bool location_isnull = PG_ARGISNULL(2);
	Datum location = location_isnull ? (Datum) 0 : PG_GETARG_DATUM(2);

	SPI_connect();
	CheckSkuAndLocationKnown(PG_GETARG_DATUM(0), location_isnull, location);
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TIMESTAMPTZOID, TEXTOID};
	Datum args[] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), location};
	char nulls[] = {' ', ' ', location_isnull ? 'n' : ' '};
	RunPlan(KeptPlan(&plan,
					   "SELECT location, pg_catalog.sum(d_on_hand), pg_catalog.sum(d_reserved), "
					   "pg_catalog.sum(d_committed), pg_catalog.sum(d_damaged), pg_catalog.sum(d_quality_control), "
					   "pg_catalog.sum(d_safety_stock), pg_catalog.sum(d_incoming), "
					   "pg_catalog.sum(d_on_hand - d_reserved - d_committed - d_damaged - d_quality_control "
					   "- d_safety_stock) "
					   "FROM stocksync.ledger WHERE sku = $1 AND at <= $2 AND ($3::text IS NULL OR location = $3) "
					   "GROUP BY location ORDER BY location COLLATE \"C\"",
					   3, types),
			args, nulls);
	MaterializeLastResult(fcinfo);
	SPI_finish();
	return (Datum) 0;
}

// verify_ledger(): every (sku, location, quantity) where the ledger's sum and
// the projection disagree; empty when they agree.
extern "C" Datum
stocksync_verify_ledger(PG_FUNCTION_ARGS)
{
	SPI_connect();
	static SPIPlanPtr plan = nullptr;
	RunPlan(KeptPlan(&plan,
					   "WITH l AS (SELECT sku, location, pg_catalog.sum(d_on_hand) AS on_hand, "
					   "  pg_catalog.sum(d_reserved) AS reserved, pg_catalog.sum(d_committed) AS committed, "
					   "  pg_catalog.sum(d_damaged) AS damaged, pg_catalog.sum(d_quality_control) AS quality_control, "
					   "  pg_catalog.sum(d_safety_stock) AS safety_stock, pg_catalog.sum(d_incoming) AS incoming "
					   "  FROM stocksync.ledger GROUP BY sku, location), "
					   "j AS (SELECT COALESCE(l.sku, p.sku) AS sku, "
					   "  COALESCE(l.location, p.location) AS location, "
					   "  ARRAY[l.on_hand, l.reserved, l.committed, l.damaged, l.quality_control, l.safety_stock, "
					   "        l.incoming] AS from_ledger, "
					   "  ARRAY[p.on_hand, p.reserved, p.committed, p.damaged, p.quality_control, p.safety_stock, "
					   "        p.incoming]::bigint[] AS in_projection "
					   "  FROM l FULL JOIN (SELECT sku, location, pg_catalog.sum(on_hand) AS on_hand, "
					   "    pg_catalog.sum(reserved) AS reserved, pg_catalog.sum(committed) AS committed, "
					   "    pg_catalog.sum(damaged) AS damaged, pg_catalog.sum(quality_control) AS quality_control, "
					   "    pg_catalog.sum(safety_stock) AS safety_stock, pg_catalog.sum(incoming) AS incoming "
					   "    FROM stocksync.stock_rows GROUP BY sku, location) p "
					   "  ON p.sku = l.sku AND p.location = l.location) "
					   "SELECT j.sku, j.location, q.name, "
					   "  COALESCE(j.from_ledger[q.i], 0), COALESCE(j.in_projection[q.i], 0) "
					   "FROM j, pg_catalog.unnest(ARRAY['on_hand', 'reserved', 'committed', 'damaged', "
					   "  'quality_control', 'safety_stock', 'incoming']) WITH ORDINALITY AS q (name, i) "
					   "WHERE COALESCE(j.from_ledger[q.i], 0) <> COALESCE(j.in_projection[q.i], 0) "
					   "ORDER BY j.sku COLLATE \"C\", j.location COLLATE \"C\", q.i",
					   0, nullptr),
			nullptr, nullptr);
	MaterializeLastResult(fcinfo);
	SPI_finish();
	return (Datum) 0;
}
