// An order's lines and the reservation row that holds them.
#pragma once

#include "pg.hpp"

namespace stocksync {

struct OrderLine
{
	Datum sku;
	Datum location;
	int32 qty;
	int32 shortage;
	int32 fulfilled;
	int32 returned;
};

// A reservation row read under FOR UPDATE.
struct Reservation
{
	int64 id;
	Datum channel;
	Datum order_ref;
	const char *state;
	OrderLine *lines;
	int count;
	bool has_expiry;
	TimestampTz expires_at;
};

// What reserve() does with a line short of stock.
enum class OnShortage
{
	kReject,	// refuse the order (SS005): a checkout
	kRecord,	// hold it anyway and record the shortage: a marketplace order that already happened
};

// Parses an on_shortage name; false when it is neither.
bool OnShortageFromName(const char *value, OnShortage *out);

// The on_shortage argument; raises SS009 for anything else.
OnShortage ParseOnShortage(FunctionCallInfo fcinfo, int argno);

// The ttl argument of a soft hold; raises SS009 unless it is positive.
Datum CheckedTtl(FunctionCallInfo fcinfo, int argno);

// Sorts lines by (sku, location) in byte order and merges duplicates, so that
// equal orders compare equal and every function locks rows in one order.
// Returns how many lines are left. Merged lines of more units than an integer
// holds raise SS004, or, given `too_large`, return -1 with the sku there.
int NormalizeLines(OrderLine *lines, int count, Datum *too_large = nullptr);

// SQL for the qty of the JSON order line `line` (a jsonb expression) as an
// integer: NULL unless it is a whole number within an integer, so that the
// caller refuses it with SS009 instead of a cast's own error.
#define STOCKSYNC_SQL_LINE_QTY(line)                                                           \
	"CASE WHEN pg_catalog.jsonb_typeof(" line "->'qty') = 'number' "                          \
	"      AND (" line "->>'qty') OPERATOR(pg_catalog.~) '^-?[0-9]{1,10}$' "                  \
	"      AND (" line "->>'qty')::bigint BETWEEN -2147483648 AND 2147483647 "                \
	"     THEN (" line "->>'qty')::integer END"

// Reads [{"sku": .., "qty": .., "location": ..}, ...]. A missing location is
// where `channel` holds such lines of the order (stocksync.order_line_location():
// where the order holds the SKU already, else a location of the channel's
// whose stock covers the line; SS009 when the channel sells from none), or,
// when `channel` is (Datum) 0, (Datum) 0 meaning any location (fulfil and
// return lines name units of an existing order). Raises SS009 on anything
// else.
OrderLine *ParseLines(Jsonb *lines, const char *order_ref, Datum channel, int *count);

// The refusal of a line that names no location for a channel that sells from
// no location (ParseLines, and reserve_batch, which refuses that order alone).
char *NoLocationMessage(int line, const char *order_ref, const char *sku, Datum channel);

// Array builders and readers for the reservation row's parallel arrays.
Datum TextArray(const OrderLine *lines, int count, bool locations);
Datum IntArray(const int32 *values, int count);
void ReadTextArray(Datum array, OrderLine *lines, int count, bool locations);
int32 *ReadIntArray(Datum array, int *count);
// A per-line counter column of the last SPI result; NULL reads as all zeros.
int32 *ReadIntArrayOrZeros(uint64 row, int column, int count);
// An order's lines from its row's six line columns, in the table's order
// (skus, locations, quantities, shortages, fulfilled, returned); the
// counters read NULL as zeros. For an SPI result and a table slot alike.
OrderLine *LinesFromColumns(const Datum *values, const bool *isnull, int *count);

// qsort's comparison of lines by (sku, location) in byte order, the order
// an order's lines are stored and locked in.
int CompareLines(const void *a, const void *b);

// A lock on the order key's hash, taken before any stock row by the general
// reservation path and by batches: two deliveries of one order queue on it
// (the second sees the first's order: a replay), and no path holds a stock
// row while it waits for another's insert of the same key, which could close
// a cycle. The fast path holds the key by its order row instead
// (fast_reserve.cpp), also before any stock row, and the general path's ON
// CONFLICT waits for that row's transaction.
//
// Released (Unlock*) at the end of the call that took it: by then the order
// row holds the key until the transaction ends, as the fast path's does (a
// later delivery's ON CONFLICT waits for it), and the lock is not needed.
// Held to commit, every reservation of an ERP import run in one transaction
// kept an entry in the shared lock table and about 900 bytes of the
// backend's memory until the commit, and 100,000 of them ran the lock table
// out ("out of shared memory"). A lock the transaction held already stays
// held: acquisitions are counted.
void LockOrderKey(Datum channel, Datum order_ref);
void UnlockOrderKey(Datum channel, Datum order_ref);
// The same for many keys at once, in one global order (a batch).
void LockOrderKeys(const Datum *channels, const Datum *order_refs, int count);
void UnlockOrderKeys(const Datum *channels, const Datum *order_refs, int count);

// Locks the reservation of (channel, order_ref); raises SS008 if there is none.
Reservation LockReservation(Datum channel, Datum order_ref);

// Reads it without a lock: enough for a replay, whose first delivery has
// committed, and waits for no commit or expiry in progress, which take the
// order row before stock rows while a replay holds a stock row. Both wait,
// when they find no order, for one still being inserted in another session
// (WaitForOrderInFlight), and look once more.
Reservation ReadReservation(Datum channel, Datum order_ref);

// Sets state (and clears the expiry when it is no longer a soft hold) and
// writes back the fulfilled and returned counters.
void SaveReservation(const Reservation &reservation, const char *state);

// Raises SS007 for an order in a state that does not allow `action`.
void ReportIllegalTransition(Datum channel, Datum order_ref, const char *state, const char *action);

}  // namespace stocksync
