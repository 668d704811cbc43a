// An order after reserve(): commit, extend, release, fulfill, return_items.
//
// Each function locks the order row first and then the projection rows of its
// lines in (sku, location) byte order (the lines are stored sorted), so a
// function racing another on the same order waits and then sees the new state;
// the state machine below decides whether its action is still legal:
//
//   reserved --commit--> committed --fulfill--> fulfilled --return--> returned
//      |  \__________________fulfill_____________^
//      +--release/expiry--> released / expired   (committed --release--> released)
//
// Repeating an action that already happened is a no-op that returns the
// state, so every call is safe to retry.
#include "pg.hpp"

#include "bundles.hpp"
#include "definer.hpp"
#include "errors.hpp"
#include "fast_commit.hpp"
#include "movement.hpp"
#include "order.hpp"
#include "spi.hpp"

using namespace stocksync;

extern "C" {
PG_FUNCTION_INFO_V1(stocksync_commit);
PG_FUNCTION_INFO_V1(stocksync_extend);
PG_FUNCTION_INFO_V1(stocksync_release);
PG_FUNCTION_INFO_V1(stocksync_fulfill);
PG_FUNCTION_INFO_V1(stocksync_return_items);
}

namespace {

const char *const kStates[] = {"reserved", "committed", "fulfilled", "released", "expired", "returned"};

// The state as a string constant that outlives SPI_finish.
const char *
Canonical(const char *state)
{
	for (const char *known : kStates)
		if (strcmp(state, known) == 0)
			return known;
	elog(ERROR, "stocksync: unknown order state \"%s\"", state);
	return nullptr;
}

bool
Is(const Reservation &r, const char *state)
{
	return strcmp(r.state, state) == 0;
}

// The projection column that holds an order's unfulfilled units.
void
AddToHeld(Deltas *d, const Reservation &r, int32 units)
{
	if (Is(r, "committed"))
		d->committed += units;
	else
		d->reserved += units;
}

int32
Remaining(const OrderLine &line)
{
	return line.qty - line.fulfilled;
}

bool
AnyFulfilled(const Reservation &r)
{
	for (int i = 0; i < r.count; i++)
		if (r.lines[i].fulfilled > 0)
			return true;
	return false;
}

// Whether some units of the order were never shipped: in a fulfilled or
// returned order, those a release after a partial shipment gave back.
bool
AnyUnshipped(const Reservation &r)
{
	for (int i = 0; i < r.count; i++)
		if (Remaining(r.lines[i]) > 0)
			return true;
	return false;
}

void
CheckKey(FunctionCallInfo fcinfo)
{
	CheckNotNull(PG_ARGISNULL(0), "channel");
	CheckNotNull(PG_ARGISNULL(1), "order_ref");
}

// Units requested per order line: from `lines` (matched by sku and, when
// given, location) or, when `lines` is null, `all(line)` for every line.
int32 *
RequestedUnits(const Reservation &r, FunctionCallInfo fcinfo, int argno, int32 (*all)(const OrderLine &),
			   int32 (*limit)(const OrderLine &), const char *action)
{
	int32 *units = static_cast<int32 *>(palloc0(sizeof(int32) * Max(r.count, 1)));
	if (PG_ARGISNULL(argno))
	{
		for (int i = 0; i < r.count; i++)
			units[i] = all(r.lines[i]);
		return units;
	}
	const char *order_ref = TextDatumGetCString(r.order_ref);
	int count;
	OrderLine *wanted = ParseLines(PG_GETARG_JSONB_P(argno), order_ref, (Datum) 0, &count);
	// A bundle named here means its components, as reserve() held them.
	wanted = ExpandBundleLines(wanted, &count);
	for (int w = 0; w < count; w++)
	{
		int32 left = wanted[w].qty;
		for (int i = 0; i < r.count && left > 0; i++)
		{
			if (CompareText(r.lines[i].sku, wanted[w].sku) != 0)
				continue;
			if (wanted[w].location != (Datum) 0 && CompareText(r.lines[i].location, wanted[w].location) != 0)
				continue;
			int32 take = Min(left, limit(r.lines[i]) - units[i]);
			units[i] += take;
			left -= take;
		}
		// A line that names a location takes units there only: the order
		// may have more of the SKU left at its other locations.
		if (left > 0)
		{
			bool located = wanted[w].location != (Datum) 0;
			ereport(ERROR,
					(errcode(kInvalidQuantity),
					 errmsg("cannot %s %d more units of sku \"%s\"%s for order \"%s\"", action, left,
							TextDatumGetCString(wanted[w].sku),
							located ? psprintf(" at location \"%s\"", TextDatumGetCString(wanted[w].location)) : "",
							order_ref),
					 errdetail("The order has fewer units of that SKU left to %s%s.", action,
							   located ? " at that location" : "")));
		}
	}
	return units;
}

// With a document reference, a retried fulfilment or return is a no-op and
// the same reference with other lines is refused; returns true when this
// document was already applied.
bool
DocumentAlreadyApplied(const Reservation &r, const char *kind, FunctionCallInfo fcinfo, int lines_arg, int ref_arg,
					   const char *to_state = nullptr)
{
	if (PG_ARGISNULL(ref_arg))
		return false;
	static SPIPlanPtr insert_plan = nullptr;
	static SPIPlanPtr same_plan = nullptr;
	static const Oid types[] = {INT8OID, TEXTOID, TEXTOID, JSONBOID, TEXTOID};
	Datum lines = PG_ARGISNULL(lines_arg)
					  ? DirectFunctionCall1(jsonb_in, CStringGetDatum("null"))
					  : PG_GETARG_DATUM(lines_arg);
	Datum args[] = {Int64GetDatum(r.id), CStringGetTextDatum(kind), PG_GETARG_DATUM(ref_arg), lines,
					to_state ? CStringGetTextDatum(to_state) : static_cast<Datum>(0)};
	const char nulls[] = {' ', ' ', ' ', ' ', to_state ? ' ' : 'n'};
	if (RunPlan(KeptPlan(&insert_plan,
						   "INSERT INTO stocksync.order_document (reservation_id, kind, document_ref, lines, to_state) "
						   "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
						   5, types),
				args, nulls) == 1)
		return false;
	RunPlan(KeptPlan(&same_plan,
					   "SELECT lines = $4 AND to_state IS NOT DISTINCT FROM $5 FROM stocksync.order_document "
					   "WHERE reservation_id = $1 AND kind = $2 AND document_ref = $3",
					   5, types),
			args, nulls);
	if (!DatumGetBool(ColumnDatum(0, 1)))
		ereport(ERROR,
				(errcode(kIdempotencyConflict),
				 errmsg("document \"%s\" of order \"%s\" was already applied with other lines%s",
						TextDatumGetCString(PG_GETARG_DATUM(ref_arg)), TextDatumGetCString(r.order_ref),
						to_state ? " or into another state" : ""),
				 errhint("Use a new reference for a different shipment or return.")));
	return true;
}

int32
Returnable(const OrderLine &line)
{
	return line.fulfilled - line.returned;
}

}  // namespace

// commit(channel, order_ref): the soft hold becomes a hard one (paid order).
// SECURITY INVOKER, as reserve() of one line (definer.hpp): the fast path
// runs as the caller, everything else as the function's owner with
// search_path pinned.
extern "C" Datum
stocksync_commit(PG_FUNCTION_ARGS)
{
	CheckKey(fcinfo);
	// A held order of plain SKUs, nearly every paid order: fast_commit.cpp.
	if (CommitFast(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)))
		PG_RETURN_TEXT_P(cstring_to_text("committed"));
	DefinerScope definer = EnterDefinerScope(fcinfo->flinfo->fn_oid);
	SPI_connect();
	Reservation r = LockReservation(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
	const char *state = Canonical(r.state);
	if (Is(r, "reserved"))
	{
		for (int i = 0; i < r.count; i++)
		{
			int32 units = Remaining(r.lines[i]);
			if (units == 0)
				continue;
			Deltas d;
			d.reserved = -units;
			d.committed = units;
			ApplyHeldMovement("COMMIT", r.lines[i].sku, r.lines[i].location, units, d, r.id, NoText());
		}
		state = "committed";
		SaveReservation(r, state);
	}
	else if (Is(r, "released") || Is(r, "expired"))
		ReportIllegalTransition(r.channel, r.order_ref, r.state, "commit");
	SPI_finish();
	LeaveDefinerScope(definer);
	PG_RETURN_TEXT_P(cstring_to_text(state));
}

// extend(channel, order_ref, ttl): checkout heartbeat for a soft hold.
extern "C" Datum
stocksync_extend(PG_FUNCTION_ARGS)
{
	CheckKey(fcinfo);
	// As for reserve(): a hold extended by nothing or into the past is a
	// caller's mistake, not a release.
	Datum ttl = CheckedTtl(fcinfo, 2);
	SPI_connect();
	Reservation r = LockReservation(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
	if (!Is(r, "reserved"))
		ReportIllegalTransition(r.channel, r.order_ref, r.state, "extend the hold of");
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, INTERVALOID};
	Datum args[] = {r.channel, r.order_ref, ttl};
	RunPlan(KeptPlan(&plan,
					   "UPDATE stocksync.reservation SET expires_at = pg_catalog.now() + $3, "
					   "updated_at = pg_catalog.now() WHERE channel = $1 AND order_ref = $2 RETURNING expires_at",
					   3, types),
			args, nullptr);
	TimestampTz expires_at = DatumGetTimestampTz(ColumnDatum(0, 1));
	SPI_finish();
	PG_RETURN_TIMESTAMPTZ(expires_at);
}

// release(channel, order_ref, reason): cancels what is still held.
extern "C" Datum
stocksync_release(PG_FUNCTION_ARGS)
{
	CheckKey(fcinfo);
	SPI_connect();
	Reservation r = LockReservation(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
	const char *state = Canonical(r.state);
	if (Is(r, "reserved") || Is(r, "committed"))
	{
		OptionalText reason = OptionalTextArg(fcinfo, 2);
		for (int i = 0; i < r.count; i++)
		{
			int32 units = Remaining(r.lines[i]);
			if (units == 0)
				continue;
			Deltas d;
			AddToHeld(&d, r, -units);
			ApplyHeldMovement("RELEASE", r.lines[i].sku, r.lines[i].location, units, d, r.id, reason);
		}
		state = AnyFulfilled(r) ? "fulfilled" : "released";
		SaveReservation(r, state);
	}
	// A fulfilled (or since returned) order with units never shipped was
	// released after a partial shipment: this is a retry of that release.
	else if ((Is(r, "fulfilled") || Is(r, "returned")) && !AnyUnshipped(r))
		ReportIllegalTransition(r.channel, r.order_ref, r.state, "release");
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(state));
}

// fulfill(channel, order_ref, lines, shipment_ref): held units are shipped and
// leave on_hand.
extern "C" Datum
stocksync_fulfill(PG_FUNCTION_ARGS)
{
	CheckKey(fcinfo);
	if (!PG_ARGISNULL(3))
		CheckReference("shipment_ref", PG_GETARG_DATUM(3));
	SPI_connect();
	Reservation r = LockReservation(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
	const char *state = Canonical(r.state);
	// A whole fulfilment repeated: also once the order was returned since,
	// as commit() repeated then returns the state too.
	bool retry_of_whole = (Is(r, "fulfilled") || Is(r, "returned")) && PG_ARGISNULL(2) && PG_ARGISNULL(3);
	if (!retry_of_whole && !DocumentAlreadyApplied(r, "FULFILL", fcinfo, 2, 3))
	{
		if (!Is(r, "reserved") && !Is(r, "committed"))
			ReportIllegalTransition(r.channel, r.order_ref, r.state, "fulfill");
		int32 *units = RequestedUnits(r, fcinfo, 2, Remaining, Remaining, "fulfill");
		bool complete = true;
		for (int i = 0; i < r.count; i++)
		{
			OrderLine &line = r.lines[i];
			if (units[i] > 0)
			{
				StockRow row = LockStockRowKeepingBudgets(line.sku, line.location);
				if (row.on_hand < units[i])
					ReportInsufficient(line.sku, line.location, "on_hand", row.on_hand, units[i]);
				Deltas d;
				d.on_hand = -units[i];
				AddToHeld(&d, r, -units[i]);
				// The units shipped exist; beyond the good ones they were
				// among those counted damaged or in quality control.
				TakeMissingFromDamagedThenQc(row, row.on_hand - units[i], &d);
				ApplyMovement("FULFILL", line.sku, line.location, units[i], d, r.id, NoText(),
							  OptionalTextArg(fcinfo, 3));
				line.fulfilled += units[i];
			}
			complete = complete && Remaining(line) == 0;
		}
		if (complete)
			state = "fulfilled";
		SaveReservation(r, state);
	}
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(state));
}

// return_items(channel, order_ref, lines, to_state, return_ref): shipped units
// come back into on_hand, sellable or not.
extern "C" Datum
stocksync_return_items(PG_FUNCTION_ARGS)
{
	CheckKey(fcinfo);
	CheckNotNull(PG_ARGISNULL(3), "to_state");
	if (!PG_ARGISNULL(4))
		CheckReference("return_ref", PG_GETARG_DATUM(4));
	StockState to_state = ParseStockState(PG_GETARG_TEXT_PP(3), "to_state", 3);
	SPI_connect();
	Reservation r = LockReservation(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
	const char *state = Canonical(r.state);
	if (!AnyFulfilled(r))
		ReportIllegalTransition(r.channel, r.order_ref, r.state, "return items of");
	bool retry_of_whole = Is(r, "returned") && PG_ARGISNULL(2) && PG_ARGISNULL(4);
	if (!retry_of_whole && !DocumentAlreadyApplied(r, "RETURN", fcinfo, 2, 4, StockStateName(to_state)))
	{
		int32 *units = RequestedUnits(r, fcinfo, 2, Returnable, Returnable, "return");
		bool all_back = true;
		for (int i = 0; i < r.count; i++)
		{
			OrderLine &line = r.lines[i];
			if (units[i] > Returnable(line))
				ereport(ERROR,
						(errcode(kInvalidQuantity),
						 errmsg("cannot return %d units of sku \"%s\" for order \"%s\"", units[i],
								TextDatumGetCString(line.sku), TextDatumGetCString(r.order_ref)),
						 errdetail("%d units were shipped and %d already returned.", line.fulfilled,
								   line.returned)));
			if (units[i] > 0)
			{
				LockStockRowKeepingBudgets(line.sku, line.location);
				Deltas d;
				d.on_hand = units[i];
				AddToState(&d, to_state, units[i]);
				ApplyMovement("RETURN", line.sku, line.location, units[i], d, r.id,
							  OptionalText{CStringGetTextDatum(StockStateName(to_state)), false},
							  OptionalTextArg(fcinfo, 4));
				line.returned += units[i];
			}
			all_back = all_back && line.returned == line.fulfilled;
		}
		if (all_back && Is(r, "fulfilled"))
			state = "returned";
		SaveReservation(r, state);
	}
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(state));
}
