// The polling cursor rules (pure arithmetic, unit-tested).
//
// stocksync.order_poll_cursor.polled_through = T means: every order the
// channel reported as modified up to T has been applied. A round asks for
// orders modified since T - overlap (the overlap covers the channel's clock
// skew against ours and orders that become visible late, e.g. Amazon's two
// minutes), applies every page, and only with the last page, in the same
// transaction, moves T to the round's upper bound:
//   - Amazon: the LastUpdatedBefore the channel says it applied (its clock);
//   - eBay: our clock when the round's first request left (no bound in the
//     API; the overlap absorbs the skew).
// The cursor never moves backwards. A crash before that commit leaves T
// where it was, so the next round asks again; orders applied twice are
// absorbed by reserve()'s idempotency on (channel, order_ref).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stocksync::worker::orders_in {

struct CursorRules {
  double overlap_s = 120;            // asked again behind the cursor
  double initial_lookback_s = 3600;  // first round without a cursor: now - this
};

// Start of the next round's window (Unix seconds).
double window_start(std::optional<double> polled_through, double now, const CursorRules &rules);

// The cursor after a complete round with upper bound `bound`.
double advance(std::optional<double> polled_through, double bound);

// 2026-11-22T09:58:00.000Z (UTC, milliseconds), as eBay and Amazon accept it.
std::string iso8601_utc(double unix_s);
// YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM) -> Unix seconds; nullopt otherwise.
std::optional<double> parse_iso8601_utc(std::string_view s);

}  // namespace stocksync::worker::orders_in
