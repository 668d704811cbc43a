// reserve_batch(): many orders in one call, each decided on its own (all its
// lines or none), committed together.
//
// Why set-based: a busy ingestion path (webhooks, polling) would otherwise pay
// one commit and a dozen statements per order. Here a batch costs a fixed
// number of statements: parse and look up everything, insert every order row
// (ON CONFLICT DO NOTHING: the idempotency check, waiting out a concurrent
// insert of the same key), lock every stock row the new orders need in byte
// order (a hot SKU claims one bucket with budget for all of them), decide the
// orders in their given order against those budgets, then write every ledger
// row and every row's total change at once. Nothing raises for one order:
// a refused order's row is deleted again and the batch goes on, so a failed
// order writes nothing and a retry with its key is evaluated afresh.
// A batch that repeats a key is decided in runs without a repeat, each as
// above; a later run locks its stock rows after the earlier runs' rows, so
// not in byte order across runs (every order key is still locked first).
#include "pg.hpp"

#include "bundles.hpp"
#include "errors.hpp"
#include "fast_reserve.hpp"
#include "hot.hpp"
#include "movement.hpp"
#include "order.hpp"
#include "spi.hpp"

extern "C" {
#include "common/int.h"
#include "utils/tuplestore.h"
}

using namespace stocksync;

extern "C" {
PG_FUNCTION_INFO_V1(stocksync_reserve_batch);
}

namespace {

// Each order holds a lock until the call ends (LockOrderKeys), from the
// shared lock table: a bound keeps one call from exhausting it.
constexpr int kMaxOrders = 1000;

enum class Status
{
	kPending,
	kReserved,
	kReplayed,
	kRefused,
};

struct Order
{
	int ord;
	Datum channel;	// (Datum) 0 when missing
	Datum order_ref;
	OnShortage on_shortage;
	OrderLine *lines;
	int count;
	int capacity;
	int *keys;	// per line: index into the batch's stock keys
	Status status;
	int sqlstate;
	char *message;
	int64 reservation_id;
	int32 shortage;
	bool has_expiry;
	TimestampTz expires_at;
	Order *previous;  // the batch's last order before it with the same key, or null
	// A name refusal (channel, SKU, location, bundle) found while reading the
	// lines: it applies once every line's qty passed, as in reserve(), which
	// checks quantities first and names second (CheckNamesKnown).
	int name_sqlstate;
	char *name_message;
};

// One (sku, location) the batch takes units of.
struct StockKey
{
	Datum sku;
	Datum location;
	int32 demand;
	int32 budget;
	int32 taken;
	HotClaim claim;	 // claim.hot: the SKU's units come from claim's bucket or central row
	// What the key holds out of on_hand before the batch (rows and buckets
	// summed), read once the first order recorded short takes more than the
	// budget: only then can its reserved pass an integer.
	bool held_known;
	StockRow held;
};

struct Batch
{
	Order *orders;
	int count;
	Datum ttl;
	StockKey *keys;
	int nkeys;
	// The keys locked (FindRepeats), released when the call ends.
	Datum *locked_channels;
	Datum *locked_refs;
	int nlocked;
};

void
Refuse(Order *o, int sqlstate, const char *message)
{
	o->status = Status::kRefused;
	o->sqlstate = sqlstate;
	o->message = pstrdup(message);
}

// The order in which reserve() raises name refusals: the channel, a SKU, a
// location, then a bundle without a bill of materials (SS009).
int
NameRefusalRank(int sqlstate)
{
	switch (sqlstate)
	{
		case kUnknownChannel:
			return 0;
		case kUnknownSku:
			return 1;
		case kUnknownLocation:
			return 2;
		default:
			return 3;
	}
}

// Keeps the name refusal reserve() would raise first.
void
RefuseName(Order *o, int sqlstate, char *message)
{
	if (o->name_sqlstate == 0 || NameRefusalRank(sqlstate) < NameRefusalRank(o->name_sqlstate))
	{
		o->name_sqlstate = sqlstate;
		o->name_message = message;
	}
}

int
CompareOrderKeys(const void *a, const void *b)
{
	const Order *x = *static_cast<Order *const *>(a);
	const Order *y = *static_cast<Order *const *>(b);
	int c = CompareText(x->channel, y->channel);
	if (c == 0)
		c = CompareText(x->order_ref, y->order_ref);
	return c != 0 ? c : x->ord - y->ord;
}

int
CompareStockKeys(const void *a, const void *b)
{
	const StockKey *x = static_cast<const StockKey *>(a);
	const StockKey *y = static_cast<const StockKey *>(b);
	int c = CompareText(x->sku, y->sku);
	return c != 0 ? c : CompareText(x->location, y->location);
}

void
AddLine(Order *o, Datum sku, Datum location, int32 qty)
{
	if (o->count == o->capacity)
	{
		o->capacity = o->capacity == 0 ? 4 : o->capacity * 2;
		o->lines = static_cast<OrderLine *>(o->lines == nullptr
												? palloc0(sizeof(OrderLine) * o->capacity)
												: repalloc(o->lines, sizeof(OrderLine) * o->capacity));
	}
	OrderLine &line = o->lines[o->count++];
	line = OrderLine{};
	line.sku = sku;
	line.location = location;
	line.qty = qty;
}

// Reads every order and line with one statement, with what the catalog knows
// of each channel, SKU and location; refuses orders that are malformed or name
// something unknown.
void
ParseOrders(Batch *b, Jsonb *json, OnShortage default_on_shortage)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {JSONBOID};
	Datum args[] = {JsonbPGetDatum(json)};
	uint64 rows = RunPlan(
		KeptPlan(&plan,
				 // Each order's lines: its "lines", or the order itself as its
				 // one line.
				 "WITH el AS (SELECT e.v, e.ord, CASE "
				 "  WHEN pg_catalog.jsonb_typeof(e.v) <> 'object' THEN NULL "
				 "  WHEN e.v OPERATOR(pg_catalog.?) 'lines' THEN CASE WHEN pg_catalog.jsonb_typeof(e.v->'lines') = 'array' "
				 "                                   THEN e.v->'lines' END "
				 "  ELSE pg_catalog.jsonb_build_array(e.v) END AS lines "
				 "  FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS e (v, ord)), "
				 // Where the lines that name no location are held, asked of
				 // the channel once per order and SKU for their units
				 // together (as reserve() does, order.cpp ParseLines).
				 "at AS (SELECT e.ord, ln.l->>'sku' AS sku, "
				 "  stocksync.order_line_location(pg_catalog.min(e.v->>'channel'), pg_catalog.min(e.v->>'order_ref'), "
				 "    ln.l->>'sku', GREATEST(LEAST(pg_catalog.sum(" STOCKSYNC_SQL_LINE_QTY("ln.l") "), 2147483647), 1)::integer) "
				 "    AS location "
				 "  FROM el AS e CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(e.lines) AS ln (l) "
				 "  WHERE ln.l->>'location' IS NULL AND ln.l->>'sku' IS NOT NULL GROUP BY e.ord, ln.l->>'sku') "
				 "SELECT e.ord::integer, pg_catalog.jsonb_typeof(e.v) = 'object', e.v->>'channel', e.v->>'order_ref', "
				 "  e.v->>'on_shortage', ln.l IS NOT NULL, ln.l->>'sku', place.location, "
				 "  " STOCKSYNC_SQL_LINE_QTY("ln.l") ", "
				 "  EXISTS (SELECT 1 FROM stocksync.channel c WHERE c.code = e.v->>'channel'), "
				 "  (SELECT i.kind FROM stocksync.item i WHERE i.sku = ln.l->>'sku'), "
				 "  EXISTS (SELECT 1 FROM stocksync.location x WHERE x.code = place.location), "
				 "  EXISTS (SELECT 1 FROM stocksync.bom m WHERE m.bundle_sku = ln.l->>'sku'), "
				 "  pg_catalog.jsonb_typeof(e.v) = 'object' AND e.v OPERATOR(pg_catalog.?) 'lines' "
				 "    AND e.v OPERATOR(pg_catalog.?|) ARRAY['sku', 'qty', 'location'] "
				 "FROM el AS e "
				 "LEFT JOIN LATERAL pg_catalog.jsonb_array_elements(e.lines) WITH ORDINALITY AS ln (l, n) ON true "
				 "LEFT JOIN at ON at.ord = e.ord AND at.sku = ln.l->>'sku' "
				 // OFFSET 0: not copied into both columns that read it.
				 "CROSS JOIN LATERAL (SELECT COALESCE(ln.l->>'location', at.location) AS location OFFSET 0) place "
				 "ORDER BY e.ord, ln.n",
				 1, types),
		args, nullptr);
	b->count = JB_ROOT_COUNT(json);
	b->orders = static_cast<Order *>(palloc0(sizeof(Order) * Max(b->count, 1)));
	for (uint64 r = 0; r < rows; r++)
	{
		Order *o = &b->orders[ColumnInt32(r, 1) - 1];
		bool first_row = o->ord == 0;
		o->ord = ColumnInt32(r, 1);
		if (o->status == Status::kRefused)
			continue;
		if (first_row)
		{
			o->on_shortage = default_on_shortage;
			if (!DatumGetBool(ColumnDatum(r, 2)))
			{
				Refuse(o, kInvalidArgument, psprintf("order %d must be a JSON object", o->ord));
				continue;
			}
			if (ColumnIsNull(r, 3) || ColumnIsNull(r, 4) || VARSIZE_ANY_EXHDR(DatumGetTextPP(ColumnDatum(r, 4))) == 0)
			{
				Refuse(o, kInvalidArgument, psprintf("order %d needs a channel and a non-empty order_ref", o->ord));
				continue;
			}
			if (char *too_long = ReferenceTooLongMessage("order_ref", ColumnDatum(r, 4)))
			{
				Refuse(o, kInvalidArgument, too_long);
				continue;
			}
			o->channel = ColumnDatum(r, 3);
			o->order_ref = ColumnDatum(r, 4);
			const char *ref = TextDatumGetCString(o->order_ref);
			if (!ColumnIsNull(r, 5) && !OnShortageFromName(TextDatumGetCString(ColumnDatum(r, 5)), &o->on_shortage))
			{
				Refuse(o, kInvalidArgument, psprintf("invalid on_shortage for order \"%s\"", ref));
				continue;
			}
			if (!DatumGetBool(ColumnDatum(r, 10)))
				RefuseName(o, kUnknownChannel, psprintf("unknown channel \"%s\"", TextDatumGetCString(o->channel)));
			// Both forms at once: "lines" would be taken and the one-line
			// form's sku and qty dropped without a word.
			if (DatumGetBool(ColumnDatum(r, 14)))
			{
				Refuse(o, kInvalidArgument,
					   psprintf("order \"%s\" has \"lines\" and a one-line order's \"sku\", \"qty\" or \"location\"", ref));
				continue;
			}
			if (!DatumGetBool(ColumnDatum(r, 6)))
			{
				Refuse(o, kInvalidArgument, psprintf("lines of order \"%s\" must be a non-empty JSON array", ref));
				continue;
			}
		}
		const char *ref = TextDatumGetCString(o->order_ref);
		if (ColumnIsNull(r, 7) || ColumnIsNull(r, 9))
		{
			Refuse(o, kInvalidArgument,
				   psprintf("line %d of order \"%s\" needs a sku and an integer qty", o->count + 1, ref));
			continue;
		}
		const char *sku = TextDatumGetCString(ColumnDatum(r, 7));
		int32 qty = ColumnInt32(r, 9);
		if (qty <= 0)
			Refuse(o, kInvalidQuantity, psprintf("quantity for sku \"%s\" must be positive, got %d", sku, qty));
		else if (ColumnIsNull(r, 8))	// as reserve() refuses it (ParseLines)
			Refuse(o, kInvalidArgument, NoLocationMessage(o->count + 1, ref, sku, o->channel));
		else if (ColumnIsNull(r, 11))
			RefuseName(o, kUnknownSku, psprintf("unknown sku \"%s\"", sku));
		else if (!DatumGetBool(ColumnDatum(r, 12)))
			RefuseName(o, kUnknownLocation,
					   psprintf("unknown location \"%s\"", TextDatumGetCString(ColumnDatum(r, 8))));
		else if (strcmp(TextDatumGetCString(ColumnDatum(r, 11)), "bundle") == 0 && !DatumGetBool(ColumnDatum(r, 13)))
			RefuseName(o, kInvalidArgument, psprintf("sku \"%s\" is a bundle and holds no stock of its own", sku));
		else
			AddLine(o, ColumnDatum(r, 7), ColumnDatum(r, 8), qty);
	}
	for (int i = 0; i < b->count; i++)
		if (b->orders[i].status != Status::kRefused && b->orders[i].name_sqlstate != 0)
			Refuse(&b->orders[i], b->orders[i].name_sqlstate, b->orders[i].name_message);
	// Bundle lines become their components' lines, as in reserve().
	for (int i = 0; i < b->count; i++)
	{
		Order *o = &b->orders[i];
		if (o->status == Status::kRefused)
			continue;
		Datum too_large = (Datum) 0;
		OrderLine *lines = ExpandBundleLines(o->lines, &o->count, &too_large);
		int count = lines != nullptr ? NormalizeLines(lines, o->count, &too_large) : -1;
		if (count < 0)
		{
			Refuse(o, kInvalidQuantity, QuantityTooLargeMessage(TextDatumGetCString(too_large)));
			continue;
		}
		o->lines = lines;
		o->count = count;
	}
}

// Orders that repeat an earlier order's key within the batch point to the
// last one before them; every new key is locked once, before any stock row.
void
FindRepeats(Batch *b)
{
	Order **sorted = static_cast<Order **>(palloc(sizeof(Order *) * Max(b->count, 1)));
	int n = 0;
	for (int i = 0; i < b->count; i++)
		if (b->orders[i].status != Status::kRefused)
			sorted[n++] = &b->orders[i];
	qsort(sorted, n, sizeof(Order *), CompareOrderKeys);
	for (int i = 1; i < n; i++)
		if (CompareText(sorted[i]->channel, sorted[i - 1]->channel) == 0 &&
			CompareText(sorted[i]->order_ref, sorted[i - 1]->order_ref) == 0)
			sorted[i]->previous = sorted[i - 1];
	// Every key's lock (order.hpp) before any stock row is touched; not for
	// an order that exists already, committed or this transaction's own,
	// which is a replay (as for reserve()): a transaction that reserved an
	// order and sends it again in a batch must not wait for another delivery
	// of it, which waits for this transaction's order row.
	Datum *channels = static_cast<Datum *>(palloc(sizeof(Datum) * Max(n, 1)));
	Datum *refs = static_cast<Datum *>(palloc(sizeof(Datum) * Max(n, 1)));
	int keys = 0;
	for (int i = 0; i < n; i++)
		if (sorted[i]->previous == nullptr && !OrderVisible(sorted[i]->channel, sorted[i]->order_ref))
		{
			channels[keys] = sorted[i]->channel;
			refs[keys++] = sorted[i]->order_ref;
		}
	LockOrderKeys(channels, refs, keys);
	b->locked_channels = channels;
	b->locked_refs = refs;
	b->nlocked = keys;
}

bool
IsCandidate(const Order &o)
{
	return o.status == Status::kPending;
}

Datum
TextArrayOf(Datum *values, int n)
{
	return PointerGetDatum(construct_array(values, n, TEXTOID, -1, false, TYPALIGN_INT));
}

Datum
IntArrayOf(int32 *values, int n)
{
	return IntArray(values, n);
}

// Inserts the order rows of every new order; those whose key exists already
// (or was inserted concurrently and committed) are left pending for the
// replay check.
void
InsertOrders(Batch *b)
{
	int n = 0, lines = 0;
	for (int i = 0; i < b->count; i++)
		if (IsCandidate(b->orders[i]))
		{
			n++;
			lines += b->orders[i].count;
		}
	if (n == 0)
		return;
	int32 *ords = static_cast<int32 *>(palloc(sizeof(int32) * n));
	Datum *channels = static_cast<Datum *>(palloc(sizeof(Datum) * n));
	Datum *refs = static_cast<Datum *>(palloc(sizeof(Datum) * n));
	int32 *line_ords = static_cast<int32 *>(palloc(sizeof(int32) * lines));
	Datum *skus = static_cast<Datum *>(palloc(sizeof(Datum) * lines));
	Datum *locations = static_cast<Datum *>(palloc(sizeof(Datum) * lines));
	int32 *qtys = static_cast<int32 *>(palloc(sizeof(int32) * lines));
	int k = 0, l = 0;
	for (int i = 0; i < b->count; i++)
	{
		Order &o = b->orders[i];
		if (!IsCandidate(o))
			continue;
		ords[k] = o.ord;
		channels[k] = o.channel;
		refs[k++] = o.order_ref;
		for (int j = 0; j < o.count; j++, l++)
		{
			line_ords[l] = o.ord;
			skus[l] = o.lines[j].sku;
			locations[l] = o.lines[j].location;
			qtys[l] = o.lines[j].qty;
		}
	}
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {INT4ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID,
								TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID, INTERVALOID};
	Datum args[] = {IntArrayOf(ords, n),
					TextArrayOf(channels, n),
					TextArrayOf(refs, n),
					IntArrayOf(line_ords, lines),
					TextArrayOf(skus, lines),
					TextArrayOf(locations, lines),
					IntArrayOf(qtys, lines),
					b->ttl};
	// RETURNING cannot name the input's position, so it returns the key and
	// the order is found by it (keys are unique among candidates).
	uint64 rows = RunPlan(
		KeptPlan(&plan,
				 "WITH l AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5), "
				 "             pg_catalog.unnest($6), pg_catalog.unnest($7)) WITH ORDINALITY AS l (ord, sku, location, qty, n)), "
				 "g AS (SELECT l.ord, pg_catalog.array_agg(l.sku ORDER BY l.n) AS skus, "
				 "             pg_catalog.array_agg(l.location ORDER BY l.n) AS locations, "
				 "             pg_catalog.array_agg(l.qty ORDER BY l.n) AS quantities FROM l GROUP BY l.ord) "
				 "INSERT INTO stocksync.reservation (channel, order_ref, skus, locations, quantities, expires_at) "
				 "SELECT o.channel, o.order_ref, g.skus, g.locations, g.quantities, pg_catalog.now() + $8 "
				 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) "
				 "     AS o (ord, channel, order_ref) JOIN g ON g.ord = o.ord ORDER BY o.ord "
				 "ON CONFLICT (channel, order_ref) DO NOTHING RETURNING channel, order_ref, id, expires_at",
				 8, types),
		args, nullptr);
	Order **sorted = static_cast<Order **>(palloc(sizeof(Order *) * n));
	k = 0;
	for (int i = 0; i < b->count; i++)
		if (IsCandidate(b->orders[i]))
			sorted[k++] = &b->orders[i];
	qsort(sorted, n, sizeof(Order *), CompareOrderKeys);
	for (uint64 r = 0; r < rows; r++)
	{
		Order probe = {};
		probe.channel = ColumnDatum(r, 1);
		probe.order_ref = ColumnDatum(r, 2);
		Order *probe_ptr = &probe;
		// ord 0 sorts before any real order of the same key.
		int lo = 0, hi = n;
		while (lo < hi)
		{
			int mid = (lo + hi) / 2;
			if (CompareOrderKeys(&sorted[mid], &probe_ptr) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= n)
			elog(ERROR, "stocksync: inserted order not found in the batch");
		Order *o = sorted[lo];
		o->status = Status::kReserved;
		o->reservation_id = ColumnInt64(r, 3);
		o->has_expiry = true;
		o->expires_at = DatumGetTimestampTz(ColumnDatum(r, 4));
	}
}

// Orders whose key existed: the same lines give the first result back, other
// lines are an idempotency conflict.
void
ResolveReplays(Batch *b)
{
	for (int i = 0; i < b->count; i++)
	{
		Order &o = b->orders[i];
		if (!IsCandidate(o))
			continue;
		Reservation existing = ReadReservation(o.channel, o.order_ref);
		bool same = existing.count == o.count;
		for (int j = 0; same && j < o.count; j++)
			same = CompareText(existing.lines[j].sku, o.lines[j].sku) == 0 &&
				   CompareText(existing.lines[j].location, o.lines[j].location) == 0 &&
				   existing.lines[j].qty == o.lines[j].qty;
		if (!same)
		{
			Refuse(&o, kIdempotencyConflict,
				   psprintf("order \"%s\" on channel \"%s\" was already reserved with other lines",
							TextDatumGetCString(o.order_ref), TextDatumGetCString(o.channel)));
			continue;
		}
		o.status = Status::kReplayed;
		o.reservation_id = existing.id;
		for (int j = 0; j < existing.count; j++)
			o.shortage += existing.lines[j].shortage;
		o.has_expiry = existing.has_expiry;
		o.expires_at = existing.expires_at;
	}
}

// The distinct (sku, location) of the new orders, sorted (the lock order),
// with each line pointing to its key and each key's total demand.
void
CollectStockKeys(Batch *b)
{
	int total = 0;
	for (int i = 0; i < b->count; i++)
		if (b->orders[i].status == Status::kReserved)
			total += b->orders[i].count;
	b->keys = static_cast<StockKey *>(palloc0(sizeof(StockKey) * Max(total, 1)));
	int n = 0;
	for (int i = 0; i < b->count; i++)
	{
		Order &o = b->orders[i];
		if (o.status != Status::kReserved)
			continue;
		for (int j = 0; j < o.count; j++)
		{
			b->keys[n].sku = o.lines[j].sku;
			b->keys[n++].location = o.lines[j].location;
		}
	}
	qsort(b->keys, n, sizeof(StockKey), CompareStockKeys);
	int unique = 0;
	for (int i = 0; i < n; i++)
		if (unique == 0 || CompareStockKeys(&b->keys[unique - 1], &b->keys[i]) != 0)
			b->keys[unique++] = b->keys[i];
	b->nkeys = unique;
	for (int i = 0; i < b->count; i++)
	{
		Order &o = b->orders[i];
		if (o.status != Status::kReserved)
			continue;
		o.keys = static_cast<int *>(palloc(sizeof(int) * o.count));
		for (int j = 0; j < o.count; j++)
		{
			StockKey probe{o.lines[j].sku, o.lines[j].location, 0, 0, 0, HotClaim{}};
			StockKey *found = static_cast<StockKey *>(
				bsearch(&probe, b->keys, b->nkeys, sizeof(StockKey), CompareStockKeys));
			o.keys[j] = static_cast<int>(found - b->keys);
			// What the batch asks of a hot SKU's buckets, at most an integer.
			if (pg_add_s32_overflow(found->demand, o.lines[j].qty, &found->demand))
				found->demand = PG_INT32_MAX;
		}
	}
}

void
KeyArrays(const Batch *b, Datum *skus, Datum *locations)
{
	for (int i = 0; i < b->nkeys; i++)
	{
		skus[i] = b->keys[i].sku;
		locations[i] = b->keys[i].location;
	}
}

// Locks the plain keys [from, to) in one statement, in byte order, and reads
// their budgets; a row missing yet is created by LockStockRow.
void
LockPlainRun(Batch *b, const bool *is_hot, int from, int to)
{
	int n = 0;
	Datum *skus = static_cast<Datum *>(palloc(sizeof(Datum) * Max(to - from, 1)));
	Datum *locations = static_cast<Datum *>(palloc(sizeof(Datum) * Max(to - from, 1)));
	int *index = static_cast<int *>(palloc(sizeof(int) * Max(to - from, 1)));
	for (int i = from; i < to; i++)
		if (!is_hot[i])
		{
			skus[n] = b->keys[i].sku;
			locations[n] = b->keys[i].location;
			index[n++] = i;
		}
	if (n == 0)
		return;
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTARRAYOID, TEXTARRAYOID};
	Datum args[] = {TextArrayOf(skus, n), TextArrayOf(locations, n)};
	uint64 locked = RunPlan(KeptPlan(&plan,
									   "SELECT k.i::integer, s.on_hand - s.reserved - s.committed - s.damaged "
									   "       - s.quality_control - s.safety_stock, s.buckets > 0 "
									   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) "
									   "     WITH ORDINALITY AS k (sku, location, i) "
									   "JOIN stocksync.stock_level s ON s.sku = k.sku AND s.location = k.location "
									   "ORDER BY k.i FOR UPDATE OF s",
									   2, types),
							args, nullptr);
	bool *have = static_cast<bool *>(palloc0(sizeof(bool) * n));
	bool *now_hot = static_cast<bool *>(palloc0(sizeof(bool) * n));
	for (uint64 r = 0; r < locked; r++)
	{
		int k = ColumnInt32(r, 1) - 1;
		have[k] = true;
		b->keys[index[k]].budget = ColumnInt32(r, 2);
		now_hot[k] = DatumGetBool(ColumnDatum(r, 3));
	}
	for (int k = 0; k < n; k++)
	{
		StockKey &key = b->keys[index[k]];
		if (now_hot[k])
		{
			// Switched to buckets since the batch looked: its central row is
			// locked, and so are the rows of the keys after it in this run.
			// Its budget is claimed as for any hot key, but waiting for no
			// bucket, which would be against the lock order (a session
			// holding one may wait for one of those rows).
			key.claim = ClaimAfterCentral(key.sku, key.location, key.demand, false);
			key.budget = key.claim.budget;
		}
		// First use (LockStockRow creates the row), or back to plain.
		if (!have[k] || (now_hot[k] && !key.claim.hot))
			key.budget = LockStockRow(key.sku, key.location).Available();
	}
}

// Locks every stock row the new orders take units of, in byte order (the
// order of every stocksync function, so no deadlock), and reads each key's
// budget: a plain SKU's available under its row lock, a hot SKU's claim
// (hot.hpp). Runs of plain keys between hot ones are locked in one statement.
void
LockStock(Batch *b)
{
	if (b->nkeys == 0)
		return;
	Datum *skus = static_cast<Datum *>(palloc(sizeof(Datum) * b->nkeys));
	Datum *locations = static_cast<Datum *>(palloc(sizeof(Datum) * b->nkeys));
	KeyArrays(b, skus, locations);
	static const Oid types[] = {TEXTARRAYOID, TEXTARRAYOID};
	Datum args[] = {TextArrayOf(skus, b->nkeys), TextArrayOf(locations, b->nkeys)};
	static SPIPlanPtr hot_plan = nullptr;
	uint64 hot = RunPlan(KeptPlan(&hot_plan,
									"SELECT k.i::integer FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) "
									"WITH ORDINALITY AS k (sku, location, i) "
									"JOIN stocksync.stock_level s ON s.sku = k.sku AND s.location = k.location "
									"WHERE s.buckets > 0",
									2, types),
						 args, nullptr);
	bool *is_hot = static_cast<bool *>(palloc0(sizeof(bool) * b->nkeys));
	for (uint64 r = 0; r < hot; r++)
		is_hot[ColumnInt32(r, 1) - 1] = true;

	int run_start = 0;
	for (int i = 0; i < b->nkeys; i++)
	{
		if (!is_hot[i])
			continue;
		LockPlainRun(b, is_hot, run_start, i);
		run_start = i + 1;
		StockKey &key = b->keys[i];
		key.claim = ClaimHotBudget(key.sku, key.location, key.demand);
		key.budget = key.claim.hot ? key.claim.budget
								   : LockStockRow(key.sku, key.location).Available();	// turned off meanwhile
	}
	LockPlainRun(b, is_hot, run_start, b->nkeys);
}

// Units of a key's budget no order of the batch has taken yet (below zero
// once orders recorded short took more).
int64
Left(const StockKey &key)
{
	return static_cast<int64>(key.budget) - key.taken;
}

// Whether the key can hold `taken` units more than before the batch.
bool
HeldFits(StockKey *key, int32 taken)
{
	if (!key->held_known)
	{
		key->held = SummedHeldQuantities(key->sku, key->location);
		key->held_known = true;
	}
	Deltas d;
	d.reserved = taken;
	return QuantityPastInteger(key->held, d) < 0;
}

// Decides the new orders in their given order: all lines within the budgets,
// or refused (or recorded short when the order says so).
void
Decide(Batch *b)
{
	for (int i = 0; i < b->count; i++)
	{
		Order &o = b->orders[i];
		if (o.status != Status::kReserved)
			continue;
		int short_line = -1;
		int too_large_line = -1;
		for (int j = 0; j < o.count; j++)
		{
			StockKey &key = b->keys[o.keys[j]];
			bool short_here = Left(key) < o.lines[j].qty;
			if (short_line < 0 && short_here)
				short_line = j;
			// Orders recorded short take more than the budget: the key's
			// total, and what it held already, still have to fit the
			// projection's integer.
			int32 sum;
			if (too_large_line < 0 && (pg_add_s32_overflow(key.taken, o.lines[j].qty, &sum) ||
									   (short_here && o.on_shortage != OnShortage::kReject && !HeldFits(&key, sum))))
				too_large_line = j;
		}
		if (short_line >= 0 && o.on_shortage == OnShortage::kReject)
		{
			const StockKey &key = b->keys[o.keys[short_line]];
			Refuse(&o, kInsufficientStock,
				   psprintf("insufficient available for sku \"%s\" at location \"%s\": %lld units available, %d "
							"requested",
							TextDatumGetCString(key.sku), TextDatumGetCString(key.location),
							static_cast<long long>(Left(key)), o.lines[short_line].qty));
			continue;
		}
		if (too_large_line >= 0)
		{
			Refuse(&o, kInvalidQuantity, QuantityTooLargeMessage(TextDatumGetCString(o.lines[too_large_line].sku)));
			continue;
		}
		for (int j = 0; j < o.count; j++)
		{
			StockKey &key = b->keys[o.keys[j]];
			int64 left = Left(key);
			o.lines[j].shortage = left >= o.lines[j].qty ? 0 : static_cast<int32>(o.lines[j].qty - Max(left, 0));
			o.shortage += o.lines[j].shortage;
			key.taken += o.lines[j].qty;
		}
	}
}

// The ledger rows, the shortages recorded, each stock row's total change, and
// the order rows of refused orders taken back.
void
WriteDecisions(Batch *b)
{
	int lines = 0, refused = 0;
	for (int i = 0; i < b->count; i++)
	{
		const Order &o = b->orders[i];
		if (o.status == Status::kReserved)
			lines += o.count;
		else if (o.status == Status::kRefused && o.reservation_id != 0)
			refused++;
	}
	if (lines > 0)
	{
		Datum *skus = static_cast<Datum *>(palloc(sizeof(Datum) * lines));
		Datum *locations = static_cast<Datum *>(palloc(sizeof(Datum) * lines));
		int32 *qtys = static_cast<int32 *>(palloc(sizeof(int32) * lines));
		Datum *ids = static_cast<Datum *>(palloc(sizeof(Datum) * lines));
		bool *oversold = static_cast<bool *>(palloc(sizeof(bool) * lines));
		int l = 0;
		for (int i = 0; i < b->count; i++)
		{
			const Order &o = b->orders[i];
			if (o.status != Status::kReserved)
				continue;
			for (int j = 0; j < o.count; j++, l++)
			{
				skus[l] = o.lines[j].sku;
				locations[l] = o.lines[j].location;
				qtys[l] = o.lines[j].qty;
				ids[l] = Int64GetDatum(o.reservation_id);
				oversold[l] = o.lines[j].shortage > 0;
			}
		}
		Datum *flags = static_cast<Datum *>(palloc(sizeof(Datum) * lines));
		for (int i = 0; i < lines; i++)
			flags[i] = BoolGetDatum(oversold[i]);
		static SPIPlanPtr plan = nullptr;
		static const Oid types[] = {TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID, INT8ARRAYOID, BOOLARRAYOID};
		Datum args[] = {TextArrayOf(skus, lines), TextArrayOf(locations, lines), IntArrayOf(qtys, lines),
						PointerGetDatum(construct_array(ids, lines, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
						PointerGetDatum(construct_array(flags, lines, BOOLOID, 1, true, TYPALIGN_CHAR))};
		RunPlan(KeptPlan(&plan,
						   "INSERT INTO stocksync.ledger (kind, sku, location, qty, d_reserved, reservation_id, reason) "
						   "SELECT 'RESERVE', x.sku, x.location, x.qty, x.qty, x.id, "
						   "       CASE WHEN x.oversold THEN 'oversold' END "
						   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), "
						   "                pg_catalog.unnest($4), pg_catalog.unnest($5)) "
						   "     AS x (sku, location, qty, id, oversold)",
						   5, types),
				args, nullptr);
	}

	// Shortages are rare (recorded marketplace orders): one statement each.
	for (int i = 0; i < b->count; i++)
	{
		const Order &o = b->orders[i];
		if (o.status != Status::kReserved || o.shortage == 0)
			continue;
		int32 *shortages = static_cast<int32 *>(palloc(sizeof(int32) * o.count));
		for (int j = 0; j < o.count; j++)
			shortages[j] = o.lines[j].shortage;
		static SPIPlanPtr plan = nullptr;
		static const Oid types[] = {INT8OID, INT4ARRAYOID};
		Datum args[] = {Int64GetDatum(o.reservation_id), IntArrayOf(shortages, o.count)};
		RunPlan(KeptPlan(&plan, "UPDATE stocksync.reservation SET shortages = $2 WHERE id = $1", 2, types), args,
				nullptr);
	}

	// Every plain row's change in one statement; hot SKUs where their claim points.
	int plain = 0;
	Datum *skus = static_cast<Datum *>(palloc(sizeof(Datum) * Max(b->nkeys, 1)));
	Datum *locations = static_cast<Datum *>(palloc(sizeof(Datum) * Max(b->nkeys, 1)));
	int32 *taken = static_cast<int32 *>(palloc(sizeof(int32) * Max(b->nkeys, 1)));
	for (int i = 0; i < b->nkeys; i++)
	{
		const StockKey &key = b->keys[i];
		if (key.taken == 0)
			continue;
		if (key.claim.hot)
		{
			HoldClaimed(key.sku, key.location, key.claim, key.taken);
			continue;
		}
		skus[plain] = key.sku;
		locations[plain] = key.location;
		taken[plain++] = key.taken;
	}
	if (plain > 0)
	{
		static SPIPlanPtr plan = nullptr;
		static const Oid types[] = {TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID};
		Datum args[] = {TextArrayOf(skus, plain), TextArrayOf(locations, plain), IntArrayOf(taken, plain)};
		RunPlan(KeptPlan(&plan,
						   "UPDATE stocksync.stock_level s SET reserved = s.reserved + x.qty, version = s.version + 1 "
						   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) "
						   "     AS x (sku, location, qty) "
						   "WHERE s.sku = x.sku AND s.location = x.location",
						   3, types),
				args, nullptr);
	}

	if (refused > 0)
	{
		Datum *ids = static_cast<Datum *>(palloc(sizeof(Datum) * refused));
		int n = 0;
		for (int i = 0; i < b->count; i++)
		{
			Order &o = b->orders[i];
			if (o.status == Status::kRefused && o.reservation_id != 0)
			{
				ids[n++] = Int64GetDatum(o.reservation_id);
				o.reservation_id = 0;
				o.has_expiry = false;
			}
		}
		static SPIPlanPtr plan = nullptr;
		static const Oid types[] = {INT8ARRAYOID};
		Datum args[] = {PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE))};
		RunPlan(KeptPlan(&plan, "DELETE FROM stocksync.reservation WHERE id = ANY ($1)", 1, types), args, nullptr);
	}
}

const char *
StatusName(Status s)
{
	switch (s)
	{
		case Status::kReserved:
			return "reserved";
		case Status::kReplayed:
			return "replayed";
		case Status::kRefused:
		case Status::kPending:
			break;
	}
	return "refused";
}

void
EmitResults(FunctionCallInfo fcinfo, const Batch &b)
{
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < b.count; i++)
	{
		const Order &o = b.orders[i];
		bool refused = o.status == Status::kRefused || o.status == Status::kPending;
		Datum values[9] = {Int32GetDatum(o.ord),
						   o.channel,
						   o.order_ref,
						   CStringGetTextDatum(StatusName(o.status)),
						   Int64GetDatum(o.reservation_id),
						   Int32GetDatum(o.shortage),
						   TimestampTzGetDatum(o.expires_at),
						   refused ? CStringGetTextDatum(unpack_sql_state(o.sqlstate)) : (Datum) 0,
						   refused ? CStringGetTextDatum(o.message) : (Datum) 0};
		bool nulls[9] = {false,		   o.channel == (Datum) 0, o.order_ref == (Datum) 0, false, refused,
						 refused,	   !o.has_expiry || refused, !refused, !refused};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

}  // namespace

// reserve_batch(orders jsonb, ttl, on_shortage)
extern "C" Datum
stocksync_reserve_batch(PG_FUNCTION_ARGS)
{
	CheckNotNull(PG_ARGISNULL(0), "orders");
	Jsonb *json = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_ARRAY(json) || JB_ROOT_IS_SCALAR(json))
		ereport(ERROR, (errcode(kInvalidArgument), errmsg("orders must be a JSON array"),
						errhint("Pass [{\"channel\": \"shop\", \"order_ref\": \"1001\", \"sku\": \"A-1\", \"qty\": 1}, ...].")));
	if (JB_ROOT_COUNT(json) > kMaxOrders)
		ereport(ERROR, (errcode(kInvalidArgument),
						errmsg("a batch holds at most %d orders, got %d", kMaxOrders, JB_ROOT_COUNT(json)),
						errhint("Split the orders into several calls; each holds a lock per order while it runs.")));
	Batch b = {};
	b.ttl = CheckedTtl(fcinfo, 1);
	OnShortage on_shortage = ParseOnShortage(fcinfo, 2);
	InitMaterializedSRF(fcinfo, 0);

	SPI_connect();
	// Before the channels are looked up: a channel being renamed holds this
	// lock until it commits, and the lookup then sees the new code, so no
	// order is written under the old one (channel_rename_vs_order.spec).
	LockTableForWrites("reservation");
	// The projection rows are read (a SKU's buckets), then written.
	LockTableForWrites("stock_level");
	ParseOrders(&b, json, on_shortage);
	FindRepeats(&b);
	// Decided in runs in which no key repeats: a repeat then finds its key
	// stored (a replay, or SS006 with other lines) or, when the earlier
	// delivery was refused, free, and is decided afresh, as reserve() decides
	// a retry. Sharing the earlier refusal refused a retry with on_shortage
	// 'record' or with other lines (sql/reserve_parity.sql).
	for (int start = 0, end = 0; start < b.count; start = end)
	{
		for (end = start + 1; end < b.count; end++)
			if (b.orders[end].previous != nullptr && b.orders[end].previous >= &b.orders[start])
				break;
		Batch run = b;
		run.orders = &b.orders[start];
		run.count = end - start;
		InsertOrders(&run);
		ResolveReplays(&run);
		CollectStockKeys(&run);
		LockStock(&run);
		Decide(&run);
		WriteDecisions(&run);
	}
	// Every order row written holds its key from now on (order.hpp).
	UnlockOrderKeys(b.locked_channels, b.locked_refs, b.nlocked);
	EmitResults(fcinfo, b);
	SPI_finish();
	return (Datum) 0;
}
