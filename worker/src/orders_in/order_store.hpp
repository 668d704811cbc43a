// Polled orders into the ledger, on a libpq session of its own (PgConn).
//
// apply() runs one transaction per page: for each order
//   open/paid, no reservation yet, every line's listing known
//       -> stocksync.reserve(channel, order_ref, lines, ttl, 'pessimistic',
//          on_shortage => 'record'), and for a paid order stocksync.commit();
//   paid, reservation still 'reserved'      -> stocksync.commit();
//   cancelled, reservation exists           -> stocksync.release();
//   a line for an unknown listing, or reserve()/commit() refusing
//       -> kept in stocksync.unmatched_order (reported, retried), never dropped;
//   anything else (ignored statuses, a cancellation of an order never
//   reserved, an order already past the step) changes nothing.
// Each order runs in a savepoint, so one refused order does not undo the
// page. With advance_to set, the cursor moves in the same transaction.
// Listing ids: the order line's id is the listing's external_id, or its part
// before '|' (eBay listings "SKU|offerId").
//
// ingest() is WooCommerce's way (order_mapping.hpp): each polled order is the
// event its webhook would have been, applied with
// stocksync.ingest_webhook(channel, event_id, 'order.polled', event) in a
// transaction of its own, exactly as a delivery: the webhook receipt makes an
// order state seen by both the webhook and the poll (or by two rounds) a
// 'duplicate'; a refusal (SQLSTATE class SS or 22) is kept with
// stocksync.record_webhook_refusal() as the webhook path keeps it; unknown
// listings land in stocksync.inbound_exception (unmatched_order_line). An
// order a delivery would get a 400 for (no usable id or date_modified_gmt, a
// malformed line) is logged and counted as refused, and the page goes on:
// one bad order must not hold the cursor back for every later one.
#pragma once

#include "orders_in/order_mapping.hpp"
#include "util/pg_conn.hpp"

#include <optional>
#include <string>
#include <vector>

namespace stocksync::worker::orders_in {

struct ApplyCounts {
  int reserved = 0;   // reserve() (and commit for paid orders) applied
  int committed = 0;  // commit() of an order reserved earlier
  int released = 0;   // release() applied
  int unmatched = 0;  // kept in unmatched_order
  int skipped = 0;    // nothing to do
  int refused = 0;    // WooCommerce: refused as a delivery would be (logged; kept in inbound_exception when
                      // stocksync refused it)
  ApplyCounts &operator+=(const ApplyCounts &o);
};

class OrderStore {
public:
  // open_ttl_s: the soft hold of an order the channel shows as not yet paid.
  OrderStore(PgConn &conn, long long open_ttl_s) : conn_(conn), open_ttl_s_(open_ttl_s) {}

  // polled_through of the channel's cursor (Unix seconds), nullopt if none.
  std::optional<double> cursor(const std::string &channel);
  ApplyCounts apply(const std::string &channel, const std::vector<PolledOrder> &orders,
                    std::optional<double> advance_to);
  ApplyCounts ingest(const std::string &channel, const std::vector<WooOrderEvent> &orders,
                     std::optional<double> advance_to);
  // Orders of the channel still waiting in unmatched_order (not cancelled),
  // oldest first.
  std::vector<PolledOrder> unmatched(const std::string &channel, int limit);
  long long open_unmatched(const std::string &channel);

private:
  void ingest_one(const std::string &channel, const WooOrderEvent &o, ApplyCounts &counts);
  void move_cursor(const std::string &channel, std::optional<double> advance_to);
  void apply_one(const std::string &channel, const PolledOrder &o, ApplyCounts &counts);
  void keep_unmatched(const std::string &channel, const PolledOrder &o, const std::vector<std::string> &unknown,
                      const std::string &problem);

  PgConn &conn_;
  long long open_ttl_s_;
};

}  // namespace stocksync::worker::orders_in
