// Order lines: parsing, normalizing, and the reservation row's arrays.
#include "pg.hpp"

#include "errors.hpp"
#include "fast_reserve.hpp"
#include "movement.hpp"
#include "order.hpp"
#include "spi.hpp"

extern "C" {
#include "common/hashfn.h"
#include "common/int.h"
#include "storage/lock.h"
}

namespace stocksync {

int
CompareLines(const void *a, const void *b)
{
	const OrderLine *x = static_cast<const OrderLine *>(a);
	const OrderLine *y = static_cast<const OrderLine *>(b);
	int c = CompareText(x->sku, y->sku);
	return c != 0 ? c : CompareText(x->location, y->location);
}

namespace {

struct KeyHash
{
	uint32 channel;
	uint32 order_ref;
};

KeyHash
HashOrderKey(Datum channel, Datum order_ref)
{
	text *c = DatumGetTextPP(channel);
	text *r = DatumGetTextPP(order_ref);
	return KeyHash{hash_bytes(reinterpret_cast<const unsigned char *>(VARDATA_ANY(c)), VARSIZE_ANY_EXHDR(c)),
				   hash_bytes(reinterpret_cast<const unsigned char *>(VARDATA_ANY(r)), VARSIZE_ANY_EXHDR(r))};
}

void
KeyHashTag(KeyHash h, LOCKTAG *tag)
{
	// Field 4 keeps it apart from pg_advisory_xact_lock's keys (1 and 2).
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, h.channel, h.order_ref, 0x5353);
}

void
LockKeyHash(KeyHash h)
{
	LOCKTAG tag;
	KeyHashTag(h, &tag);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
UnlockKeyHash(KeyHash h)
{
	LOCKTAG tag;
	KeyHashTag(h, &tag);
	(void) LockRelease(&tag, ExclusiveLock, false);
}

int
CompareKeyHashes(const void *a, const void *b)
{
	const KeyHash *x = static_cast<const KeyHash *>(a);
	const KeyHash *y = static_cast<const KeyHash *>(b);
	if (x->channel != y->channel)
		return x->channel < y->channel ? -1 : 1;
	return (x->order_ref > y->order_ref) - (x->order_ref < y->order_ref);
}

// Calls take(h) once for each distinct key hash, in the order of the locks'
// own identities (the hashes): two batches sharing keys never wait on each
// other in a circle.
void
ForEachKeyHash(const Datum *channels, const Datum *order_refs, int count, void (*take)(KeyHash h))
{
	KeyHash *hashes = static_cast<KeyHash *>(palloc(sizeof(KeyHash) * Max(count, 1)));
	for (int i = 0; i < count; i++)
		hashes[i] = HashOrderKey(channels[i], order_refs[i]);
	qsort(hashes, count, sizeof(KeyHash), CompareKeyHashes);
	for (int i = 0; i < count; i++)
		if (i == 0 || CompareKeyHashes(&hashes[i - 1], &hashes[i]) != 0)
			take(hashes[i]);
	pfree(hashes);
}

}  // namespace

void
LockOrderKey(Datum channel, Datum order_ref)
{
	LockKeyHash(HashOrderKey(channel, order_ref));
}

void
UnlockOrderKey(Datum channel, Datum order_ref)
{
	UnlockKeyHash(HashOrderKey(channel, order_ref));
}

void
LockOrderKeys(const Datum *channels, const Datum *order_refs, int count)
{
	ForEachKeyHash(channels, order_refs, count, LockKeyHash);
}

void
UnlockOrderKeys(const Datum *channels, const Datum *order_refs, int count)
{
	ForEachKeyHash(channels, order_refs, count, UnlockKeyHash);
}

bool
OnShortageFromName(const char *value, OnShortage *out)
{
	if (strcmp(value, "reject") == 0)
		*out = OnShortage::kReject;
	else if (strcmp(value, "record") == 0)
		*out = OnShortage::kRecord;
	else
		return false;
	return true;
}

OnShortage
ParseOnShortage(FunctionCallInfo fcinfo, int argno)
{
	CheckNotNull(PG_ARGISNULL(argno), "on_shortage");
	const char *value = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	OnShortage result;
	if (!OnShortageFromName(value, &result))
		ereport(ERROR,
				(errcode(kInvalidArgument), errmsg("invalid on_shortage \"%s\"", value),
				 errhint("Use 'reject' for a checkout or 'record' for a marketplace order that already happened.")));
	return result;
}

Datum
CheckedTtl(FunctionCallInfo fcinfo, int argno)
{
	CheckNotNull(PG_ARGISNULL(argno), "ttl");
	Datum ttl = PG_GETARG_DATUM(argno);
	// Interval is {time, day, month}.
	static const Interval zero = {0, 0, 0};
	static const Interval longest = {0, 0, 100 * MONTHS_PER_YEAR};
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, ttl, IntervalPGetDatum(&zero))) <= 0)
		ereport(ERROR, (errcode(kInvalidArgument), errmsg("ttl must be positive"),
						errhint("A soft hold needs a time to live, for example interval '15 minutes'.")));
	// Bounded, so that now() + ttl is a timestamp: past year 294276 it is
	// PostgreSQL's 22008 from inside the insert, and no soft hold is meant
	// to outlive its checkout by a century (commit() makes a hold that
	// does not expire).
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, ttl, IntervalPGetDatum(&longest))) > 0)
		ereport(ERROR, (errcode(kInvalidArgument), errmsg("ttl must be at most 100 years"),
						errhint("Commit the order for a hold that does not expire.")));
	return ttl;
}

int
NormalizeLines(OrderLine *lines, int count, Datum *too_large)
{
	qsort(lines, count, sizeof(OrderLine), CompareLines);
	int merged = 0;
	for (int i = 0; i < count; i++)
	{
		if (merged == 0 || CompareLines(&lines[merged - 1], &lines[i]) != 0)
			lines[merged++] = lines[i];
		else if (pg_add_s32_overflow(lines[merged - 1].qty, lines[i].qty, &lines[merged - 1].qty))
		{
			if (too_large == nullptr)
				ReportQuantityTooLarge(TextDatumGetCString(lines[i].sku));
			*too_large = lines[i].sku;
			return -1;
		}
	}
	return merged;
}

char *
NoLocationMessage(int line, const char *order_ref, const char *sku, Datum channel)
{
	return psprintf("line %d of order \"%s\" (sku \"%s\") names no location, and channel \"%s\" sells from none",
					line, order_ref, sku, TextDatumGetCString(channel));
}

OrderLine *
ParseLines(Jsonb *json, const char *order_ref, Datum channel, int *count)
{
	if (!JB_ROOT_IS_ARRAY(json) || JB_ROOT_IS_SCALAR(json) || JB_ROOT_COUNT(json) == 0)
		ereport(ERROR,
				(errcode(kInvalidArgument), errmsg("lines of order \"%s\" must be a non-empty JSON array", order_ref),
				 errhint("Pass lines as [{\"sku\": \"A-1\", \"qty\": 2, \"location\": \"default\"}].")));
	static SPIPlanPtr one_line_plan = nullptr;
	static SPIPlanPtr lines_plan = nullptr;
	static const Oid types[] = {JSONBOID, TEXTOID, TEXTOID};
	bool any_location = channel == (Datum) 0;
	Datum args[] = {JsonbPGetDatum(json), channel, CStringGetTextDatum(order_ref)};
	const char nulls[] = {' ', any_location ? 'n' : ' ', ' '};
	// A line that is not an object reads as NULLs, refused with SS009 below
	// like a qty that is not an integer. The channel's location is asked for
	// lines that name none: once per SKU, for their units together, since
	// lines of a SKU placed apart would each be judged as if the others were
	// not there (and a call per line made an order of 100,000 lines take most
	// of a minute). An order of one line (most of them) skips the grouping,
	// which costs it about a fifth more.
	SPIPlanPtr plan =
		JB_ROOT_COUNT(json) == 1
			? KeptPlan(&one_line_plan,
					   "SELECT e.v->>'sku', CASE WHEN $2 IS NULL THEN e.v->>'location' "
					   "  ELSE COALESCE(e.v->>'location', "
					   "    stocksync.order_line_location($2, $3, e.v->>'sku', q.qty)) END, "
					   "  q.qty "
					   "FROM pg_catalog.jsonb_array_elements($1) AS e (v) "
					   "CROSS JOIN LATERAL (SELECT " STOCKSYNC_SQL_LINE_QTY("e.v") " AS qty) q",
					   3, types)
			: KeptPlan(&lines_plan,
					   "WITH e AS (SELECT e.v, e.n, " STOCKSYNC_SQL_LINE_QTY("e.v") " AS qty "
					   "             FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS e (v, n)), "
					   "at AS (SELECT e.v->>'sku' AS sku, "
					   "         stocksync.order_line_location($2, $3, e.v->>'sku', "
					   "           GREATEST(LEAST(pg_catalog.sum(e.qty), 2147483647), 1)::integer) AS location "
					   "         FROM e WHERE $2 IS NOT NULL AND e.v->>'location' IS NULL "
					   "          AND e.v->>'sku' IS NOT NULL GROUP BY 1) "
					   "SELECT e.v->>'sku', CASE WHEN $2 IS NULL THEN e.v->>'location' "
					   "  ELSE COALESCE(e.v->>'location', at.location) END, e.qty "
					   "FROM e LEFT JOIN at ON at.sku = e.v->>'sku' "
					   "ORDER BY e.n",
					   3, types);
	uint64 rows = RunPlan(plan, args, nulls);
	OrderLine *lines = static_cast<OrderLine *>(palloc0(sizeof(OrderLine) * rows));
	for (uint64 i = 0; i < rows; i++)
	{
		if (ColumnIsNull(i, 1) || ColumnIsNull(i, 3))
			ereport(ERROR,
					(errcode(kInvalidArgument),
					 errmsg("line %d of order \"%s\" needs a sku and an integer qty", static_cast<int>(i + 1),
							order_ref),
					 errhint("Pass lines as [{\"sku\": \"A-1\", \"qty\": 2, \"location\": \"default\"}].")));
		lines[i].sku = ColumnDatum(i, 1);
		if (!ColumnIsNull(i, 2))
			lines[i].location = ColumnDatum(i, 2);
		else if (!any_location)
			ereport(ERROR,
					(errcode(kInvalidArgument),
					 errmsg_internal("%s", NoLocationMessage(static_cast<int>(i + 1), order_ref,
															 TextDatumGetCString(lines[i].sku), channel)),
					 errhint("Name the line's location, one of the channel's rows in stocksync.channel_location.")));
		lines[i].qty = ColumnInt32(i, 3);
		CheckPositiveQuantity(lines[i].qty, TextDatumGetCString(lines[i].sku));
	}
	*count = static_cast<int>(rows);
	return lines;
}

Datum
TextArray(const OrderLine *lines, int count, bool locations)
{
	Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	for (int i = 0; i < count; i++)
		values[i] = locations ? lines[i].location : lines[i].sku;
	return PointerGetDatum(construct_array(values, count, TEXTOID, -1, false, TYPALIGN_INT));
}

Datum
IntArray(const int32 *values, int count)
{
	Datum *datums = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	for (int i = 0; i < count; i++)
		datums[i] = Int32GetDatum(values[i]);
	return PointerGetDatum(construct_array(datums, count, INT4OID, 4, true, TYPALIGN_INT));
}

void
ReadTextArray(Datum array, OrderLine *lines, int count, bool locations)
{
	Datum *values;
	int n;
	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT, &values, nullptr, &n);
	if (n != count)
		elog(ERROR, "stocksync: reservation arrays differ in length");
	for (int i = 0; i < n; i++)
		(locations ? lines[i].location : lines[i].sku) = values[i];
}

namespace {

int32 *
IntArrayOrZeros(Datum array, bool isnull, int count)
{
	if (isnull)
		return static_cast<int32 *>(palloc0(sizeof(int32) * Max(count, 1)));
	int n;
	int32 *values = ReadIntArray(array, &n);
	if (n != count)
		elog(ERROR, "stocksync: reservation arrays differ in length");
	return values;
}

}  // namespace

int32 *
ReadIntArrayOrZeros(uint64 row, int column, int count)
{
	bool isnull = ColumnIsNull(row, column);
	return IntArrayOrZeros(isnull ? (Datum) 0 : ColumnDatum(row, column), isnull, count);
}

OrderLine *
LinesFromColumns(const Datum *values, const bool *isnull, int *count)
{
	int n;
	int32 *quantities = ReadIntArray(values[2], &n);
	int32 *shortages = IntArrayOrZeros(values[3], isnull[3], n);
	int32 *fulfilled = IntArrayOrZeros(values[4], isnull[4], n);
	int32 *returned = IntArrayOrZeros(values[5], isnull[5], n);
	OrderLine *lines = static_cast<OrderLine *>(palloc0(sizeof(OrderLine) * Max(n, 1)));
	ReadTextArray(values[0], lines, n, false);
	ReadTextArray(values[1], lines, n, true);
	for (int i = 0; i < n; i++)
	{
		lines[i].qty = quantities[i];
		lines[i].shortage = shortages[i];
		lines[i].fulfilled = fulfilled[i];
		lines[i].returned = returned[i];
	}
	*count = n;
	return lines;
}

int32 *
ReadIntArray(Datum array, int *count)
{
	Datum *values;
	int n;
	deconstruct_array(DatumGetArrayTypeP(array), INT4OID, 4, true, TYPALIGN_INT, &values, nullptr, &n);
	int32 *out = static_cast<int32 *>(palloc(sizeof(int32) * Max(n, 1)));
	for (int i = 0; i < n; i++)
		out[i] = DatumGetInt32(values[i]);
	*count = n;
	return out;
}

static Reservation FetchReservation(Datum channel, Datum order_ref, bool lock);

Reservation
LockReservation(Datum channel, Datum order_ref)
{
	return FetchReservation(channel, order_ref, true);
}

Reservation
ReadReservation(Datum channel, Datum order_ref)
{
	return FetchReservation(channel, order_ref, false);
}

static Reservation
FetchReservation(Datum channel, Datum order_ref, bool lock)
{
	static SPIPlanPtr lock_plan = nullptr;
	static SPIPlanPtr read_plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID};
	Datum args[] = {channel, order_ref};
	SPIPlanPtr plan = lock ? KeptPlan(&lock_plan,
									  "SELECT id, state, skus, locations, quantities, shortages, fulfilled, returned, "
									  "expires_at FROM stocksync.reservation "
									  "WHERE channel = $1 AND order_ref = $2 FOR UPDATE",
									  2, types)
						   : KeptPlan(&read_plan,
									  "SELECT id, state, skus, locations, quantities, shortages, fulfilled, returned, "
									  "expires_at FROM stocksync.reservation WHERE channel = $1 AND order_ref = $2",
									  2, types);
	if (lock)
		LockTableForWrites("reservation");	// the order row is written next
	// Not there yet: the order may still be in flight in another session
	// (its fast path holds no order key lock), and is looked for again
	// once that session has ended.
	if (RunPlan(plan, args, nullptr) == 0 &&
		(!WaitForOrderInFlight(channel, order_ref) || RunPlan(plan, args, nullptr) == 0))
		ereport(ERROR,
				(errcode(kUnknownOrder),
				 errmsg("unknown order \"%s\" on channel \"%s\"", TextDatumGetCString(order_ref),
						TextDatumGetCString(channel)),
				 errhint("Reserve the order with stocksync.reserve() first.")));
	Reservation r;
	r.id = ColumnInt64(0, 1);
	r.channel = channel;
	r.order_ref = order_ref;
	r.state = TextDatumGetCString(ColumnDatum(0, 2));
	Datum line_columns[6];
	bool line_nulls[6];
	for (int c = 0; c < 6; c++)
	{
		line_nulls[c] = ColumnIsNull(0, 3 + c);
		line_columns[c] = line_nulls[c] ? (Datum) 0 : ColumnDatum(0, 3 + c);
	}
	r.lines = LinesFromColumns(line_columns, line_nulls, &r.count);
	r.has_expiry = !ColumnIsNull(0, 9);
	r.expires_at = r.has_expiry ? DatumGetTimestampTz(ColumnDatum(0, 9)) : 0;
	return r;
}

void
SaveReservation(const Reservation &r, const char *state)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, INT4ARRAYOID, INT4ARRAYOID};
	int32 *fulfilled = static_cast<int32 *>(palloc(sizeof(int32) * r.count));
	int32 *returned = static_cast<int32 *>(palloc(sizeof(int32) * r.count));
	for (int i = 0; i < r.count; i++)
	{
		fulfilled[i] = r.lines[i].fulfilled;
		returned[i] = r.lines[i].returned;
	}
	Datum args[] = {r.channel, r.order_ref, CStringGetTextDatum(state), IntArray(fulfilled, r.count),
					IntArray(returned, r.count)};
	RunPlan(KeptPlan(&plan,
					   "UPDATE stocksync.reservation SET state = $3, fulfilled = $4, returned = $5, "
					   "expires_at = CASE WHEN $3 = 'reserved' THEN expires_at END, "
					   "updated_at = pg_catalog.now() WHERE channel = $1 AND order_ref = $2",
					   5, types),
			args, nullptr);
}

void
ReportIllegalTransition(Datum channel, Datum order_ref, const char *state, const char *action)
{
	ereport(ERROR,
			(errcode(kIllegalTransition),
			 errmsg("cannot %s order \"%s\" on channel \"%s\": it is %s", action, TextDatumGetCString(order_ref),
					TextDatumGetCString(channel), state),
			 errdetail("An order moves reserved -> committed -> fulfilled -> returned, or to released or expired "
					   "before it is fulfilled.")));
}

}  // namespace stocksync
