// The tables the fast paths write directly (fast_reserve.cpp,
// fast_commit.cpp): their columns' positions, as GetDirectCatalog checks
// them (direct.cpp), and the three relations a call holds open.
#pragma once

#include "pg.hpp"

#include "direct.hpp"

extern "C" {
#include "access/table.h"
#include "executor/tuptable.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace stocksync {

// Attribute numbers (1-based) of stock_level.
namespace stock_column {
constexpr int kSku = 1;
constexpr int kLocation = 2;
constexpr int kOnHand = 3;
constexpr int kReserved = 4;
constexpr int kCommitted = 5;
constexpr int kDamaged = 6;
constexpr int kQualityControl = 7;
constexpr int kSafetyStock = 8;
constexpr int kVersion = 10;
constexpr int kBuckets = 11;
}  // namespace stock_column

// Attribute numbers (1-based) of reservation.
namespace order_column {
constexpr int kId = 1;
constexpr int kChannel = 2;
constexpr int kOrderRef = 3;
constexpr int kState = 4;
constexpr int kSkus = 5;
constexpr int kLocations = 6;
constexpr int kQuantities = 7;
constexpr int kFulfilled = 9;
constexpr int kReturned = 10;
constexpr int kExpiresAt = 12;
constexpr int kUpdatedAt = 13;
}  // namespace order_column

// An integer column of a deformed row.
inline int32
IntColumn(TupleTableSlot *slot, int attnum)
{
	return DatumGetInt32(slot->tts_values[attnum - 1]);
}

// What a fast-path call holds open, released by Close() on every way out.
// Opening the tables takes the locks of their writes first (a weaker lock
// raised later deadlocks with REINDEX, direct.hpp KeyExists).
struct DirectRelations
{
	Relation stock;
	Relation reservation;
	Relation ledger;
	Snapshot snapshot = nullptr;
	TupleTableSlot *row = nullptr;	// a projection row

	explicit DirectRelations(const DirectCatalog *cat)
		: stock(table_open(cat->stock_level, RowExclusiveLock)),
		  reservation(table_open(cat->reservation, RowExclusiveLock)),
		  ledger(table_open(cat->ledger, RowExclusiveLock))
	{
	}

	// Whether the open tables are still the catalog's, and still writable
	// directly: opening a table took its lock and with it every
	// invalidation sent since the catalog was read (a user's index or
	// constraint created meanwhile). While the locks are held none can be
	// added, but for CREATE INDEX CONCURRENTLY's index, which takes no
	// entries before this transaction ends.
	bool StillAsCataloged() const
	{
		const DirectCatalog *cat = GetDirectCatalog();
		return cat != nullptr && cat->writable_directly && RelationGetRelid(stock) == cat->stock_level &&
			   RelationGetRelid(reservation) == cat->reservation && RelationGetRelid(ledger) == cat->ledger;
	}

	void Close()
	{
		if (row != nullptr)
			ExecDropSingleTupleTableSlot(row);
		if (snapshot != nullptr)
			UnregisterSnapshot(snapshot);
		table_close(ledger, NoLock);
		table_close(reservation, NoLock);
		table_close(stock, NoLock);
	}
};

}  // namespace stocksync
