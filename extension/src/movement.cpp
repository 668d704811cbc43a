// Projection rows, ledger rows and the checks between them.
#include "pg.hpp"

#include "errors.hpp"
#include "hot.hpp"
#include "movement.hpp"
#include "spi.hpp"

namespace stocksync {

namespace {

constexpr Oid kTwoTexts[] = {TEXTOID, TEXTOID};

const char *const kStateNames[] = {"available", "damaged", "quality_control", "safety_stock"};

StockRow
StockRowFromResult()
{
	StockRow row;
	row.on_hand = ColumnInt32(0, 1);
	row.reserved = ColumnInt32(0, 2);
	row.committed = ColumnInt32(0, 3);
	row.damaged = ColumnInt32(0, 4);
	row.quality_control = ColumnInt32(0, 5);
	row.safety_stock = ColumnInt32(0, 6);
	row.incoming = ColumnInt32(0, 7);
	row.version = ColumnInt64(0, 8);
	return row;
}

// A missing projection row is created when both the SKU and the location
// exist; otherwise the caller gets the error that names what is unknown.
// The item row is read FOR SHARE and stays locked until commit: a
// concurrent change of the SKU into a bundle (item_check refuses one with
// stock) waits for this row to commit and then sees it, and this waits for
// such a change and then sees the bundle. Without the lock both passed, each
// before the other committed, and left a bundle holding stock.
void
CreateStockRow(Datum sku, Datum location)
{
	static SPIPlanPtr item_plan = nullptr;
	static SPIPlanPtr location_plan = nullptr;
	static SPIPlanPtr insert_plan = nullptr;
	Datum one[] = {sku};
	if (RunPlan(KeptPlan(&item_plan, "SELECT kind FROM stocksync.item WHERE sku = $1 FOR SHARE", 1, kTwoTexts),
				one, nullptr) == 0)
		RaiseUnknownSku(sku);
	if (strcmp(TextDatumGetCString(ColumnDatum(0, 1)), "bundle") == 0)
		ereport(ERROR,
				(errcode(kInvalidArgument),
				 errmsg("sku \"%s\" is a bundle and holds no stock of its own", TextDatumGetCString(sku)),
				 errhint("Move stock of the bundle's components instead.")));
	Datum loc[] = {location};
	if (RunPlan(KeptPlan(&location_plan, "SELECT 1 FROM stocksync.location WHERE code = $1", 1, kTwoTexts),
				loc, nullptr) == 0)
		RaiseUnknownLocation(location);
	Datum both[] = {sku, location};
	RunPlan(KeptPlan(&insert_plan,
					   "INSERT INTO stocksync.stock_level (sku, location) VALUES ($1, $2) "
					   "ON CONFLICT (sku, location) DO NOTHING",
					   2, kTwoTexts),
			both, nullptr);
}

}  // namespace

OptionalText
OptionalTextArg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NoText();
	return OptionalText{PG_GETARG_DATUM(argno), false};
}

StockState
ParseStockState(text *name, const char *argument, int allowed)
{
	const char *value = text_to_cstring(name);
	for (int i = 0; i < allowed; i++)
		if (strcmp(value, kStateNames[i]) == 0)
			return static_cast<StockState>(i);
	ereport(ERROR,
			(errcode(kInvalidArgument), errmsg("invalid %s \"%s\"", argument, value),
			 errhint("Use one of available, damaged, quality_control%s.",
					 allowed > 3 ? ", safety_stock" : "")));
	return StockState::kAvailable;	/* not reached */
}

const char *
StockStateName(StockState state)
{
	return kStateNames[static_cast<int>(state)];
}

int32
UnitsIn(const StockRow &row, StockState state)
{
	switch (state)
	{
		case StockState::kAvailable:
			return row.Available();
		case StockState::kDamaged:
			return row.damaged;
		case StockState::kQualityControl:
			return row.quality_control;
		case StockState::kSafetyStock:
			return row.safety_stock;
	}
	return 0;
}

void
AddToState(Deltas *deltas, StockState state, int32 units)
{
	switch (state)
	{
		case StockState::kAvailable:
			break;
		case StockState::kDamaged:
			deltas->damaged += units;
			break;
		case StockState::kQualityControl:
			deltas->quality_control += units;
			break;
		case StockState::kSafetyStock:
			deltas->safety_stock += units;
			break;
	}
}

// Runs a projection-row query, creating the row first when it is missing.
static StockRow
FetchStockRow(SPIPlanPtr plan, Datum sku, Datum location)
{
	Datum args[] = {sku, location};
	if (RunPlan(plan, args, nullptr) == 0)
	{
		CreateStockRow(sku, location);
		if (RunPlan(plan, args, nullptr) == 0)
			elog(ERROR, "stocksync: projection row vanished after creation");
	}
	return StockRowFromResult();
}

// The projection row under FOR UPDATE; *hot tells whether it has buckets.
static StockRow
LockCentralRow(Datum sku, Datum location, bool *hot)
{
	static SPIPlanPtr plan = nullptr;
	LockTableForWrites("stock_level");	// the row is written next
	StockRow row = FetchStockRow(KeptPlan(&plan,
										  "SELECT s.on_hand, s.reserved, s.committed, s.damaged, s.quality_control, "
										  "s.safety_stock, s.incoming, s.version, s.buckets > 0 "
										  "FROM stocksync.stock_level s "
										  "WHERE s.sku = $1 AND s.location = $2 FOR UPDATE OF s",
										  2, kTwoTexts),
								 sku, location);
	*hot = DatumGetBool(ColumnDatum(0, 9));
	return row;
}

StockRow
LockStockRow(Datum sku, Datum location)
{
	bool hot;
	StockRow row = LockCentralRow(sku, location, &hot);
	// A hot SKU: every bucket is locked too and gives its budget back, so the
	// caller's check against the total is exact and its change may go to the
	// central row.
	if (hot)
		CollapseBuckets(sku, location, &row);
	return row;
}

StockRow
LockStockRowKeepingBudgets(Datum sku, Datum location)
{
	bool hot;
	StockRow row = LockCentralRow(sku, location, &hot);
	if (hot)
		AddBucketQuantities(sku, location, &row);
	return row;
}

StockRow
ReadStockRow(Datum sku, Datum location)
{
	static SPIPlanPtr plan = nullptr;
	return FetchStockRow(KeptPlan(&plan,
								  "SELECT on_hand, reserved, committed, damaged, quality_control, safety_stock, "
								  "incoming, version FROM stocksync.stock_level WHERE sku = $1 AND location = $2",
								  2, kTwoTexts),
						 sku, location);
}

namespace {

const char *const kQuantityNames[kDeltaCount] = {"on_hand",	 "reserved",	 "committed", "damaged",
												  "quality_control", "safety_stock", "incoming"};

void
QuantitiesOf(const StockRow &row, int32 *out)
{
	const int32 q[kDeltaCount] = {row.on_hand,		 row.reserved,	   row.committed, row.damaged,
								  row.quality_control, row.safety_stock, row.incoming};
	memcpy(out, q, sizeof(q));
}

void
QuantitiesOf(const Deltas &d, int32 *out)
{
	const int32 q[kDeltaCount] = {d.on_hand,		 d.reserved,	 d.committed, d.damaged,
								  d.quality_control, d.safety_stock, d.incoming};
	memcpy(out, q, sizeof(q));
}

// What is held out of on_hand (reserved, committed, damaged, quality_control,
// safety_stock) after `d`, and how `d` changes it.
int64
HeldAfter(const StockRow &row, const Deltas &d, int64 *change)
{
	*change = static_cast<int64>(d.reserved) + d.committed + d.damaged + d.quality_control + d.safety_stock;
	return static_cast<int64>(row.reserved) + row.committed + row.damaged + row.quality_control + row.safety_stock +
		   *change;
}

}  // namespace

void
DeltaArgs(const Deltas &d, Datum *args)
{
	int32 values[kDeltaCount];
	QuantitiesOf(d, values);
	for (int i = 0; i < kDeltaCount; i++)
		args[i] = Int32GetDatum(values[i]);
}

int64
UpdateProjection(Datum sku, Datum location, const Deltas &d)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID, INT4OID, INT4OID, INT4OID, INT4OID};
	Datum args[2 + kDeltaCount] = {sku, location};
	DeltaArgs(d, args + 2);
	if (RunPlan(KeptPlan(&plan,
						   "UPDATE stocksync.stock_level SET on_hand = on_hand + $3, reserved = reserved + $4, "
						   "committed = committed + $5, damaged = damaged + $6, "
						   "quality_control = quality_control + $7, safety_stock = safety_stock + $8, "
						   "incoming = incoming + $9, version = version + 1 "
						   "WHERE sku = $1 AND location = $2 RETURNING version, buckets",
						   9, types),
				args, nullptr) != 1)
		elog(ERROR, "stocksync: projection row for \"%s\" missing", TextDatumGetCString(sku));
	int64 version = ColumnInt64(0, 1);
	if (DatumGetInt16(ColumnDatum(0, 2)) == 0)
		return version;
	// A hot SKU's version is its rows' sum. Read in a statement of its own:
	// an UPDATE that waited for the row's lock (while set_hot made the SKU
	// hot) sees the row's new version but, in a subquery, the buckets as its
	// snapshot had them, none yet.
	static SPIPlanPtr buckets_plan = nullptr;
	Datum key[] = {sku, location};
	RunPlan(KeptPlan(&buckets_plan,
					 "SELECT COALESCE(pg_catalog.sum(version), 0)::bigint FROM stocksync.stock_bucket "
					 "WHERE sku = $1 AND location = $2",
					 2, kTwoTexts),
			key, nullptr);
	return version + ColumnInt64(0, 1);
}

void
AppendLedger(const char *kind, Datum sku, Datum location, int32 qty, const Deltas &d, int64 reservation_id,
			 OptionalText reason, OptionalText reference)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID, INT4OID,
								INT4OID, INT4OID, INT4OID, INT4OID, INT8OID, TEXTOID, TEXTOID};
	Datum args[] = {CStringGetTextDatum(kind),
					sku,
					location,
					Int32GetDatum(qty),
					Int32GetDatum(d.on_hand),
					Int32GetDatum(d.reserved),
					Int32GetDatum(d.committed),
					Int32GetDatum(d.damaged),
					Int32GetDatum(d.quality_control),
					Int32GetDatum(d.safety_stock),
					Int32GetDatum(d.incoming),
					Int64GetDatum(reservation_id),
					reason.value,
					reference.value};
	char nulls[14];
	memset(nulls, ' ', sizeof(nulls));
	if (reservation_id == 0)
		nulls[11] = 'n';
	if (reason.isnull)
		nulls[12] = 'n';
	if (reference.isnull)
		nulls[13] = 'n';
	RunPlan(KeptPlan(&plan,
					   "INSERT INTO stocksync.ledger (kind, sku, location, qty, d_on_hand, d_reserved, "
					   "d_committed, d_damaged, d_quality_control, d_safety_stock, d_incoming, "
					   "reservation_id, reason, reference) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
					   14, types),
			args, nulls);
}

int64
ApplyMovement(const char *kind, Datum sku, Datum location, int32 qty, const Deltas &deltas, int64 reservation_id,
			  OptionalText reason, OptionalText reference)
{
	int64 version = UpdateProjection(sku, location, deltas);
	AppendLedger(kind, sku, location, qty, deltas, reservation_id, reason, reference);
	return version;
}

void
ApplyHeldMovement(const char *kind, Datum sku, Datum location, int32 qty, const Deltas &deltas,
				  int64 reservation_id, OptionalText reason)
{
	if (AvailableDelta(deltas) < 0 || !ApplyToFreeBucket(sku, location, deltas))
		UpdateProjection(sku, location, deltas);
	AppendLedger(kind, sku, location, qty, deltas, reservation_id, reason, NoText());
}

int
QuantityPastInteger(const StockRow &row, const Deltas &d)
{
	int32 have[kDeltaCount], change[kDeltaCount];
	QuantitiesOf(row, have);
	QuantitiesOf(d, change);
	for (int i = 0; i < kDeltaCount; i++)
		if (static_cast<int64>(have[i]) + change[i] > PG_INT32_MAX)
			return i;
	// What is held out of on_hand must fit too, or available (on_hand minus
	// it, an integer in the stock view) would fall below what one holds.
	int64 held_change;
	int64 held = HeldAfter(row, d, &held_change);
	return held_change > 0 && held > PG_INT32_MAX ? kHeldPastInteger : -1;
}

void
CheckQuantitiesFit(Datum sku, Datum location, const StockRow &row, const Deltas &d)
{
	int past = QuantityPastInteger(row, d);
	if (past < 0)
		return;
	if (past == kHeldPastInteger)
	{
		int64 held_change;
		ereport(ERROR,
				(errcode(kInvalidQuantity),
				 errmsg("units held of sku \"%s\" at location \"%s\" would exceed %d", TextDatumGetCString(sku),
						TextDatumGetCString(location), PG_INT32_MAX),
				 errdetail("Reserved, committed, damaged, quality_control and safety_stock would add up to %lld "
						   "units.",
						   static_cast<long long>(HeldAfter(row, d, &held_change))),
				 errhint("A quantity of one SKU at one location must fit an integer.")));
	}
	int32 have[kDeltaCount], change[kDeltaCount];
	QuantitiesOf(row, have);
	QuantitiesOf(d, change);
	ereport(ERROR,
			(errcode(kInvalidQuantity),
			 errmsg("%s of sku \"%s\" at location \"%s\" would exceed %d units", kQuantityNames[past],
					TextDatumGetCString(sku), TextDatumGetCString(location), PG_INT32_MAX),
			 errdetail("%d units %s, %d more requested.", have[past], kQuantityNames[past], change[past]),
			 errhint("A quantity of one SKU at one location must fit an integer.")));
}

StockRow
SummedHeldQuantities(Datum sku, Datum location)
{
	static SPIPlanPtr plan = nullptr;
	Datum args[] = {sku, location};
	RunPlan(KeptPlan(&plan,
					   "SELECT COALESCE(pg_catalog.sum(reserved), 0)::bigint, COALESCE(pg_catalog.sum(committed), 0)::bigint, "
					   "COALESCE(pg_catalog.sum(damaged), 0)::bigint, COALESCE(pg_catalog.sum(quality_control), 0)::bigint, "
					   "COALESCE(pg_catalog.sum(safety_stock), 0)::bigint FROM stocksync.stock_rows "
					   "WHERE sku = $1 AND location = $2",
					   2, kTwoTexts),
			args, nullptr);
	// A sum already past an integer is reported as full.
	auto capped = [](int column) {
		return static_cast<int32>(Min(ColumnInt64(0, column), static_cast<int64>(PG_INT32_MAX)));
	};
	StockRow row = {};
	row.reserved = capped(1);
	row.committed = capped(2);
	row.damaged = capped(3);
	row.quality_control = capped(4);
	row.safety_stock = capped(5);
	return row;
}

void
TakeMissingFromDamagedThenQc(const StockRow &row, int32 on_hand_after, Deltas *d)
{
	int32 excess = row.damaged + row.quality_control - on_hand_after;
	if (excess <= 0)
		return;
	d->damaged = -Min(excess, row.damaged);
	d->quality_control = -(excess + d->damaged);
}

void
ReportInsufficient(Datum sku, Datum location, const char *what, int32 have, int64 wanted)
{
	ereport(ERROR,
			(errcode(kInsufficientStock),
			 errmsg("insufficient %s for sku \"%s\" at location \"%s\"", what, TextDatumGetCString(sku),
					TextDatumGetCString(location)),
			 errdetail("%d units %s, %lld requested.", have, what, static_cast<long long>(wanted))));
}

int
CompareText(Datum a, Datum b)
{
	text *ta = DatumGetTextPP(a);
	text *tb = DatumGetTextPP(b);
	int la = VARSIZE_ANY_EXHDR(ta);
	int lb = VARSIZE_ANY_EXHDR(tb);
	int c = memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), Min(la, lb));
	if (c != 0)
		return c;
	return (la > lb) - (la < lb);
}

}  // namespace stocksync
