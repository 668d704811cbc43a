// The one primitive every stock change goes through: lock the projection row,
// check the rule, update the projection and append the ledger row that
// explains it, all in the caller's transaction.
#pragma once

#include "pg.hpp"

namespace stocksync {

// A text argument that may be null (reason, reference).
struct OptionalText
{
	Datum value;
	bool isnull;
};

inline OptionalText
NoText()
{
	return OptionalText{(Datum) 0, true};
}

OptionalText OptionalTextArg(FunctionCallInfo fcinfo, int argno);

// The effect of one ledger row on each state quantity.
struct Deltas
{
	int32 on_hand = 0;
	int32 reserved = 0;
	int32 committed = 0;
	int32 damaged = 0;
	int32 quality_control = 0;
	int32 safety_stock = 0;
	int32 incoming = 0;
};

// One projection row as read under its row lock.
struct StockRow
{
	int32 on_hand;
	int32 reserved;
	int32 committed;
	int32 damaged;
	int32 quality_control;
	int32 safety_stock;
	int32 incoming;
	int64 version;

	int32 Available() const
	{
		return on_hand - reserved - committed - damaged - quality_control - safety_stock;
	}
};

// The parts of on_hand a unit can be moved between.
enum class StockState
{
	kAvailable,
	kDamaged,
	kQualityControl,
	kSafetyStock,
};

// The seven deltas as statement arguments, in column order (on_hand,
// reserved, committed, damaged, quality_control, safety_stock, incoming).
constexpr int kDeltaCount = 7;
void DeltaArgs(const Deltas &deltas, Datum *args);

// Parses a state name; raises SS009 naming the argument when it is not one of
// the first `allowed` states of the enum order above.
StockState ParseStockState(text *name, const char *argument, int allowed);
const char *StockStateName(StockState state);
// Units currently in `state` (available is derived).
int32 UnitsIn(const StockRow &row, StockState state);
// Adds `units` to the delta of `state` (available needs no delta of its own).
void AddToState(Deltas *deltas, StockState state, int32 units);

// Locks (sku, location)'s projection row FOR UPDATE, creating it on first use;
// raises SS001/SS002 for an unknown SKU or location. For a hot SKU it locks
// every bucket too and returns the SKU's total (hot.hpp), so that a check
// against it is exact and the change may go to the central row.
StockRow LockStockRow(Datum sku, Datum location);

// LockStockRow for a change that lowers no available and checks nothing but
// on_hand, damaged, quality_control or incoming (a fulfilment, a return, a
// receipt, a purchase order): on a hot SKU
// it locks the central row only and leaves the buckets and their budgets to
// the sessions holding them, so that it never waits for a bucket. A session
// holding a bucket of the SKU (an earlier commit or release in its
// transaction) may be waiting for the central row: waiting for its bucket
// while holding the central row would deadlock with it. The reserved and
// committed it returns for a hot SKU may be behind those sessions' changes.
StockRow LockStockRowKeepingBudgets(Datum sku, Datum location);

// Reads the row without locking it (optimistic reservations); creates it on
// first use like LockStockRow.
StockRow ReadStockRow(Datum sku, Datum location);

// Adds `deltas` to the projection row and returns the SKU's new version.
int64 UpdateProjection(Datum sku, Datum location, const Deltas &deltas);

// Appends one ledger row.
void AppendLedger(const char *kind, Datum sku, Datum location, int32 qty, const Deltas &deltas,
				  int64 reservation_id, OptionalText reason, OptionalText reference);

// UpdateProjection and AppendLedger together; returns the new version.
int64 ApplyMovement(const char *kind, Datum sku, Datum location, int32 qty, const Deltas &deltas,
					int64 reservation_id, OptionalText reason, OptionalText reference);

// A change to units an order already holds (commit, release): it never
// lowers available, so on a hot SKU it goes to any bucket no other session
// holds instead of queueing on the central row. Appends the ledger row.
void ApplyHeldMovement(const char *kind, Datum sku, Datum location, int32 qty, const Deltas &deltas,
					   int64 reservation_id, OptionalText reason);

// Raises SS004 naming sku and location when adding `deltas` to `row` would
// take a state quantity, or the units held out of on_hand (reserved,
// committed, damaged, quality_control, safety_stock together), past what an
// integer holds: the projection's UPDATE, or the stock view's available,
// would otherwise fail with PostgreSQL's 22003, not a stocksync SQLSTATE.
void CheckQuantitiesFit(Datum sku, Datum location, const StockRow &row, const Deltas &deltas);

// Which quantity of `row` plus `deltas` would not fit an integer: an index in
// Deltas' order (on_hand, reserved, ..., incoming), kHeldPastInteger for the
// units held out of on_hand together, -1 when everything fits. For callers
// that refuse without raising (reserve_batch()); CheckQuantitiesFit raises.
constexpr int kHeldPastInteger = 100;
int QuantityPastInteger(const StockRow &row, const Deltas &deltas);

// The held quantities (reserved, committed, damaged, quality_control,
// safety_stock) of a SKU at a location summed over its projection row and a
// hot SKU's buckets, each capped at what an integer holds (the other fields
// 0), as the stock view adds them up; the buckets are read without their
// locks.
StockRow SummedHeldQuantities(Datum sku, Datum location);

// Units leaving on_hand beyond the good ones (on hand outside damaged and
// quality_control) were among the damaged, then the quality-control units:
// takes them out of those in *d, so that neither stays above on_hand and
// blocks units received later. `on_hand_after` is on_hand after the change.
void TakeMissingFromDamagedThenQc(const StockRow &row, int32 on_hand_after, Deltas *d);

// Raises SS005 for sku at location (`wanted` is 64-bit: the negation of the
// most negative delta does not fit an integer).
void ReportInsufficient(Datum sku, Datum location, const char *what, int32 have, int64 wanted);

// Byte-order comparison of two text values: the one lock order every function
// uses (and SQL's COLLATE "C"), whatever the database collation is.
int CompareText(Datum a, Datum b);

}  // namespace stocksync
