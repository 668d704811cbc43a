// The commit fast path: a held order of plain SKUs made a hard hold with
// direct heap access (direct.hpp), as reserve()'s fast path writes a new
// order. Anything else falls back to the SPI path in holds.cpp, which gives
// the same rows for every case.
#pragma once

#include "pg.hpp"

namespace stocksync {

// true when the order (channel, order_ref) was held and is now committed:
// its lines moved from reserved to committed, a COMMIT ledger row each, the
// order's state, expiry and update time written as commit() writes them.
// false when nothing was written: the general path decides (an unknown
// order, another state, a hot SKU, a bundle component, a table of the
// user's shape). Either way the order row stays locked for the transaction.
bool CommitFast(Datum channel, Datum order_ref);

}  // namespace stocksync
