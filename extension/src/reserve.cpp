// reserve(): soft holds for an order, all lines or none, idempotent on
// (channel, order_ref).
//
// The order row is inserted first: that single unique-index insert is the
// idempotency check. The fast path (one pessimistic line of a new order)
// claims the key with it without waiting and steps aside when the key is
// taken; the general path inserts with ON CONFLICT DO NOTHING under the order
// key's lock, which makes a concurrent duplicate wait until the first one
// commits or aborts. Then each line takes its units from the projection in
// (sku, location) byte order, the order every stocksync function locks rows
// in, so two multi-line orders never deadlock.
#include "pg.hpp"

#include "bundles.hpp"
#include "definer.hpp"
#include "errors.hpp"
#include "fast_reserve.hpp"
#include "hot.hpp"
#include "movement.hpp"
#include "order.hpp"
#include "settings.hpp"
#include "spi.hpp"

using namespace stocksync;

extern "C" {
PG_FUNCTION_INFO_V1(stocksync_reserve);
PG_FUNCTION_INFO_V1(stocksync_reserve_lines);
}

namespace {

enum class Strategy
{
	kPessimistic,
	kOptimistic,
};

struct ReserveRequest
{
	Datum channel;
	Datum order_ref;
	OrderLine *lines;
	int count;
	Datum ttl;
	Strategy strategy;
	OnShortage on_shortage;
};

struct ReserveResult
{
	int64 reservation_id;
	int32 shortage;
	bool has_expiry;
	TimestampTz expires_at;
};

Strategy
ParseStrategy(FunctionCallInfo fcinfo, int argno)
{
	CheckNotNull(PG_ARGISNULL(argno), "strategy");
	const char *value = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strcmp(value, "pessimistic") == 0)
		return Strategy::kPessimistic;
	if (strcmp(value, "optimistic") == 0)
		return Strategy::kOptimistic;
	ereport(ERROR, (errcode(kInvalidArgument), errmsg("invalid strategy \"%s\"", value),
					errhint("Use 'pessimistic' (row locks) or 'optimistic' (versions with bounded retries).")));
	return Strategy::kPessimistic;
}

// Inserts the order row; false when (channel, order_ref) already exists or
// the channel is unknown.
bool
InsertReservation(const ReserveRequest &req, ReserveResult *result)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID, INTERVALOID};
	int32 *quantities = static_cast<int32 *>(palloc(sizeof(int32) * req.count));
	for (int i = 0; i < req.count; i++)
		quantities[i] = req.lines[i].qty;
	Datum args[] = {req.channel,
					req.order_ref,
					TextArray(req.lines, req.count, false),
					TextArray(req.lines, req.count, true),
					IntArray(quantities, req.count),
					req.ttl};
	if (RunPlan(KeptPlan(&plan,
						   "INSERT INTO stocksync.reservation (channel, order_ref, skus, locations, quantities, "
						   "expires_at) "
						   "SELECT c.code, $2, $3, $4, $5, pg_catalog.now() + $6 "
						   "FROM stocksync.channel c WHERE c.code = $1 "
						   "ON CONFLICT (channel, order_ref) DO NOTHING RETURNING id, expires_at",
						   6, types),
				args, nullptr) == 0)
		return false;
	result->reservation_id = ColumnInt64(0, 1);
	result->shortage = 0;
	result->has_expiry = true;
	result->expires_at = DatumGetTimestampTz(ColumnDatum(0, 2));
	return true;
}

bool
SameLines(const ReserveRequest &req, const Reservation &existing)
{
	if (existing.count != req.count)
		return false;
	for (int i = 0; i < req.count; i++)
		if (CompareText(existing.lines[i].sku, req.lines[i].sku) != 0 ||
			CompareText(existing.lines[i].location, req.lines[i].location) != 0 ||
			existing.lines[i].qty != req.lines[i].qty)
			return false;
	return true;
}

void
CheckChannelExists(Datum channel)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID};
	Datum args[] = {channel};
	if (RunPlan(KeptPlan(&plan, "SELECT 1 FROM stocksync.channel WHERE code = $1", 1, types), args, nullptr) == 0)
		ereport(ERROR, (errcode(kUnknownChannel), errmsg("unknown channel \"%s\"", TextDatumGetCString(channel)),
						errhint("Add the channel to stocksync.channel first.")));
}

// A replay: the same lines give the first result back, other lines are an
// idempotency conflict.
ReserveResult
ReplayResult(const ReserveRequest &req)
{
	// The channel is known: ReserveGeneral checked it (CheckNamesKnown).
	// The first delivery has committed or is this transaction's own: the
	// caller saw it so, or waited for it (the order key's lock, or ON
	// CONFLICT for the fast path's order row).
	Reservation existing = ReadReservation(req.channel, req.order_ref);
	if (!SameLines(req, existing))
		ereport(ERROR,
				(errcode(kIdempotencyConflict),
				 errmsg("order \"%s\" on channel \"%s\" was already reserved with other lines",
						TextDatumGetCString(req.order_ref), TextDatumGetCString(req.channel)),
				 errdetail("A reservation is identified by (channel, order_ref); a replay must carry the same lines."),
				 errhint("Use a new order_ref for a different order, or release the first one.")));
	ReserveResult result;
	result.reservation_id = existing.id;
	result.shortage = 0;
	for (int i = 0; i < existing.count; i++)
		result.shortage += existing.lines[i].shortage;
	result.has_expiry = existing.has_expiry;
	result.expires_at = existing.expires_at;
	return result;
}

// Refuses an order naming an unknown channel, SKU or location, or a bundle
// without a bill of materials, before it is replayed or holds anything:
// otherwise the refusal depended on the order's other lines (SS005 or SS006
// found on an earlier line first) and differed from reserve_batch(), which
// checks names first (sql/reserve_parity.sql).
void
CheckNamesKnown(const ReserveRequest &req)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTARRAYOID, TEXTARRAYOID};
	CheckChannelExists(req.channel);
	Datum args[] = {TextArray(req.lines, req.count, false), TextArray(req.lines, req.count, true)};
	RunPlan(KeptPlan(&plan,
					   "SELECT (SELECT s FROM pg_catalog.unnest($1) s "
					   "        WHERE NOT EXISTS (SELECT FROM stocksync.item i WHERE i.sku = s) LIMIT 1), "
					   "       (SELECT l FROM pg_catalog.unnest($2) l "
					   "        WHERE NOT EXISTS (SELECT FROM stocksync.location x WHERE x.code = l) LIMIT 1), "
					   "       (SELECT i.sku FROM stocksync.item i WHERE i.sku = ANY ($1) AND i.kind = 'bundle' "
					   "        AND NOT EXISTS (SELECT FROM stocksync.bom m WHERE m.bundle_sku = i.sku) LIMIT 1)",
					   2, types),
			args, nullptr);
	if (!ColumnIsNull(0, 1))
		RaiseUnknownSku(ColumnDatum(0, 1));
	if (!ColumnIsNull(0, 2))
		RaiseUnknownLocation(ColumnDatum(0, 2));
	if (!ColumnIsNull(0, 3))
		ereport(ERROR,
				(errcode(kInvalidArgument),
				 errmsg("sku \"%s\" is a bundle and holds no stock of its own", TextDatumGetCString(ColumnDatum(0, 3))),
				 errhint("Add the bundle's components to stocksync.bom first.")));
}

// The common case in one statement: take the units if they are available.
// A SKU switched to buckets meanwhile (set_hot committed while this waited
// for the row) is left to HoldLocked, which counts its buckets.
bool
TryHold(const OrderLine &line)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, INT4OID};
	Datum args[] = {line.sku, line.location, Int32GetDatum(line.qty)};
	return RunPlan(KeptPlan(&plan,
							  "UPDATE stocksync.stock_level SET reserved = reserved + $3, version = version + 1 "
							  "WHERE sku = $1 AND location = $2 AND buckets = 0 "
							  "AND on_hand - reserved - committed - damaged - quality_control - safety_stock >= $3",
							  3, types),
				   args, nullptr) == 1;
}

bool
TryHoldAtVersion(const OrderLine &line, int64 version)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, INT4OID, INT8OID};
	Datum args[] = {line.sku, line.location, Int32GetDatum(line.qty), Int64GetDatum(version)};
	return RunPlan(KeptPlan(&plan,
							  "UPDATE stocksync.stock_level SET reserved = reserved + $3, version = version + 1 "
							  "WHERE sku = $1 AND location = $2 AND version = $4 AND buckets = 0",
							  4, types),
				   args, nullptr) == 1;
}

// The slow path under the row lock: the row may not exist yet, or there is a
// shortage, which is refused or recorded as an oversell.
int32
HoldLocked(const ReserveRequest &req, const OrderLine &line)
{
	StockRow row = LockStockRow(line.sku, line.location);
	int32 available = row.Available();
	int32 shortage = 0;
	if (available < line.qty)
	{
		if (req.on_shortage == OnShortage::kReject)
			ReportInsufficient(line.sku, line.location, "available", available, line.qty);
		shortage = line.qty - Max(available, 0);
	}
	Deltas d;
	d.reserved = line.qty;
	CheckQuantitiesFit(line.sku, line.location, row, d);
	UpdateProjection(line.sku, line.location, d);
	return shortage;
}

int32
HoldOptimistic(const ReserveRequest &req, const OrderLine &line)
{
	for (int attempt = 0; attempt < optimistic_attempts; attempt++)
	{
		StockRow row = ReadStockRow(line.sku, line.location);
		if (row.Available() < line.qty)
			return HoldLocked(req, line);
		if (TryHoldAtVersion(line, row.version))
			return 0;
		// Switched to buckets meanwhile: no version check on one row can
		// count them; HoldLocked takes every budget back and decides exactly.
		if (IsHotSku(line.sku, line.location))
			return HoldLocked(req, line);
	}
	ereport(ERROR,
			(errcode(kConcurrencyRetriesExhausted),
			 errmsg("sku \"%s\" at location \"%s\" kept changing while reserving order \"%s\"",
					TextDatumGetCString(line.sku), TextDatumGetCString(line.location),
					TextDatumGetCString(req.order_ref)),
			 errdetail("The row's version moved on each of %d attempts (stocksync.optimistic_attempts).",
					   optimistic_attempts),
			 errhint("Retry the call, or use strategy => 'pessimistic' for contended SKUs.")));
	return 0;
}

int32
HoldLine(const ReserveRequest &req, const OrderLine &line)
{
	// A hot SKU's units come from its buckets whatever the strategy: neither
	// a row lock nor a version check on one row scales to its buyers.
	int32 shortage;
	if (HoldHot(line.sku, line.location, line.qty, req.on_shortage == OnShortage::kRecord, &shortage) ==
		HotHold::kHeld)
		return shortage;
	if (req.strategy == Strategy::kOptimistic)
		return HoldOptimistic(req, line);
	if (TryHold(line))
		return 0;
	return HoldLocked(req, line);
}

void
SaveShortages(const ReserveRequest &req)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, INT4ARRAYOID};
	int32 *shortages = static_cast<int32 *>(palloc(sizeof(int32) * req.count));
	for (int i = 0; i < req.count; i++)
		shortages[i] = req.lines[i].shortage;
	Datum args[] = {req.channel, req.order_ref, IntArray(shortages, req.count)};
	RunPlan(KeptPlan(&plan,
					   "UPDATE stocksync.reservation SET shortages = $3 WHERE channel = $1 AND order_ref = $2", 3,
					   types),
			args, nullptr);
}

void
AppendReserveLedger(const OrderLine &line, int64 reservation_id)
{
	Deltas d;
	d.reserved = line.qty;
	AppendLedger("RESERVE", line.sku, line.location, line.qty, d, reservation_id,
				 line.shortage > 0 ? OptionalText{CStringGetTextDatum("oversold"), false} : NoText(), NoText());
}

// Everything but the fast path: as the function's owner with search_path
// pinned (definer.hpp), inside SPI.
ReserveResult
ReserveGeneral(ReserveRequest &req, FastReserve fast, ReserveResult result)
{
	// The projection rows are read (whether a SKU is hot, its version), then
	// written: the lock of the write first (spi.hpp).
	LockTableForWrites("stock_level");
	if (fast != FastReserve::kClaimed)
	{
		CheckNamesKnown(req);
		// A bundle line holds its components: the order row keeps the
		// component lines, so commit, release, fulfil and return move the
		// components too (and a replay compares them).
		int count = req.count;
		OrderLine *expanded = ExpandBundleLines(req.lines, &count);
		if (expanded != req.lines)
		{
			req.lines = expanded;
			req.count = NormalizeLines(expanded, count);
		}
		// A replay of a committed order, or of one this transaction made,
		// needs no lock: nothing about it can change under the replay. Only
		// a delivery still in flight elsewhere is waited for, under the
		// order key's lock; and a transaction that reserves an order twice
		// never waits for a session that waits for it (for its order row).
		if (OrderVisible(req.channel, req.order_ref))
			return ReplayResult(req);
		LockOrderKey(req.channel, req.order_ref);
		if (!InsertReservation(req, &result))
		{
			UnlockOrderKey(req.channel, req.order_ref);
			return ReplayResult(req);
		}
	}
	for (int i = 0; i < req.count; i++)
	{
		OrderLine &line = req.lines[i];
		line.shortage = HoldLine(req, line);
		result.shortage += line.shortage;
		AppendReserveLedger(line, result.reservation_id);
	}
	if (result.shortage > 0)
		SaveShortages(req);
	// The order row holds the key from now on (order.hpp).
	if (fast != FastReserve::kClaimed)
		UnlockOrderKey(req.channel, req.order_ref);
	return result;
}

// The common case, one pessimistic line of a new order with enough stock, is
// written without the executor (fast_reserve.cpp), and claims the order key
// with its order row instead of a lock. When the line cannot be held there (a
// shortage, a contended bucket), the order row is kept and the line held on
// the general path; every other case takes that path whole.
FastReserve
TryReserveFast(ReserveRequest &req, ReserveResult *result)
{
	req.count = NormalizeLines(req.lines, req.count);
	if (req.count != 1 || req.strategy != Strategy::kPessimistic)
		return FastReserve::kFallback;
	result->shortage = 0;
	result->has_expiry = true;
	return ReserveFast(req.channel, req.order_ref, req.lines[0], req.ttl, &result->reservation_id,
					   &result->expires_at);
}

// reserve() of one line, SECURITY INVOKER: the general path runs as
// `function`'s owner (definer.hpp), the fast path as the caller.
ReserveResult
ReserveAsInvoker(ReserveRequest &req, Oid function)
{
	ReserveResult result = {};
	FastReserve fast = TryReserveFast(req, &result);
	if (fast == FastReserve::kHeld)
		return result;
	DefinerScope definer = EnterDefinerScope(function);
	SPI_connect();
	result = ReserveGeneral(req, fast, result);
	SPI_finish();
	LeaveDefinerScope(definer);
	return result;
}

// reserve() of lines, SECURITY DEFINER: already the owner, SPI connected.
ReserveResult
ReserveAsDefiner(ReserveRequest &req)
{
	ReserveResult result = {};
	FastReserve fast = TryReserveFast(req, &result);
	return fast == FastReserve::kHeld ? result : ReserveGeneral(req, fast, result);
}

Datum
ResultDatum(FunctionCallInfo fcinfo, const ReserveResult &result)
{
	// The blessed descriptor is kept with the call site: building it is a
	// catalog walk that would otherwise run on every reservation.
	TupleDesc desc = static_cast<TupleDesc>(fcinfo->flinfo->fn_extra);
	if (desc == nullptr)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "stocksync: reserve() must return a composite type");
		desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = desc;
	}
	Datum values[] = {Int64GetDatum(result.reservation_id), Int32GetDatum(result.shortage),
					  TimestampTzGetDatum(result.expires_at)};
	bool nulls[] = {false, false, !result.has_expiry};
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

void
CheckOrderKey(FunctionCallInfo fcinfo)
{
	CheckNotNull(PG_ARGISNULL(0), "channel");
	CheckNotNull(PG_ARGISNULL(1), "order_ref");
	CheckReference("order_ref", PG_GETARG_DATUM(1));
}

}  // namespace

// reserve(channel, order_ref, sku, qty, ttl, location, strategy, on_shortage)
extern "C" Datum
stocksync_reserve(PG_FUNCTION_ARGS)
{
	CheckOrderKey(fcinfo);
	CheckNotNull(PG_ARGISNULL(2), "sku");
	CheckNotNull(PG_ARGISNULL(3), "qty");
	CheckNotNull(PG_ARGISNULL(5), "location");
	OrderLine line = {};
	line.sku = PG_GETARG_DATUM(2);
	line.qty = PG_GETARG_INT32(3);
	line.location = PG_GETARG_DATUM(5);
	CheckPositiveQuantity(line.qty, TextDatumGetCString(line.sku));
	ReserveRequest req = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), &line, 1, CheckedTtl(fcinfo, 4),
						  ParseStrategy(fcinfo, 6), ParseOnShortage(fcinfo, 7)};

	ReserveResult result = ReserveAsInvoker(req, fcinfo->flinfo->fn_oid);
	PG_RETURN_DATUM(ResultDatum(fcinfo, result));
}

// reserve(channel, order_ref, lines jsonb, ttl, strategy, on_shortage)
extern "C" Datum
stocksync_reserve_lines(PG_FUNCTION_ARGS)
{
	CheckOrderKey(fcinfo);
	CheckNotNull(PG_ARGISNULL(2), "lines");
	ReserveRequest req = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), nullptr, 0, CheckedTtl(fcinfo, 3),
						  ParseStrategy(fcinfo, 4), ParseOnShortage(fcinfo, 5)};

	SPI_connect();
	req.lines = ParseLines(PG_GETARG_JSONB_P(2), TextDatumGetCString(req.order_ref), req.channel, &req.count);
	ReserveResult result = ReserveAsDefiner(req);
	SPI_finish();
	PG_RETURN_DATUM(ResultDatum(fcinfo, result));
}
