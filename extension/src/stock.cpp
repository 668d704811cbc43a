// Stock movements that are not orders: receipts, purchase orders, corrections,
// counts, moves between states, transfers and absolute figures from an ERP.
#include "pg.hpp"

#include "errors.hpp"
#include "movement.hpp"
#include "spi.hpp"

using namespace stocksync;

extern "C" {
PG_FUNCTION_INFO_V1(stocksync_receive);
PG_FUNCTION_INFO_V1(stocksync_expect);
PG_FUNCTION_INFO_V1(stocksync_adjust);
PG_FUNCTION_INFO_V1(stocksync_cycle_count);
PG_FUNCTION_INFO_V1(stocksync_move);
PG_FUNCTION_INFO_V1(stocksync_transfer);
PG_FUNCTION_INFO_V1(stocksync_set_on_hand);
}

namespace {

// A reason is free text but must say something: it is what an auditor reads.
OptionalText
RequiredReason(FunctionCallInfo fcinfo, int argno, const char *action, const char *sku)
{
	if (PG_ARGISNULL(argno) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(argno)) == 0)
		ereport(ERROR,
				(errcode(kInvalidArgument), errmsg("a reason is required to %s sku \"%s\"", action, sku),
				 errhint("Say why the stock changed, for example 'shrinkage' or 'found in aisle 4'.")));
	return OptionalText{PG_GETARG_DATUM(argno), false};
}

void
CheckArgsNotNull(FunctionCallInfo fcinfo, int count, const char *const *names)
{
	for (int i = 0; i < count; i++)
		CheckNotNull(PG_ARGISNULL(i), names[i]);
}

// Makes on_hand `counted`, a count of what is on the shelf, through an ADJUST
// of the difference (none when equal); returns the difference. Units found
// missing beyond the good ones come out of damaged, then quality_control
// (TakeMissingFromDamagedThenQc). Safety stock is a setting, not units, and
// stays.
int32
ApplyCount(Datum sku, Datum location, const StockRow &row, int32 counted, OptionalText reason,
		   OptionalText reference)
{
	Deltas d;
	d.on_hand = counted - row.on_hand;
	if (d.on_hand == 0)
		return 0;
	TakeMissingFromDamagedThenQc(row, counted, &d);
	CheckQuantitiesFit(sku, location, row, d);
	ApplyMovement("ADJUST", sku, location, d.on_hand < 0 ? -d.on_hand : d.on_hand, d, 0, reason, reference);
	return d.on_hand;
}

}  // namespace

// receive(sku, qty, location, reference, from_incoming): a goods receipt.
extern "C" Datum
stocksync_receive(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"sku", "qty", "location"};
	CheckArgsNotNull(fcinfo, 3, names);
	Datum sku = PG_GETARG_DATUM(0);
	int32 qty = PG_GETARG_INT32(1);
	Datum location = PG_GETARG_DATUM(2);
	bool from_incoming = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	CheckPositiveQuantity(qty, TextDatumGetCString(sku));

	SPI_connect();
	// A receipt only adds units: no budget has to come back from a hot SKU's
	// buckets, so it waits for none (hot_receive_vs_paid_and_shipped.spec).
	StockRow row = LockStockRowKeepingBudgets(sku, location);
	Deltas d;
	d.on_hand = qty;
	if (from_incoming)
		d.incoming = -Min(qty, row.incoming);
	CheckQuantitiesFit(sku, location, row, d);
	int64 version = ApplyMovement("RECEIVE", sku, location, qty, d, 0, NoText(), OptionalTextArg(fcinfo, 3));
	SPI_finish();
	PG_RETURN_INT64(version);
}

// expect(sku, qty, location, reference): a purchase order adds to incoming.
extern "C" Datum
stocksync_expect(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"sku", "qty", "location"};
	CheckArgsNotNull(fcinfo, 3, names);
	Datum sku = PG_GETARG_DATUM(0);
	int32 qty = PG_GETARG_INT32(1);
	Datum location = PG_GETARG_DATUM(2);
	CheckPositiveQuantity(qty, TextDatumGetCString(sku));

	SPI_connect();
	StockRow row = LockStockRowKeepingBudgets(sku, location);
	Deltas d;
	d.incoming = qty;
	CheckQuantitiesFit(sku, location, row, d);
	int64 version = ApplyMovement("EXPECT", sku, location, qty, d, 0, NoText(), OptionalTextArg(fcinfo, 3));
	SPI_finish();
	PG_RETURN_INT64(version);
}

// adjust(sku, delta, reason, location, state, reference): a correction of
// on_hand (and of damaged or quality_control when state names one of them).
extern "C" Datum
stocksync_adjust(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"sku", "delta", "reason", "location", "state"};
	CheckArgsNotNull(fcinfo, 5, names);
	Datum sku = PG_GETARG_DATUM(0);
	int32 delta = PG_GETARG_INT32(1);
	const char *sku_name = TextDatumGetCString(sku);
	OptionalText reason = RequiredReason(fcinfo, 2, "adjust", sku_name);
	Datum location = PG_GETARG_DATUM(3);
	StockState state = ParseStockState(PG_GETARG_TEXT_PP(4), "state", 3);
	if (delta == 0)
		ereport(ERROR,
				(errcode(kInvalidQuantity), errmsg("adjustment of sku \"%s\" must not be zero", sku_name)));

	SPI_connect();
	StockRow row = LockStockRow(sku, location);
	Deltas d;
	d.on_hand = delta;
	AddToState(&d, state, delta);
	// In 64 bits: a large delta is refused as too large, never wrapped into
	// a shortage.
	CheckQuantitiesFit(sku, location, row, d);
	if (static_cast<int64>(row.on_hand) + delta < 0)
		ReportInsufficient(sku, location, "on_hand", row.on_hand, -static_cast<int64>(delta));
	// Units lost from the good ones cannot be more than there are: the
	// damaged and quality-control units are on hand too, and stay.
	int32 good = row.on_hand - row.damaged - row.quality_control;
	if (state == StockState::kAvailable && static_cast<int64>(good) + delta < 0)
		ReportInsufficient(sku, location, "on_hand outside damaged and quality_control", good,
						   -static_cast<int64>(delta));
	if (state != StockState::kAvailable && static_cast<int64>(UnitsIn(row, state)) + delta < 0)
		ReportInsufficient(sku, location, StockStateName(state), UnitsIn(row, state), -static_cast<int64>(delta));
	int64 version = ApplyMovement("ADJUST", sku, location, delta < 0 ? -delta : delta, d, 0, reason,
								  OptionalTextArg(fcinfo, 5));
	SPI_finish();
	PG_RETURN_INT64(version);
}

// cycle_count(sku, counted, reason, location, reference): the counted figure
// replaces on_hand through an ADJUST of the difference.
extern "C" Datum
stocksync_cycle_count(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"sku", "counted", "reason", "location"};
	CheckArgsNotNull(fcinfo, 4, names);
	Datum sku = PG_GETARG_DATUM(0);
	int32 counted = PG_GETARG_INT32(1);
	const char *sku_name = TextDatumGetCString(sku);
	OptionalText reason = RequiredReason(fcinfo, 2, "count", sku_name);
	Datum location = PG_GETARG_DATUM(3);
	if (counted < 0)
		ereport(ERROR,
				(errcode(kInvalidQuantity), errmsg("count of sku \"%s\" must not be negative, got %d", sku_name,
												   counted)));

	SPI_connect();
	StockRow row = LockStockRow(sku, location);
	int32 difference = ApplyCount(sku, location, row, counted, reason, OptionalTextArg(fcinfo, 4));
	SPI_finish();
	PG_RETURN_INT32(difference);
}

// move(sku, qty, from_state, to_state, location, reason): units change state
// within a location (to damaged, out of quality control, ...).
extern "C" Datum
stocksync_move(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"sku", "qty", "from_state", "to_state", "location"};
	CheckArgsNotNull(fcinfo, 5, names);
	Datum sku = PG_GETARG_DATUM(0);
	int32 qty = PG_GETARG_INT32(1);
	StockState from = ParseStockState(PG_GETARG_TEXT_PP(2), "from_state", 4);
	StockState to = ParseStockState(PG_GETARG_TEXT_PP(3), "to_state", 4);
	Datum location = PG_GETARG_DATUM(4);
	CheckPositiveQuantity(qty, TextDatumGetCString(sku));
	if (from == to)
		ereport(ERROR,
				(errcode(kInvalidArgument),
				 errmsg("move of sku \"%s\" needs two different states, got \"%s\" twice",
						TextDatumGetCString(sku), StockStateName(from))));

	SPI_connect();
	StockRow row = LockStockRow(sku, location);
	if (UnitsIn(row, from) < qty)
		ReportInsufficient(sku, location, StockStateName(from), UnitsIn(row, from), qty);
	// Units that become damaged or go to quality control are on hand: they
	// come from the good ones (on hand outside damaged and quality control).
	// Safety stock is a setting, not units, and may be more than the good
	// ones after a loss; moving it there must not leave damaged and quality
	// control above on_hand, blocking units received later. (Out of
	// available, the check above already implies this one.)
	bool into_held = to == StockState::kDamaged || to == StockState::kQualityControl;
	bool from_held = from == StockState::kDamaged || from == StockState::kQualityControl;
	int32 good = row.on_hand - row.damaged - row.quality_control;
	if (into_held && !from_held && good < qty)
		ReportInsufficient(sku, location, "on_hand outside damaged and quality_control", good, qty);
	Deltas d;
	AddToState(&d, from, -qty);
	AddToState(&d, to, qty);
	CheckQuantitiesFit(sku, location, row, d);
	int64 version = ApplyMovement("MOVE", sku, location, qty, d, 0, OptionalTextArg(fcinfo, 5), NoText());
	SPI_finish();
	PG_RETURN_INT64(version);
}

// transfer(sku, qty, from_location, to_location, reference): available units
// leave one location and arrive at another, in one transaction.
extern "C" Datum
stocksync_transfer(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"sku", "qty", "from_location", "to_location"};
	CheckArgsNotNull(fcinfo, 4, names);
	Datum sku = PG_GETARG_DATUM(0);
	int32 qty = PG_GETARG_INT32(1);
	Datum from = PG_GETARG_DATUM(2);
	Datum to = PG_GETARG_DATUM(3);
	CheckPositiveQuantity(qty, TextDatumGetCString(sku));
	if (CompareText(from, to) == 0)
		ereport(ERROR,
				(errcode(kInvalidArgument),
				 errmsg("transfer of sku \"%s\" needs two different locations", TextDatumGetCString(sku))));
	OptionalText reference = OptionalTextArg(fcinfo, 4);

	SPI_connect();
	// Both rows are locked in byte order of the location code, the order every
	// stocksync function locks in, so two opposite transfers cannot deadlock.
	bool from_first = CompareText(from, to) < 0;
	StockRow first = LockStockRow(sku, from_first ? from : to);
	StockRow second = LockStockRow(sku, from_first ? to : from);
	const StockRow &source = from_first ? first : second;
	const StockRow &target = from_first ? second : first;
	if (source.Available() < qty)
		ReportInsufficient(sku, from, "available", source.Available(), qty);
	Deltas out;
	out.on_hand = -qty;
	Deltas in;
	in.on_hand = qty;
	CheckQuantitiesFit(sku, to, target, in);
	// Each row names the other location: the two pair up for an auditor even
	// without a reference, when one transaction makes several transfers.
	ApplyMovement("TRANSFER", sku, from, qty, out, 0,
				  OptionalText{CStringGetTextDatum(psprintf("to %s", TextDatumGetCString(to))), false}, reference);
	ApplyMovement("TRANSFER", sku, to, qty, in, 0,
				  OptionalText{CStringGetTextDatum(psprintf("from %s", TextDatumGetCString(from))), false},
				  reference);
	SPI_finish();
	PG_RETURN_VOID();
}

// set_on_hand(sku, qty, source, source_version, location): an ERP's absolute
// figure. Applied only when source_version is newer than the last one seen
// from that source for this SKU and location; returns whether it was applied.
extern "C" Datum
stocksync_set_on_hand(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"sku", "qty", "source", "source_version", "location"};
	CheckArgsNotNull(fcinfo, 5, names);
	Datum sku = PG_GETARG_DATUM(0);
	int32 qty = PG_GETARG_INT32(1);
	Datum source = PG_GETARG_DATUM(2);
	int64 source_version = PG_GETARG_INT64(3);
	Datum location = PG_GETARG_DATUM(4);
	CheckReference("source", source);
	if (qty < 0)
		ereport(ERROR,
				(errcode(kInvalidQuantity),
				 errmsg("on_hand of sku \"%s\" must not be negative, got %d", TextDatumGetCString(sku), qty)));

	SPI_connect();
	StockRow row = LockStockRow(sku, location);
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, INT8OID};
	Datum args[] = {sku, location, source, Int64GetDatum(source_version)};
	bool newer = RunPlan(KeptPlan(&plan,
									"INSERT INTO stocksync.source_version AS s (sku, location, source, version) "
									"VALUES ($1, $2, $3, $4) ON CONFLICT (sku, location, source) DO UPDATE "
									"SET version = EXCLUDED.version, updated_at = pg_catalog.now() "
									"WHERE s.version < EXCLUDED.version RETURNING version",
									4, types),
						 args, nullptr) == 1;
	if (newer)
	{
		char *reference = psprintf("%s@%lld", TextDatumGetCString(source), static_cast<long long>(source_version));
		ApplyCount(sku, location, row, qty, OptionalText{CStringGetTextDatum("set_on_hand"), false},
				   OptionalText{CStringGetTextDatum(reference), false});
	}
	SPI_finish();
	PG_RETURN_BOOL(newer);
}
