// The reservation fast path: one pessimistic line with enough stock, written
// with direct heap access (direct.hpp). Anything else falls back to the SPI
// path in reserve.cpp, which gives the same results for every case.
#pragma once

#include "pg.hpp"

#include "order.hpp"

namespace stocksync {

enum class FastReserve
{
	kFallback,	// not applicable: run the general path
	kReplay,	// the order exists: the general path returns its result
	kHeld,		// order inserted, units held, ledger row appended
};

FastReserve ReserveFast(Datum channel, Datum order_ref, const OrderLine &line, Datum ttl, int64 *reservation_id,
						TimestampTz *expires_at);

}  // namespace stocksync
