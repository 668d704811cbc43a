#include "std_webhooks.hpp"

#include "signing.hpp"
#include "timefmt.hpp"

namespace sim {

Response ConsumerChannel::throttled(double) {
  Response r = json_response(429, dump({{"error", "too_many_requests"}}));
  r.set_header("Retry-After", "5");
  return r;
}

Response ConsumerChannel::handle(const Request& req, const std::vector<std::string>& rest, double now, double) {
  count("receive");
  if (!rest.empty()) return json_response(404, dump({{"error", "not_found"}}));
  if (req.method != "POST") return json_response(405, dump({{"error", "method_not_allowed"}}));
  std::string id = req.header("webhook-id");
  auto verdict = verify_std_webhook(cfg_.std_secret, id, req.header("webhook-timestamp"),
                                    req.header("webhook-signature"), req.body, now, cfg_.tolerance_s);
  if (verdict != StdWebhookVerdict::ok) {
    ++rejected_;
    ++stats.auth_failures;
    return json_response(401, dump({{"error", "invalid_signature"}, {"reason", to_string(verdict)}}));
  }
  if (!seen_.insert(id).second) {
    // A retry of a delivered message: acknowledge, change nothing.
    ++duplicates_;
    received_.push_back({{"webhook_id", id}, {"t", iso8601_ms(now)}, {"duplicate", true}});
    return Response{204, {}, "", 0, false, 0};
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return json_response(400, dump({{"error", "invalid_json"}}));
  json rec = {{"webhook_id", id}, {"t", iso8601_ms(now)}, {"duplicate", false}, {"type", body.value("type", "")}};
  // stock events: data {sku, available} or data [{sku, available}, ...]
  json data = body.value("data", json());
  json items = data.is_array() ? data : json::array({data});
  for (auto& d : items) {
    if (!d.is_object() || !d.contains("sku") || !d["sku"].is_string() || !d.contains("available") ||
        !d["available"].is_number_integer())
      continue;
    std::string sku = d["sku"].get<std::string>();
    Listing* l = find(sku);
    if (!l) {
      Listing nl;
      nl.id = nl.sku = sku;
      nl.updated_at = now;
      l = &add_listing(nl);
    }
    set_shown(*l, d["available"].get<int64_t>(), now, "push", id);
  }
  rec["data"] = data;
  received_.push_back(rec);
  Response r;
  r.status = 204;
  return r;
}

void ConsumerChannel::inspect_extra(json& j) const {
  j["received"] = received_;
  j["duplicates"] = duplicates_;
  j["rejected"] = rejected_;
}

}  // namespace sim
