// libFuzzer target for the inbound webhook path without a database:
// signature check, bounded JSON parsing and the mapping to
// stocksync.ingest_webhook()'s parameters (webhooks/inbound.hpp).
//
// Input framing (so that seeds are easy to write by hand):
//   byte 0  source kind (shopify, woocommerce, standard; modulo 3)
//   byte 1  topic / event type index (modulo the kind's list)
//   byte 2  flags: bit 0 sign the body correctly (else the first bytes of
//           the body are sent as the signature), bit 1 stale timestamp
//   rest    the raw body
// Invariants checked: an unsigned or stale delivery is never ingested; an
// ingested one has an event id and a normalized event that ingest_webhook()
// understands, and every status is one the server documents.
#include "util/crypto.hpp"
#include "webhooks/inbound.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace stocksync::worker;
using namespace stocksync::worker::webhooks;
using nlohmann::json;

namespace {

constexpr std::int64_t kNow = 1795000000;

[[noreturn]] void violated(const char *what) {
  fprintf(stderr, "invariant violated: %s\n", what);
  abort();
}

void check_event(const Ingest &in, const std::array<std::string, 4> &params) {
  if (in.event_id.empty() || in.topic.empty())
    violated("ingest without event id or topic");
  json ev = json::parse(params[3], nullptr, false);
  if (ev.is_discarded() || !ev.is_object())
    violated("ingest_webhook event is not a JSON object");
  std::string action = ev.value("action", "");
  if (action == "order" || action == "refund") {
    if (!ev.contains("lines") || !ev["lines"].is_array())
      violated("order without lines array");
    for (const auto &l : ev["lines"])
      if (!l.contains("qty") || !l["qty"].is_number_integer() || l["qty"].get<std::int64_t>() <= 0 ||
          l["qty"].get<std::int64_t>() > 1000000000)
        violated("order line quantity out of range");
  } else if (action == "set_on_hand") {
    if (!ev["version"].is_number_integer() || !ev["qty"].is_number_integer())
      violated("set_on_hand without integer version and quantity");
  } else if (action != "cancel") {
    violated("unknown action");
  }
  if (action != "set_on_hand" && (!ev["order_ref"].is_string() || ev["order_ref"].get<std::string>().empty()))
    violated("order event without order_ref");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size < 3)
    return 0;
  static const Source sources[] = {
      {"shop", SourceKind::shopify, "hush", "shop", "default", "shop.myshopify.com"},
      {"woo", SourceKind::woocommerce, "wc-secret", "woo", "default", ""},
      {"erp", SourceKind::standard, "0123456789abcdef0123456789abcdef", "erp", "default", ""}};
  static const char *topics[3][4] = {{"orders/create", "orders/cancelled", "refunds/create", "orders/updated"},
                                     {"order.created", "order.updated", "order.deleted", "order.created"},
                                     {"", "", "", ""}};
  const Source &src = sources[data[0] % 3];
  const char *topic = topics[data[0] % 3][data[1] % 4];
  bool sign = data[2] & 1, stale = data[2] & 2;
  Delivery d;
  d.now = kNow;
  d.body.assign(reinterpret_cast<const char *>(data + 3), size - 3);
  std::string forged = d.body.substr(0, 44);
  switch (src.kind) {
  case SourceKind::shopify:
    d.headers = {{"x-shopify-topic", topic}, {"x-shopify-event-id", "ev-1"},
                 {"x-shopify-shop-domain", data[2] & 4 ? "other.myshopify.com" : "shop.myshopify.com"},
                 {"x-shopify-triggered-at", stale ? "2026-11-01T00:00:00Z" : "2026-11-18T11:00:00Z"},
                 {"x-shopify-hmac-sha256", sign ? base64_encode(hmac_sha256(src.key, d.body)) : forged}};
    break;
  case SourceKind::woocommerce:
    d.headers = {{"x-wc-webhook-topic", topic},
                 {"x-wc-webhook-signature", sign ? base64_encode(hmac_sha256(src.key, d.body)) : forged}};
    break;
  case SourceKind::standard: {
    std::int64_t ts = stale ? kNow - 301 : kNow;
    d.headers = {{"webhook-id", "msg_1"}, {"webhook-timestamp", std::to_string(ts)},
                 {"webhook-signature", sign ? std_webhook_signature(src.key, "msg_1", ts, d.body) : "v1," + forged}};
    break;
  }
  }
  Limits lim;
  lim.json.max_bytes = 1u << 16;
  Decision dec = decide(src, d, lim);
  if (dec.status != 200 && dec.status != 400 && dec.status != 401 && dec.status != 422)
    violated("undocumented status");
  if (dec.kind == Decision::Kind::ingest) {
    if (!sign)
      violated("a delivery with a forged signature was ingested");
    if (stale && src.kind == SourceKind::standard)
      violated("a stale Standard Webhook was ingested");
    if (!dec.ingest)
      violated("ingest decision without event");
    check_event(*dec.ingest, ingest_params(src, *dec.ingest));
  } else if (dec.ingest) {
    violated("event attached to a rejection");
  }
  return 0;
}
