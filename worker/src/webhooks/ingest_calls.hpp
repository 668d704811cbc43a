// The webhook pool's database calls, on one pool thread's own connection:
// one delivery through stocksync.ingest_webhook(), or a group of order
// deliveries through stocksync.ingest_webhook_orders() in one transaction;
// the hourly pruning of receipts.
#pragma once

#include <libpq-fe.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stocksync::worker::webhooks {

struct IngestResult {
  enum class Kind {
    applied,      // committed; outcome says what happened (committed, tombstoned, ...)
    duplicate,    // the event id was already committed: no effect
    refused,      // a stocksync function refused it (SS error): kept in inbound_exception
    unavailable,  // no connection, or the queue is full: nothing written, retry later
    failed        // any other database error: nothing written
  } kind = Kind::failed;
  std::string outcome;  // ingest_webhook()'s answer, or the SQLSTATE
  std::string detail;   // the database's message
  std::size_t batch = 1;  // deliveries committed in the same transaction
};

using IngestParams = std::array<std::string, 4>;  // source, event_id, topic, event (JSON text)

struct Housekeeping {
  bool ok = false;
  std::int64_t pruned = 0;           // receipts removed (when pruning was asked for)
  std::int64_t unmatched_lines = 0;  // open lines of stocksync.unmatched_order_line
  std::string error;
};  // source, event_id, topic, event (JSON text)

// One libpq connection, owned by one pool thread; reconnected when lost.
struct IngestConnection {
  std::string conninfo;
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn{nullptr, &PQfinish};
  std::string error;

  bool ensure();
  bool lost() const;
};

// ingest_webhook() for one delivery, retried on a lost connection, a
// serialization failure or a deadlock; an SS or class 22 refusal is kept
// through record_webhook_refusal().
IngestResult ingest_one(IngestConnection &c, const IngestParams &params);

// The listing the ledger took each order line for, as
// stocksync.webhook_line_sku() matches it: the first of the line's ids that
// is a listing of the channel, else the channel's listing of the line's SKU
// when it has exactly one (with several, which location's count the channel
// lowered is unknown: ""). lines: the normalized event's "lines" (JSON
// text). nullopt when the query failed.
std::optional<std::vector<std::string>> order_listings(IngestConnection &c, const std::string &channel,
                                                      const std::string &lines);

// Prunes receipts older than keep_s (when keep_s > 0) and counts the open
// unmatched order lines.
Housekeeping housekeep(IngestConnection &c, std::int64_t keep_s);

// ingest_webhook_orders() for order deliveries, one transaction. A result per
// delivery, nullopt for those it deferred; every one nullopt when the call
// failed (it wrote nothing), so that the caller applies them one by one.
std::vector<std::optional<IngestResult>> ingest_orders(IngestConnection &c,
                                                       const std::vector<const IngestParams *> &deliveries);

}  // namespace stocksync::worker::webhooks
