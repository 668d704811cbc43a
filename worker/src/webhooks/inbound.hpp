// Inbound webhooks, the pure part: verify a delivery's signature over the raw
// body, then parse it and map it to one call of stocksync.ingest_webhook().
// No sockets, no database, no clock (now is given), so that the unit tests
// and the fuzz target (worker/fuzz/) drive it directly.
//
// Order of the checks, and why:
//   1. the signature over the raw bytes, in constant time, before anything
//      is parsed (an unsigned body is never looked into);
//   2. freshness: the signed timestamp (Standard Webhooks, +- tolerance) or
//      the event's own time against the de-duplication window (Shopify,
//      WooCommerce carry no signed timestamp);
//   3. bounded JSON parsing, then mapping to a normalized event.
#pragma once

#include "http/bounded_json.hpp"
#include "sync/interfaces.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace stocksync::worker::webhooks {

enum class SourceKind { shopify, woocommerce, standard };
const char *to_string(SourceKind k);
std::optional<SourceKind> source_kind(std::string_view route_segment);  // "shopify", "woocommerce", "standard"

// One configured sender: a Shopify or WooCommerce channel with a
// webhook_secret, or a Standard Webhooks source ([webhooks.sources.<name>]).
struct Source {
  std::string name;                 // route segment and the receipts' source
  SourceKind kind = SourceKind::standard;
  std::string key;                  // HMAC key (Standard Webhooks: the decoded whsec_ part)
  std::string channel;              // stocksync.channel of its orders ("" = none)
  std::string location = "default"; // stock.updated without a location
  // Shopify: the shop whose deliveries this route takes (X-Shopify-Shop-Domain,
  // e.g. "example.myshopify.com"). Every app install signs with the same
  // client secret, so the signature alone does not say which shop sent it.
  std::string shop_domain;
};

struct Limits {
  std::int64_t tolerance_s = 300;             // Standard Webhooks timestamp, both directions
  std::int64_t dedupe_window_s = 72 * 3600;   // older events could no longer be recognised as replays
  std::int64_t unpaid_order_ttl_s = 86400;    // soft hold of an order not yet paid
  JsonLimits json{1u << 20, 32};
};

// A received request: header names lower-case, the body as received.
struct Delivery {
  std::map<std::string, std::string> headers;
  std::string body;
  std::int64_t now = 0;  // unix seconds
  const std::string *header(const std::string &lower_name) const;
};

// The arguments of stocksync.ingest_webhook(source, event_id, topic, event).
struct Ingest {
  std::string event_id;
  std::string topic;
  nlohmann::json event;
  std::optional<std::int64_t> taken_at;  // a Shopify order's created_at (unix seconds)
};

// What to do with a delivery: ingest it, answer 2xx without effect
// (ignored topic, WooCommerce ping), or reject it with a 4xx.
struct Decision {
  enum class Kind { ingest, ignore, reject } kind = Kind::reject;
  int status = 400;
  std::string reason;  // short label: a metric label and the log's reason
  std::string detail;  // for the log and the answer; never the secret or the body
  std::optional<Ingest> ingest;
};

// Step 1 and 2: nullopt when the signature is valid and the delivery fresh.
std::optional<Decision> check_signature(const Source &src, const Delivery &d, const Limits &lim);
// Steps 1 to 3.
Decision decide(const Source &src, const Delivery &d, const Limits &lim);
// Whether ingest_webhook()'s error is a refusal to keep (record_webhook_refusal())
// rather than a failure to retry: a stocksync refusal (SS class) or data the
// event carried that SQL refused (class 22). Retrying cannot succeed; the
// event is kept with its reason, never dropped.
bool kept_refusal(const std::string &sqlstate);

// The text parameters of ingest_webhook() (event as JSON text).
std::array<std::string, 4> ingest_params(const Source &src, const Ingest &in);

// Step 3 for one WooCommerce order outside a delivery: the catch-up poll
// (orders_in/) reads GET /wc/v3/orders, whose elements are the very JSON an
// order.created/order.updated webhook carries, and maps each one here, so
// that both paths give an order state the same event and event id
// ("order:<id>:<date_modified_gmt>:<status>") and ingest_webhook() applies
// it once. Without the freshness check (the poll fetched the order itself:
// no replay). ingest (with `topic`), ignore (a status without stock effect)
// or reject (what a delivery would get a 400 for).
Decision map_woocommerce_order(const std::string &channel, const nlohmann::json &order,
                               std::int64_t unpaid_order_ttl_s, const std::string &topic);

// What the sync core is told about a delivery (SyncCore::note_recorded_sale,
// note_channel_restock; sync/core.hpp, "Refused compare-and-set"):
//   - order_sale(): a Shopify order (orders/create or orders/paid)
//     with its created_at and every line's units, each line's listing still
//     to be found (ingest_calls.hpp, order_listings); counted once
//     ingest_webhook() answered new_reservation(). Other sources: nullopt
//     (only Shopify takes compare-and-set pushes).
//   - new_reservation(): the outcome of a delivery that reserved its order
//     ("reserved", "committed", either "_partly_unmatched"); never
//     "duplicate" or "order_already_*". A second delivery of an order still
//     soft-held answers "reserved" too: the core counts each order once.
//   - may_restock(): a cancellation, or a refund that restocks units, told
//     on receipt whatever its outcome (the channel put its units back
//     already, or may have).
std::optional<RecordedSale> order_sale(const Source &src, const Ingest &in);
bool new_reservation(const std::string &outcome);
bool may_restock(const Ingest &in);

// "2026-11-22T10:00:00.123Z", "...+01:00", or WooCommerce's naive GMT
// "2026-11-22T10:00:00" as unix seconds; nullopt when malformed.
std::optional<std::int64_t> parse_iso8601(std::string_view s);

}  // namespace stocksync::worker::webhooks
