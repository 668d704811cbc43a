// Shopify Admin GraphQL adapter: inventorySetQuantities with compare-and-set
// and @idempotent, cost-bucket gated; see shopify.hpp.
#include "adapters/shopify.hpp"

#include "http/bounded_json.hpp"
#include "http/classify.hpp"
#include "util/crypto.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace stocksync::worker {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxQuantities = 250;      // any input array (§1.4)
constexpr double kMutationCost = 10;             // §1.5
constexpr std::size_t kReadChunk = 100;          // levels per read query
constexpr double kReadCostPerLevel = 3;          // inventoryItem + inventoryLevel + quantities
constexpr double kRememberSeconds = 24 * 3600;   // Shopify keeps keys about this long (unverified)
constexpr std::size_t kMaxRemembered = 20000;    // listing keys of calls with a lost answer
constexpr const char *kItemGid = "gid://shopify/InventoryItem/";
constexpr const char *kLocationGid = "gid://shopify/Location/";

// "N" or "gid://shopify/<Type>/N" -> "N"; nullopt for anything else.
std::optional<std::string> numeric_id(const std::string &s, const std::string &gid_prefix) {
  std::string n = s.rfind(gid_prefix, 0) == 0 ? s.substr(gid_prefix.size()) : s;
  if (!all_digits(n))
    return std::nullopt;
  return n;
}

// A key that can stand inside a GraphQL string literal as it is.
bool literal_safe(const std::string &k) {
  return !k.empty() && k.size() <= 100 &&
         std::all_of(k.begin(), k.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
         });
}

// The mutation; only the key is a literal, the input travels in variables.
std::string set_document(const std::string &key) {
  return "mutation StocksyncSet($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) "
         "@idempotent(key: \"" +
         key +
         "\") { inventoryAdjustmentGroup { createdAt reason referenceDocumentUri changes { name delta "
         "quantityAfterChange item { id } location { id } } } userErrors { code field message } } }";
}

// The quantities index a userError's field points at
// (["input", "quantities", "3", "changeFromQuantity"]), if any.
std::optional<std::size_t> quantity_index(const json &field, std::size_t n) {
  if (!field.is_array() || field.size() < 3 || field[1] != "quantities")
    return std::nullopt;
  const json &f = field[2];
  long long i = -1;
  if (f.is_string() && all_digits(f.get<std::string>()))
    i = std::stoll(f.get<std::string>());
  else if (f.is_number_integer())
    i = f.get<long long>();
  if (i < 0 || static_cast<std::size_t>(i) >= n)
    return std::nullopt;
  return static_cast<std::size_t>(i);
}

std::string str(const json &obj, const char *key) {
  if (!obj.is_object())
    return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "CODE: message; ..." of top-level GraphQL errors.
std::string top_errors_text(const json &body) {
  std::string out;
  auto errs = body.find("errors");
  if (errs == body.end())
    return "no data in the answer";
  if (errs->is_string())
    return errs->get<std::string>();
  if (!errs->is_array())
    return "errors in the answer";
  for (const auto &e : *errs) {
    if (!out.empty())
      out += "; ";
    std::string code = e.is_object() && e.contains("extensions") ? str(e["extensions"], "code") : std::string();
    out += (code.empty() ? "" : code + ": ") + str(e, "message");
  }
  return out;
}

bool has_error_code(const json &body, const std::string &code) {
  auto errs = body.find("errors");
  if (errs == body.end() || !errs->is_array())
    return false;
  for (const auto &e : *errs)
    if (e.is_object() && e.contains("extensions") && str(e["extensions"], "code") == code)
      return true;
  return false;
}

// "HTTP 401: <errors>" from a non-2xx Shopify answer.
std::string http_error_text(const HttpResponse &r) {
  std::string out = "HTTP " + std::to_string(r.status);
  auto j = parse_bounded_json(r.body);
  if (j && j->is_object())
    out += ": " + top_errors_text(*j);
  return clip(out);
}

// A POST of a GraphQL body to the shop's Admin API endpoint.
HttpRequest graphql_request(const ShopifyOptions &opts, std::string body) {
  HttpRequest req;
  req.method = "POST";
  req.url = opts.endpoint();
  req.timeout = opts.timeout;
  req.headers = {{"X-Shopify-Access-Token", opts.access_token},
                 {"Content-Type", "application/json"},
                 {"Accept", "application/json"}};
  req.body = std::move(body);
  return req;
}

// A GraphQL answer's body (none after a transport failure or when it does
// not parse: parse_error says why) and its extensions.cost, for the bucket.
std::optional<json> read_answer(const HttpResponse &r, std::string &parse_error, ShopifyQueryCost &qc) {
  std::optional<json> body;
  if (!r.transport_failed()) {
    body = parse_bounded_json(r.body, &parse_error);
    if (body)
      qc = parse_shopify_query_cost(*body);
  }
  return body;
}

}  // namespace

// One inventorySetQuantities request and where its answers go.
struct ShopifyAdapter::Call {
  std::vector<ListingPush> members;  // index = position in input.quantities
  std::vector<ShopifyLevelId> levels;
  std::vector<std::optional<std::size_t>> slot;  // job index of member i; none: not in this push
  std::string key;
  std::string body;
  std::shared_ptr<Recorded> record;  // set when the answer was lost once (or this is its replay)
};

// A call whose answer was lost: the exact request, and its first definite
// answer once one arrives (Shopify's own answer to a true retry).
struct ShopifyAdapter::Recorded {
  std::vector<ListingPush> members;
  std::vector<ShopifyLevelId> levels;
  std::string key;
  std::string body;
  std::optional<json> answer;  // data.inventorySetQuantities
  double at = 0;
};

struct ShopifyAdapter::Gate {
  explicit Gate(boost::asio::io_context &io) : timer(io) {}
  boost::asio::steady_timer timer;
};

std::optional<ShopifyOptions> ShopifyOptions::from_config(const ChannelConfig &cfg, std::string &error) {
  ShopifyOptions o;
  o.code = cfg.code;
  o.base_url = strip_trailing_slash(cfg.base_url);
  o.access_token = credential_or(cfg, "access_token");
  o.reason = option_or(cfg, "reason", o.reason);
  auto bad = config_error(cfg, error);
  if (o.base_url.empty())
    return bad("base_url (the shop's root, e.g. https://example.myshopify.com) is required for shopify");
  if (o.base_url.find("/admin/") != std::string::npos)
    return bad("base_url \"" + o.base_url + "\" must be the shop's root: the adapter adds /admin/api/2026-04/graphql.json");
  if (!is_https(o.base_url) && !is_loopback_http(o.base_url))
    return bad("base_url \"" + o.base_url +
               "\" must be https: the access token goes with every request (plain http only to a loopback simulator)");
  if (o.access_token.empty())
    return bad("credentials access_token (an Admin API token with write_inventory) is required for shopify");
  std::string loc = option_or(cfg, "location_id", "");
  if (!loc.empty()) {
    auto n = numeric_id(loc, kLocationGid);
    if (!n)
      return bad("options.location_id must be a location id (124656943 or gid://shopify/Location/124656943), got \"" +
                 loc + "\"");
    o.location_id = *n;
  }
  if (!literal_safe(o.reason))
    return bad("options.reason must be one of Shopify's reason codes (e.g. correction), got \"" + o.reason + "\"");
  for (auto [key, target] : {std::pair<const char *, double *>{"bucket_size", &o.bucket_size},
                             std::pair<const char *, double *>{"restore_rate", &o.restore_rate}}) {
    long long v = 0;
    if (!positive_option(cfg, key, v, error))
      return std::nullopt;
    if (v > 0)
      *target = static_cast<double>(v);
  }
  o.batch = batch_within(cfg, kMaxQuantities);
  o.in_flight = static_cast<std::size_t>(std::max(1, cfg.max_in_flight));
  o.timeout = cfg.request_timeout;
  return o;
}

std::optional<ShopifyLevelId> parse_shopify_listing_id(const std::string &external_id,
                                                       const std::string &default_location, std::string &error) {
  auto at = external_id.find('@');
  std::string item = external_id.substr(0, at);
  std::string loc = at == std::string::npos ? default_location : external_id.substr(at + 1);
  auto item_n = numeric_id(item, kItemGid);
  if (!item_n) {
    error = "bad Shopify listing id \"" + clip(external_id, 80) +
            "\": expected INVENTORY_ITEM_ID or INVENTORY_ITEM_ID@LOCATION_ID (numbers or gids)";
    return std::nullopt;
  }
  if (loc.empty()) {
    error = "Shopify listing \"" + clip(external_id, 80) +
            "\" names no location: write it as ITEM@LOCATION or set options.location_id for the channel";
    return std::nullopt;
  }
  auto loc_n = numeric_id(loc, kLocationGid);
  if (!loc_n) {
    error = "bad location in Shopify listing id \"" + clip(external_id, 80) + "\"";
    return std::nullopt;
  }
  return ShopifyLevelId{kItemGid + *item_n, kLocationGid + *loc_n};
}

std::string shopify_call_key(const std::vector<ListingPush> &members) {
  if (members.size() == 1) {
    const std::string &k = members[0].idempotency_key;
    return literal_safe(k) ? k : uuid_from_name("stocksync/shopify/key\n" + k);
  }
  std::vector<const ListingPush *> sorted;
  for (const auto &m : members)
    sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(),
            [](const ListingPush *a, const ListingPush *b) { return a->external_id < b->external_id; });
  std::string name = "stocksync/shopify/call";
  for (const ListingPush *m : sorted)
    name += "\n" + m->external_id + "\t" + m->idempotency_key + "\t" + std::to_string(m->desired_qty) + "\t" +
            (m->previous_acked_qty ? std::to_string(*m->previous_acked_qty) : std::string("null"));
  return uuid_from_name(name);
}

ShopifyAdapter::ShopifyAdapter(ShopifyOptions options, boost::asio::io_context &io, HttpClient &http,
                               AdapterClock clock)
    : opts_(std::move(options)), io_(io), http_(http), clock_(std::move(clock)),
      bucket_(opts_.bucket_size, opts_.restore_rate, clock_.mono()), gate_(std::make_unique<Gate>(io)) {}

ShopifyAdapter::~ShopifyAdapter() { shutdown(); }

void ShopifyAdapter::shutdown() {
  stopped_ = true;
  gate_->timer.cancel();
  while (!waiting_.empty()) {
    auto go = std::move(waiting_.front().second);
    waiting_.pop_front();
    boost::asio::post(io_, [go = std::move(go)] { go(false); });
  }
}

// The key this listing's call uses: its own, or the replacement after
// Shopify refused it.
std::string ShopifyAdapter::key_for(const ListingPush &p) const {
  auto it = renewed_.find(p.idempotency_key);
  return it == renewed_.end() ? p.idempotency_key : it->second;
}

// Drops remembered calls older than Shopify's key retention, and the oldest
// when too many are kept.
void ShopifyAdapter::forget_calls() {
  double now = clock_.mono();
  for (auto it = calls_.begin(); it != calls_.end();)
    it = now - it->second->at > kRememberSeconds ? calls_.erase(it) : std::next(it);
  while (calls_.size() > kMaxRemembered) {
    auto oldest = std::min_element(calls_.begin(), calls_.end(),
                                   [](const auto &a, const auto &b) { return a.second->at < b.second->at; });
    calls_.erase(oldest);
  }
  if (renewed_.size() > kMaxRemembered)
    renewed_.clear();
}

// Waits until the cost bucket admits `cost` points, FIFO.
void ShopifyAdapter::admit(double cost, std::function<void(bool)> go) {
  if (stopped_) {
    boost::asio::post(io_, [go = std::move(go)] { go(false); });
    return;
  }
  waiting_.emplace_back(cost, std::move(go));
  pump();
}

void ShopifyAdapter::pump() {
  gate_->timer.cancel();
  double now = clock_.mono();
  while (!waiting_.empty() && !stopped_) {
    double cost = waiting_.front().first;
    double wait = bucket_.wait_seconds(now, cost);
    if (wait > 0) {
      std::weak_ptr<char> alive = alive_;
      gate_->timer.expires_after(std::chrono::milliseconds(static_cast<long long>(std::ceil(wait * 1000))));
      gate_->timer.async_wait([this, alive](const boost::system::error_code &ec) {
        if (!ec && !alive.expired())
          pump();
      });
      return;
    }
    bucket_.reserve(now, cost);
    auto go = std::move(waiting_.front().second);
    waiting_.pop_front();
    boost::asio::post(io_, [go = std::move(go)] { go(true); });
  }
}

void ShopifyAdapter::push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) {
  auto job = start_push(io_, std::move(batch), std::move(done), stopped_);
  if (!job)
    return;
  forget_calls();
  // True retries of a call whose answer was lost go back as that call;
  // everything else is new.
  std::map<std::shared_ptr<Recorded>, std::vector<std::size_t>> replays;
  std::vector<std::size_t> fresh;
  std::vector<ShopifyLevelId> levels(job->size());
  std::map<std::string, std::string> level_owner;  // item|location -> external id
  for (std::size_t i = 0; i < job->size(); ++i) {
    const ListingPush &p = job->item(i);
    std::string err;
    auto lv = parse_shopify_listing_id(p.external_id, opts_.location_id, err);
    if (!lv) {
      job->set(i, permanent_result(p, err));
      continue;
    }
    auto [owner, inserted] = level_owner.emplace(lv->item + "|" + lv->location, p.external_id);
    if (!inserted) {
      job->set(i, permanent_result(p, "listing \"" + clip(p.external_id, 80) + "\" names the same Shopify level as \"" +
                                          clip(owner->second, 80) + "\" (one listing per item and location)"));
      continue;
    }
    levels[i] = *lv;
    auto rec = calls_.find(p.idempotency_key);
    if (rec != calls_.end()) {
      auto &ms = rec->second->members;
      bool same = std::any_of(ms.begin(), ms.end(), [&](const ListingPush &m) {
        return m.external_id == p.external_id && m.desired_qty == p.desired_qty &&
               m.previous_acked_qty == p.previous_acked_qty;
      });
      if (same) {
        replays[rec->second].push_back(i);
        continue;
      }
      calls_.erase(rec);  // the key now stands for something else: not a true retry
    }
    fresh.push_back(i);
  }
  for (auto &[rec, idx] : replays) {
    auto call = std::make_shared<Call>();
    call->members = rec->members;
    call->levels = rec->levels;
    call->key = rec->key;
    call->body = rec->body;
    call->record = rec;
    call->slot.resize(call->members.size());
    for (std::size_t m = 0; m < call->members.size(); ++m)
      for (auto i : idx)
        if (job->item(i).external_id == call->members[m].external_id)
          call->slot[m] = i;
    if (rec->answer)
      map_answer(job, call, *rec->answer);  // Shopify would answer the same
    else
      send_call(job, call);
  }
  for (std::size_t at = 0; at < fresh.size(); at += opts_.batch) {
    auto call = std::make_shared<Call>();
    std::vector<ListingPush> keyed;
    json qs = json::array();
    for (std::size_t k = at; k < std::min(fresh.size(), at + opts_.batch); ++k) {
      std::size_t i = fresh[k];
      const ListingPush &p = job->item(i);
      call->members.push_back(p);
      call->levels.push_back(levels[i]);
      call->slot.push_back(i);
      keyed.push_back(p);
      keyed.back().idempotency_key = key_for(p);
      qs.push_back({{"inventoryItemId", levels[i].item},
                    {"locationId", levels[i].location},
                    {"quantity", std::max(0, p.desired_qty)},
                    {"changeFromQuantity", p.previous_acked_qty ? json(*p.previous_acked_qty) : json(nullptr)}});
    }
    call->key = shopify_call_key(keyed);
    json input = {{"name", "available"},
                  {"reason", opts_.reason},
                  {"referenceDocumentUri", "gid://stocksync/Push/" + call->key},
                  {"quantities", std::move(qs)}};
    call->body = json{{"query", set_document(call->key)}, {"variables", {{"input", std::move(input)}}}}.dump();
    send_call(job, call);
  }
}

void ShopifyAdapter::send_call(const std::shared_ptr<PushJob> &job, std::shared_ptr<Call> call) {
  std::weak_ptr<char> alive = alive_;
  admit(kMutationCost, [this, alive, job, call](bool admitted) {
    if (!admitted || alive.expired()) {
      for (auto &s : call->slot)
        if (s)
          job->set(*s, retryable_result(job->item(*s), "adapter shut down"));
      return;
    }
    HttpRequest req = graphql_request(opts_, call->body);
    http_.send(std::move(req), [this, alive, job, call](HttpResponse r) {
      if (alive.expired()) {
        for (auto &s : call->slot)
          if (s)
            job->set(*s, retryable_result(job->item(*s), "adapter shut down", std::nullopt, false, true));
        return;
      }
      on_call(job, call, r, kMutationCost);
    });
  });
}

// An inventorySetQuantities answer: HTTP level, top-level errors, then the payload.
void ShopifyAdapter::on_call(const std::shared_ptr<PushJob> &job, const std::shared_ptr<Call> &call,
                             const HttpResponse &r, double cost) {
  std::string parse_error;
  ShopifyQueryCost qc;
  std::optional<json> body = read_answer(r, parse_error, qc);
  bucket_.complete(clock_.mono(), cost, qc);
  pump();
  auto all = [&](auto &&make) {
    for (std::size_t m = 0; m < call->members.size(); ++m)
      if (call->slot[m])
        job->set(*call->slot[m], make(call->members[m]));
  };
  // The answer is lost: keep the call for its listings' true retries.
  auto remember = [&] {
    if (!call->record) {
      call->record = std::make_shared<Recorded>();
      call->record->members = call->members;
      call->record->levels = call->levels;
      call->record->key = call->key;
      call->record->body = call->body;
      call->record->at = clock_.mono();
    }
    for (const auto &m : call->members)
      calls_[m.idempotency_key] = call->record;
  };
  // A definite refusal: nothing of this call was applied, forget it.
  auto forget = [&] {
    for (const auto &m : call->members) {
      auto it = calls_.find(m.idempotency_key);
      if (it != calls_.end() && it->second == call->record)
        calls_.erase(it);
    }
  };
  if (r.transport_failed()) {
    remember();
    return all([&](const ListingPush &p) { return retryable_result(p, r.error, std::nullopt, false, true); });
  }
  auto wait = retry_after(r, static_cast<std::time_t>(clock_.wall()));
  if (r.status == 401) {
    forget();
    std::string msg = http_error_text(r) + " (Shopify refused the access token: check credentials.access_token)";
    return all([&](const ListingPush &p) { return permanent_result(p, msg); });
  }
  if (r.status == 403) {
    forget();
    std::string msg = http_error_text(r) + " (the app needs the write_inventory scope and staff permission)";
    return all([&](const ListingPush &p) { return permanent_result(p, msg); });
  }
  if (r.status == 429) {
    std::string msg = http_error_text(r);
    return all([&](const ListingPush &p) { return retryable_result(p, msg, wait, true); });
  }
  if (classify(r) == ResponseClass::retryable) {
    remember();  // a 5xx may come after the change was applied
    std::string msg = http_error_text(r);
    return all([&](const ListingPush &p) { return retryable_result(p, msg, wait, false, true); });
  }
  if (classify(r) == ResponseClass::permanent) {
    forget();
    std::string msg = http_error_text(r);
    return all([&](const ListingPush &p) { return permanent_result(p, msg); });
  }
  if (!body || !body->is_object()) {
    remember();
    std::string msg = "unreadable inventorySetQuantities answer: " + parse_error;
    return all([&](const ListingPush &p) { return retryable_result(p, msg, std::nullopt, false, true); });
  }
  if (qc.throttled) {
    // §1.5: HTTP 200, no data; wait ceil((requested - currentlyAvailable) / restoreRate).
    ShopifyThrottleStatus st =
        qc.status.value_or(ShopifyThrottleStatus{bucket_.maximum(), 0, bucket_.restore_rate()});
    double secs = ShopifyCostBucket::throttled_wait_seconds(qc.requested.value_or(cost), st);
    auto after = std::chrono::milliseconds(static_cast<long long>(secs * 1000));
    std::string msg = "THROTTLED: Shopify's cost bucket has " + std::to_string(static_cast<long long>(st.currently_available)) +
                      " of " + std::to_string(static_cast<long long>(qc.requested.value_or(cost))) + " points";
    return all([&](const ListingPush &p) { return retryable_result(p, msg, after, true); });
  }
  const json *payload = nullptr;
  auto data = body->find("data");
  if (data != body->end() && data->is_object()) {
    auto it = data->find("inventorySetQuantities");
    if (it != data->end() && it->is_object())
      payload = &*it;
  }
  if (!payload) {
    std::string msg = clip("inventorySetQuantities refused: " + top_errors_text(*body));
    if (has_error_code(*body, "INTERNAL_SERVER_ERROR")) {
      remember();
      return all([&](const ListingPush &p) { return retryable_result(p, msg, std::nullopt, false, true); });
    }
    forget();
    return all([&](const ListingPush &p) { return permanent_result(p, msg); });
  }
  // A definite answer: Shopify gives the same one to a true retry.
  bool concurrent = false;
  if (payload->contains("userErrors") && (*payload)["userErrors"].is_array())
    for (const auto &e : (*payload)["userErrors"])
      concurrent = concurrent || str(e, "code") == "IDEMPOTENCY_CONCURRENT_REQUEST";
  if (call->record && !concurrent)
    call->record->answer = *payload;
  map_answer(job, call, *payload);
}

// Maps data.inventorySetQuantities to each listing of the call present in this push.
void ShopifyAdapter::map_answer(const std::shared_ptr<PushJob> &job, const std::shared_ptr<Call> &call,
                                const json &payload) {
  const std::size_t n = call->members.size();
  std::vector<std::string> per_index(n);
  std::set<std::size_t> stale;
  std::string global, summary;
  bool concurrent = false, renew = false;
  const json empty = json::array();
  const json &errors = payload.contains("userErrors") && payload["userErrors"].is_array() ? payload["userErrors"] : empty;
  for (const auto &e : errors) {
    std::string code = str(e, "code"), text = code + ": " + str(e, "message");
    auto idx = quantity_index(e.is_object() ? e.value("field", json()) : json(), n);
    if (summary.size() < 200)
      summary += (summary.empty() ? "" : "; ") + text + (idx ? " (quantity " + std::to_string(*idx) + ")" : "");
    if ((code == "CHANGE_FROM_QUANTITY_STALE" || code == "COMPARE_QUANTITY_STALE") && idx)
      stale.insert(*idx);
    else if (code == "IDEMPOTENCY_CONCURRENT_REQUEST")
      concurrent = true;
    else if (code == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH" || code == "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED")
      renew = true;
    else if (idx)
      per_index[*idx] += (per_index[*idx].empty() ? "" : "; ") + text;
    else
      global += (global.empty() ? "" : "; ") + text;
  }
  auto present = [&](std::size_t m) { return call->slot[m].has_value(); };
  auto set = [&](std::size_t m, PushResult r) { job->set(*call->slot[m], std::move(r)); };
  if (concurrent) {
    // The same key is still being answered (our earlier attempt): not applied by this one.
    for (std::size_t m = 0; m < n; ++m)
      if (present(m))
        set(m, retryable_result(call->members[m], clip(summary), std::chrono::milliseconds(1000)));
    return;
  }
  // Definite: this push's listings are answered; their keys are done here.
  for (std::size_t m = 0; m < n; ++m)
    if (present(m)) {
      auto it = calls_.find(call->members[m].idempotency_key);
      if (it != calls_.end() && it->second == call->record)
        calls_.erase(it);
    }
  if (renew) {
    // Shopify will not run this key again; the next attempt of each listing
    // is a distinct operation under a derived key (compare-and-set still guards it).
    for (std::size_t m = 0; m < n; ++m) {
      const std::string &k = call->members[m].idempotency_key;
      renewed_[k] = uuid_from_name("stocksync/shopify/renewed\n" + key_for(call->members[m]));
      if (present(m))
        set(m, retryable_result(call->members[m], clip(summary + " (a new idempotency key is used next)")));
    }
    return;
  }
  if (errors.empty()) {
    for (std::size_t m = 0; m < n; ++m) {
      if (!present(m))
        continue;
      const ListingPush &p = call->members[m];
      int qty = std::max(0, p.desired_qty);
      const json *group = payload.contains("inventoryAdjustmentGroup") ? &payload["inventoryAdjustmentGroup"] : nullptr;
      if (group && group->is_object() && group->contains("changes") && (*group)["changes"].is_array())
        for (const auto &c : (*group)["changes"])
          if (str(c, "name") == "available" && c.contains("item") && str(c["item"], "id") == call->levels[m].item &&
              c.contains("location") && str(c["location"], "id") == call->levels[m].location &&
              c.contains("quantityAfterChange") && c["quantityAfterChange"].is_number_integer())
            qty = static_cast<int>(std::clamp<long long>(c["quantityAfterChange"].get<long long>(), 0, 1LL << 30));
      set(m, acked_result(p, qty));
    }
    return;
  }
  std::vector<std::size_t> stale_members;
  for (std::size_t m = 0; m < n; ++m) {
    if (!present(m))
      continue;
    const ListingPush &p = call->members[m];
    if (!per_index[m].empty())
      set(m, permanent_result(p, per_index[m]));
    else if (!global.empty())
      set(m, permanent_result(p, "inventorySetQuantities refused: " + global));
    else if (stale.count(m))
      stale_members.push_back(m);
    else {
      // Nothing in the call was applied; this listing was not the cause.
      PushResult r = retryable_result(p, clip("not applied: Shopify refused the call for other listings: " + summary),
                                      std::chrono::milliseconds(0));
      r.counts_as_attempt = false;
      set(m, std::move(r));
    }
  }
  if (stale_members.empty())
    return;
  // CHANGE_FROM_QUANTITY_STALE: the channel sold (or was edited) since our
  // last acknowledged value. Read what it shows now, so the core re-decides
  // from that instead of erasing the sale.
  std::vector<ShopifyLevelId> lv;
  for (auto m : stale_members)
    lv.push_back(call->levels[m]);
  read_quantities(std::move(lv), [job, call, stale_members](Quantities q, std::vector<std::string> errs) {
    for (std::size_t k = 0; k < stale_members.size(); ++k) {
      std::size_t m = stale_members[k];
      const ListingPush &p = call->members[m];
      PushResult r;
      r.outcome = PushOutcome::stale;
      r.channel_qty = q[k];
      std::string expected = p.previous_acked_qty ? std::to_string(*p.previous_acked_qty) : std::string("null");
      r.message = q[k] ? "CHANGE_FROM_QUANTITY_STALE: Shopify shows " + std::to_string(*q[k]) + ", expected " + expected
                       : clip("CHANGE_FROM_QUANTITY_STALE (expected " + expected + "); reading the level failed: " +
                              errs[k]);
      job->set(*call->slot[m], std::move(r));
    }
  });
}

void ShopifyAdapter::read_levels(std::vector<std::string> external_ids,
                                 std::function<void(std::vector<LevelReading>)> done) {
  auto out = std::make_shared<std::vector<LevelReading>>();
  std::vector<ShopifyLevelId> levels;
  std::vector<std::size_t> where;
  for (auto &id : external_ids) {
    LevelReading lr;
    lr.external_id = id;
    std::string err;
    auto lv = parse_shopify_listing_id(id, opts_.location_id, err);
    if (!lv)
      lr.error = err;
    else {
      levels.push_back(*lv);
      where.push_back(out->size());
    }
    out->push_back(std::move(lr));
  }
  if (levels.empty() || stopped_) {
    for (auto &lr : *out)
      if (lr.error.empty())
        lr.error = "adapter shut down";
    boost::asio::post(io_, [out, done = std::move(done)] { done(std::move(*out)); });
    return;
  }
  read_quantities(std::move(levels), [this, out, where, done = std::move(done)](Quantities q,
                                                                               std::vector<std::string> errs) {
    for (std::size_t k = 0; k < where.size(); ++k) {
      (*out)[where[k]].quantity = q[k];
      (*out)[where[k]].error = errs[k];
    }
    boost::asio::post(io_, [out, done] { done(std::move(*out)); });
  });
}

// Reads `available` for each level, in chunks; done once, from the io_context.
void ShopifyAdapter::read_quantities(std::vector<ShopifyLevelId> levels, QuantitiesDone done) {
  struct Gather {
    Quantities q;
    std::vector<std::string> errs;
    std::size_t pending = 0;
    QuantitiesDone done;
  };
  auto g = std::make_shared<Gather>();
  g->q.resize(levels.size());
  g->errs.resize(levels.size());
  g->done = std::move(done);
  g->pending = (levels.size() + kReadChunk - 1) / kReadChunk;
  if (g->pending == 0) {
    boost::asio::post(io_, [g] { g->done({}, {}); });
    return;
  }
  for (std::size_t at = 0; at < levels.size(); at += kReadChunk) {
    std::vector<ShopifyLevelId> chunk(levels.begin() + static_cast<long>(at),
                                      levels.begin() + static_cast<long>(std::min(levels.size(), at + kReadChunk)));
    read_chunk(std::move(chunk), [g, at](Quantities q, std::vector<std::string> errs) {
      for (std::size_t k = 0; k < q.size(); ++k) {
        g->q[at + k] = q[k];
        g->errs[at + k] = errs[k];
      }
      if (--g->pending == 0)
        g->done(std::move(g->q), std::move(g->errs));
    });
  }
}

// One query, an alias per level:
//   l0: inventoryItem(id: "gid://shopify/InventoryItem/1") {
//         inventoryLevel(locationId: "gid://shopify/Location/2") {
//           quantities(names: ["available"]) { name quantity } } }
// The ids are digits checked by parse_shopify_listing_id, safe as literals.
void ShopifyAdapter::read_chunk(std::vector<ShopifyLevelId> levels, QuantitiesDone done) {
  std::string q = "query StocksyncLevels {";
  for (std::size_t i = 0; i < levels.size(); ++i)
    q += " l" + std::to_string(i) + ": inventoryItem(id: \"" + levels[i].item + "\") { inventoryLevel(locationId: \"" +
         levels[i].location + "\") { quantities(names: [\"available\"]) { name quantity } } }";
  q += " }";
  double cost = kReadCostPerLevel * static_cast<double>(levels.size());
  std::size_t n = levels.size();
  auto fail_all = [n](const std::string &why) {
    return std::make_pair(Quantities(n), std::vector<std::string>(n, clip(why)));
  };
  std::weak_ptr<char> alive = alive_;
  admit(cost, [this, alive, q = std::move(q), cost, n, fail_all, done = std::move(done)](bool admitted) mutable {
    if (!admitted || alive.expired()) {
      auto [qs, es] = fail_all("adapter shut down");
      return done(std::move(qs), std::move(es));
    }
    HttpRequest req = graphql_request(opts_, json{{"query", q}}.dump());
    http_.send(std::move(req), [this, alive, cost, n, fail_all, done = std::move(done)](HttpResponse r) mutable {
      if (alive.expired()) {
        auto [qs, es] = fail_all("adapter shut down");
        return done(std::move(qs), std::move(es));
      }
      std::string perr;
      ShopifyQueryCost qc;
      std::optional<json> body = read_answer(r, perr, qc);
      bucket_.complete(clock_.mono(), cost, qc);
      pump();
      std::string why;
      if (r.transport_failed())
        why = "reading the level failed: " + r.error;
      else if (!r.success())
        why = "reading the level failed: " + http_error_text(r);
      else if (!body || !body->is_object())
        why = "unreadable inventory level answer: " + perr;
      else if (qc.throttled)
        why = "reading the level was THROTTLED";
      else if (!body->contains("data") || !(*body)["data"].is_object())
        why = "reading the level failed: " + top_errors_text(*body);
      if (!why.empty()) {
        auto [qs, es] = fail_all(why);
        return done(std::move(qs), std::move(es));
      }
      const json &data = (*body)["data"];
      Quantities qs(n);
      std::vector<std::string> es(n);
      for (std::size_t i = 0; i < n; ++i) {
        auto it = data.find("l" + std::to_string(i));
        if (it == data.end() || !it->is_object()) {
          es[i] = "Shopify knows no such inventory item";
          continue;
        }
        auto level = it->find("inventoryLevel");
        if (level == it->end() || !level->is_object()) {
          es[i] = "the inventory item is not stocked at that location";
          continue;
        }
        auto quants = level->find("quantities");
        if (quants != level->end() && quants->is_array())
          for (const auto &x : *quants)
            if (str(x, "name") == "available" && x.contains("quantity") && x["quantity"].is_number_integer())
              qs[i] = static_cast<int>(std::clamp<long long>(x["quantity"].get<long long>(), -(1LL << 30), 1LL << 30));
        if (!qs[i])
          es[i] = "no available quantity in the answer";
      }
      done(std::move(qs), std::move(es));
    });
  });
}

std::unique_ptr<ChannelAdapter> make_shopify_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error) {
  return make_adapter_from_config<ShopifyAdapter, ShopifyOptions>(cfg, env, error);
}

}  // namespace stocksync::worker
