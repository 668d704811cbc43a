// stocksync's SQLSTATE class "SS" and one Check*() helper per rule.
//
// Every refusal of the extension carries one of these codes, documented in
// docs/sql-reference.md, so that a caller can branch on the code and never on
// message text. Messages are lower case without a final period and name the
// SKU or order; details and hints are whole sentences.
#pragma once

#include "pg.hpp"

namespace stocksync {

constexpr int kUnknownSku = MAKE_SQLSTATE('S', 'S', '0', '0', '1');
constexpr int kUnknownLocation = MAKE_SQLSTATE('S', 'S', '0', '0', '2');
constexpr int kUnknownChannel = MAKE_SQLSTATE('S', 'S', '0', '0', '3');
constexpr int kInvalidQuantity = MAKE_SQLSTATE('S', 'S', '0', '0', '4');
constexpr int kInsufficientStock = MAKE_SQLSTATE('S', 'S', '0', '0', '5');
constexpr int kIdempotencyConflict = MAKE_SQLSTATE('S', 'S', '0', '0', '6');
constexpr int kIllegalTransition = MAKE_SQLSTATE('S', 'S', '0', '0', '7');
constexpr int kUnknownOrder = MAKE_SQLSTATE('S', 'S', '0', '0', '8');
constexpr int kInvalidArgument = MAKE_SQLSTATE('S', 'S', '0', '0', '9');
constexpr int kConcurrencyRetriesExhausted = MAKE_SQLSTATE('S', 'S', '0', '1', '0');
constexpr int kAppendOnly = MAKE_SQLSTATE('S', 'S', '0', '1', '1');
// Raised by the install script's PL/pgSQL triggers (bundles and channel rules).
constexpr int kBomRefused = MAKE_SQLSTATE('S', 'S', '0', '1', '2');
constexpr int kIllegalLifecycle = MAKE_SQLSTATE('S', 'S', '0', '1', '3');
constexpr int kPoolsOverAllocated = MAKE_SQLSTATE('S', 'S', '0', '1', '4');

// A quantity that moves stock must be a positive number of units.
inline void
CheckPositiveQuantity(int32 qty, const char *sku)
{
	if (qty <= 0)
		ereport(ERROR,
				(errcode(kInvalidQuantity),
				 errmsg("quantity for sku \"%s\" must be positive, got %d", sku, qty),
				 errhint("Use a positive number of units; the direction is given by the function.")));
}

// The message of an order whose lines of one SKU (merged, or a bundle's
// components multiplied out) add up to more units than an integer holds.
inline char *
QuantityTooLargeMessage(const char *sku)
{
	return psprintf("quantity for sku \"%s\" adds up to more than %d units", sku, PG_INT32_MAX);
}

inline void
ReportQuantityTooLarge(const char *sku)
{
	ereport(ERROR, (errcode(kInvalidQuantity), errmsg_internal("%s", QuantityTooLargeMessage(sku)),
					errhint("Split the order.")));
}

// SQL-callable functions are declared STRICT only where every argument is
// mandatory; the others check their required arguments here.
inline void
CheckNotNull(bool isnull, const char *argument)
{
	if (isnull)
		ereport(ERROR,
				(errcode(kInvalidArgument),
				 errmsg("argument \"%s\" must not be null", argument)));
}

// Order and document references, and sources, are keys of btree indexes,
// whose entries hold at most 2,704 bytes (a third of a page) together with
// the channel or SKU beside them. A longer reference is refused up front
// with SS009, so that the caller is told which argument and reserve_batch
// refuses that one order, instead of PostgreSQL's 54000 from inside the
// index failing the whole call. Catalog codes are at most 500 bytes (the
// install script's CHECKs), so a key of codes and a reference always fits.
constexpr int kMaxReferenceBytes = 1000;

// The message for a reference longer than kMaxReferenceBytes, or nullptr.
// It names the reference by its first characters (whole ones).
inline char *
ReferenceTooLongMessage(const char *argument, Datum value)
{
	text *t = DatumGetTextPP(value);
	int bytes = VARSIZE_ANY_EXHDR(t);
	if (bytes <= kMaxReferenceBytes)
		return nullptr;
	const char *data = VARDATA_ANY(t);
	int shown = pg_mbcliplen(data, bytes, 32);
	return psprintf("%s \"%.*s...\" is %d bytes long, more than %d", argument, shown, data, bytes,
					kMaxReferenceBytes);
}

// A reference a function keys on: not empty, and not too long. An empty one
// is refused rather than stored as a key: an ERP that sends '' for "none"
// would otherwise see its next document with '' and other lines refused as
// a replay (SS006).
inline void
CheckReference(const char *argument, Datum value)
{
	if (VARSIZE_ANY_EXHDR(DatumGetTextPP(value)) == 0)
		ereport(ERROR, (errcode(kInvalidArgument), errmsg("%s must not be empty", argument)));
	if (char *message = ReferenceTooLongMessage(argument, value))
		ereport(ERROR, (errcode(kInvalidArgument), errmsg_internal("%s", message),
						errhint("Pass a reference of at most %d bytes, for example a hash of a longer one.",
								kMaxReferenceBytes)));
}

// The refusals of a name stocksync does not know, where a stock row or an
// order line needs it (CreateStockRow, CheckNamesKnown).
[[noreturn]] inline void
RaiseUnknownSku(Datum sku)
{
	ereport(ERROR, (errcode(kUnknownSku), errmsg("unknown sku \"%s\"", TextDatumGetCString(sku)),
					errhint("Add the SKU to stocksync.item first.")));
	pg_unreachable();
}

[[noreturn]] inline void
RaiseUnknownLocation(Datum location)
{
	ereport(ERROR, (errcode(kUnknownLocation), errmsg("unknown location \"%s\"", TextDatumGetCString(location)),
					errhint("Add the location to stocksync.location first.")));
	pg_unreachable();
}

}  // namespace stocksync
