// The reservation fast path: one pessimistic line of a new order with enough
// stock, written with direct heap access (direct.hpp). Anything else, replays
// included, falls back to the SPI path in reserve.cpp, which gives the same
// results for every case. The caller does not hold the order key's lock: the
// order row's insert claims the key (fast_reserve.cpp).
#pragma once

#include "pg.hpp"

#include "order.hpp"

namespace stocksync {

enum class FastReserve
{
	kFallback,	// not applicable: run the general path
	kTaken,		// the order key is taken: a replay, or a delivery still in flight
	kClaimed,	// order inserted (the key is this call's), the line not held yet
	kHeld,		// order inserted, units held, ledger row appended
};

// *reservation_id and *expires_at are set for kClaimed and kHeld.
FastReserve ReserveFast(Datum channel, Datum order_ref, const OrderLine &line, Datum ttl, int64 *reservation_id,
						TimestampTz *expires_at);

// Whether the order (channel, order_ref) exists as a new snapshot sees it
// (committed, or this transaction's own); under REPEATABLE READ or
// SERIALIZABLE, as the transaction's snapshot sees it. Takes the order
// table's RowExclusiveLock (for the transaction), which the caller's insert
// of the order needs next.
bool OrderVisible(Datum channel, Datum order_ref);

// Waits until no transaction is inserting the order key (channel, order_ref)
// any more; true if a row version with the key was seen, in flight or
// committed since the caller looked. The fast path claims a key without the
// order key's lock, so a caller that found no order under that lock (a
// cancel that came while the order was still being reserved) waits here and
// looks again.
bool WaitForOrderInFlight(Datum channel, Datum order_ref);

}  // namespace stocksync
