// eBay bulkUpdatePriceQuantity adapter; see ebay.hpp.
#include "adapters/ebay.hpp"

#include "http/bounded_json.hpp"
#include "http/classify.hpp"
#include "util/crypto.hpp"

#include <nlohmann/json.hpp>

#include <ctime>
#include <set>

namespace stocksync::worker {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxEntries = 25;  // requests[] per call (§3.3)
constexpr std::size_t kMaxOffers = 25;   // offers per call (§3.3)
constexpr long long kRevisionLimitErrorId = 25025;  // as the simulator answers; eBay's id unverified

// "HTTP 400 25709: Invalid value for requests." from an eBay error container
// ({"errors": [{"errorId", "domain", "category", "message", ...}]}, §3.7).
std::string ebay_errors_text(const json &errors) {
  std::string out;
  if (!errors.is_array())
    return out;
  for (const auto &e : errors) {
    if (!e.is_object())
      continue;
    if (!out.empty())
      out += "; ";
    auto id = e.find("errorId");
    out += (id != e.end() && id->is_number_integer() ? std::to_string(id->get<long long>()) : std::string("?")) +
           ": " + e.value("message", std::string());
  }
  return out;
}

std::string ebay_error_text(const HttpResponse &r) {
  std::string out = "HTTP " + std::to_string(r.status);
  auto j = parse_bounded_json(r.body);
  if (j && j->is_object() && j->contains("errors"))
    out += " " + ebay_errors_text((*j)["errors"]);
  return clip(out);
}

bool has_error_id(const json &errors, long long id) {
  if (!errors.is_array())
    return false;
  for (const auto &e : errors)
    if (e.is_object() && e.contains("errorId") && e["errorId"].is_number_integer() &&
        e["errorId"].get<long long>() == id)
      return true;
  return false;
}

}  // namespace

// One bulk call: which items of the job it carries.
struct EbayAdapter::Call {
  std::shared_ptr<PushJob> job;
  std::vector<std::size_t> items;
  std::shared_ptr<std::vector<EbayListingId>> ids;
};

std::optional<EbayListingId> parse_ebay_listing_id(const std::string &external_id) {
  EbayListingId id;
  auto bar = external_id.rfind('|');
  id.sku = external_id.substr(0, bar);
  if (id.sku.empty() || id.sku.size() > 50)  // eBay SKUs are at most 50 characters
    return std::nullopt;
  if (bar == std::string::npos)
    return id;
  std::string rest = external_id.substr(bar + 1);
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    auto comma = rest.find(',', pos);
    if (comma == std::string::npos)
      comma = rest.size();
    std::string offer = rest.substr(pos, comma - pos);
    if (offer.empty() || offer.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    id.offers.push_back(offer);
    pos = comma + 1;
  }
  if (id.offers.empty() || id.offers.size() > kMaxOffers)
    return std::nullopt;
  id.offers_known = true;
  return id;
}

namespace {

// floor(a / b) for b > 0, also for negative a.
std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && (a < 0)); }

// Midnight UTC of the n-th Sunday of month m (1 to 12) in the UTC year of
// unix_s (timegm() also gives the weekday of the first of the month).
std::int64_t nth_sunday_utc(std::int64_t unix_s, int m, int n) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm now{};
  gmtime_r(&t, &now);
  std::tm first{};
  first.tm_year = now.tm_year;
  first.tm_mon = m - 1;
  first.tm_mday = 1;
  std::int64_t day1 = timegm(&first);
  return day1 + static_cast<std::int64_t>((7 - first.tm_wday) % 7 + 7 * (n - 1)) * 86400;
}

constexpr std::int64_t kPst = -8 * 3600, kPdt = -7 * 3600;

}  // namespace

// US Pacific time (rules since 2007): PDT (UTC-7) from the second Sunday of
// March at 02:00 PST (10:00 UTC) to the first Sunday of November at 02:00 PDT
// (09:00 UTC); PST (UTC-8) otherwise. The transitions are months away from a
// new year, so the UTC year is the local year for both.
std::int64_t EbayRevisionCounter::pacific_utc_offset_s(std::int64_t unix_s) {
  std::int64_t dst_start = nth_sunday_utc(unix_s, 3, 2) + 10 * 3600;
  std::int64_t dst_end = nth_sunday_utc(unix_s, 11, 1) + 9 * 3600;
  return unix_s >= dst_start && unix_s < dst_end ? kPdt : kPst;
}

long long EbayRevisionCounter::pacific_day(std::int64_t unix_s) {
  return static_cast<long long>(floor_div(unix_s + pacific_utc_offset_s(unix_s), 86400));
}

// The next local midnight is never inside a transition (they are at 02:00), so
// it is 08:00 UTC that day, or 07:00 UTC if that day is in daylight time.
std::int64_t EbayRevisionCounter::seconds_to_next_day(std::int64_t unix_s) {
  std::int64_t next = (static_cast<std::int64_t>(pacific_day(unix_s)) + 1) * 86400 - kPst;
  if (pacific_utc_offset_s(next) == kPdt)
    next -= 3600;
  return next - unix_s;
}

std::int64_t EbayRevisionCounter::seconds_to_reset(std::int64_t unix_s) {
  return seconds_to_next_day(unix_s - kResetDelayS);
}

void EbayRevisionCounter::roll(std::int64_t unix_s) {
  long long d = pacific_day(unix_s - kResetDelayS);
  if (d != day_) {
    day_ = d;
    counts_.clear();
  }
}

bool EbayRevisionCounter::exhausted(const std::string &listing, std::int64_t unix_s) {
  return count(listing, unix_s) >= limit_;
}

void EbayRevisionCounter::add(const std::string &listing, std::int64_t unix_s) {
  roll(unix_s);
  ++counts_[listing];
}

void EbayRevisionCounter::set_exhausted(const std::string &listing, std::int64_t unix_s) {
  roll(unix_s);
  counts_[listing] = std::max(counts_[listing], limit_);
}

long long EbayRevisionCounter::count(const std::string &listing, std::int64_t unix_s) {
  roll(unix_s);
  auto it = counts_.find(listing);
  return it == counts_.end() ? 0 : it->second;
}

std::optional<EbayOptions> EbayOptions::from_config(const ChannelConfig &cfg, std::string &error) {
  EbayOptions o;
  o.code = cfg.code;
  o.api_base = strip_trailing_slash(cfg.base_url.empty() ? o.api_base : cfg.base_url);
  o.token_url = option_or(cfg, "token_url", o.api_base + "/identity/v1/oauth2/token");
  o.scope = option_or(cfg, "scope", o.scope);
  o.access_token = credential_or(cfg, "access_token");
  o.client_id = credential_or(cfg, "client_id");
  o.client_secret = credential_or(cfg, "client_secret");
  o.refresh_token = credential_or(cfg, "refresh_token");
  auto bad = config_error(cfg, error);
  if (o.access_token.empty() && (o.client_id.empty() || o.client_secret.empty()))
    return bad("credentials access_token, or client_id and client_secret (with refresh_token), are required for ebay");
  if (!positive_option(cfg, "revisions_per_day", o.revisions_per_day, error))
    return std::nullopt;
  for (const std::string *u : {&o.api_base, &o.token_url})
    if (!is_https(*u) && !is_loopback_http(*u))
      return bad("\"" + *u + "\" must be https (plain http only to a loopback simulator)");
  o.rate = cfg.rate_per_sec > 0 ? cfg.rate_per_sec : o.rate;
  o.burst = cfg.burst > 0 ? cfg.burst : o.burst;
  o.batch = batch_within(cfg, kMaxEntries);
  if (cfg.max_in_flight > 0)
    o.in_flight = static_cast<std::size_t>(cfg.max_in_flight);
  o.timeout = cfg.request_timeout;
  return o;
}

EbayAdapter::EbayAdapter(EbayOptions options, boost::asio::io_context &io, HttpClient &http, AdapterClock clock)
    : opts_(std::move(options)), io_(io), http_(http), clock_(std::move(clock)),
      gate_(io, opts_.rate, opts_.burst, clock_.mono),
      tokens_([this](std::function<void(TokenGrant)> cb) { fetch_token(std::move(cb)); }, clock_.mono, 60),
      revisions_(opts_.revisions_per_day) {
  if (!opts_.access_token.empty())
    tokens_.set_static(opts_.access_token);
}

EbayAdapter::~EbayAdapter() { shutdown(); }

void EbayAdapter::shutdown() {
  stopped_ = true;
  gate_.cancel();
}

// OAuth refresh (§3.1): Basic client credentials, form body with the refresh
// token (user token, 2 h) or the client-credentials grant.
void EbayAdapter::fetch_token(std::function<void(TokenGrant)> cb) {
  HttpRequest req;
  req.method = "POST";
  req.url = opts_.token_url;
  req.timeout = opts_.timeout;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Authorization", "Basic " + base64_encode(opts_.client_id + ":" + opts_.client_secret)}};
  if (!opts_.refresh_token.empty())
    req.body = form_encode(
        {{"grant_type", "refresh_token"}, {"refresh_token", opts_.refresh_token}, {"scope", opts_.scope}});
  else
    req.body = form_encode({{"grant_type", "client_credentials"}, {"scope", opts_.scope}});
  http_.send(std::move(req), [cb = std::move(cb)](HttpResponse r) {
    TokenGrant g;
    if (r.transport_failed()) {
      g.error = "eBay token request failed: " + r.error;
      g.retryable = true;
      return cb(g);
    }
    auto j = parse_bounded_json(r.body);
    if (r.status == 200 && j && j->is_object() && j->contains("access_token") && (*j)["access_token"].is_string() &&
        (*j)["access_token"].get<std::string>().size() <= 8192) {
      g.access_token = (*j)["access_token"].get<std::string>();
      g.expires_in_s = expires_in_or(*j, 7200);
      return cb(g);
    }
    refuse_token(g, r, j, "eBay");
    cb(g);
  });
}

// Orders polling and reconciliation reads (channel_adapter.hpp): the user
// token as Bearer, refreshed once after a 401.
void EbayAdapter::authorized_get(const std::string &path_and_query, std::chrono::milliseconds timeout,
                                 std::function<void(HttpResponse)> done) {
  TokenGet{http_, tokens_, alive_,
           [](HttpRequest &r, const std::string &token) { r.headers.emplace_back("Authorization", "Bearer " + token); },
           [](const HttpResponse &r) { return r.status == 401; }}
      .send(json_get(opts_.api_base + path_and_query, timeout), std::move(done));
}

void EbayAdapter::with_token(std::function<void(const TokenGrant &)> cb) { tokens_.get(std::move(cb)); }

void EbayAdapter::push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) {
  auto job = start_push(io_, std::move(batch), std::move(done), stopped_);
  if (!job)
    return;
  auto ids = std::make_shared<std::vector<EbayListingId>>(job->size());
  std::vector<std::size_t> todo;
  std::int64_t now = clock_.wall();
  for (std::size_t i = 0; i < job->size(); ++i) {
    const ListingPush &p = job->item(i);
    auto id = parse_ebay_listing_id(p.external_id);
    if (!id) {
      job->set(i, permanent_result(p, "bad eBay listing id \"" + clip(p.external_id, 80) +
                                          "\": expected SKU or SKU|offerId[,offerId]"));
      continue;
    }
    if (revisions_.exhausted(p.external_id, now)) {
      auto wait = std::chrono::seconds(EbayRevisionCounter::seconds_to_reset(now));
      job->set(i, retryable_result(p, "250 revisions a day reached for this listing; deferred to the next Pacific day",
                                   std::chrono::duration_cast<std::chrono::milliseconds>(wait), true));
      continue;
    }
    if (!id->offers_known) {
      auto c = offer_cache_.find(id->sku);
      if (c != offer_cache_.end()) {
        id->offers = c->second;
        id->offers_known = true;
        id->offers_cached = true;
      }
    }
    (*ids)[i] = std::move(*id);
    todo.push_back(i);
  }
  resolve_offers(job, std::move(todo), ids);
}

// Reads the offers of plain-SKU listings (GET offer?sku=), then sends.
void EbayAdapter::resolve_offers(const std::shared_ptr<PushJob> &job, std::vector<std::size_t> items,
                                 std::shared_ptr<std::vector<EbayListingId>> ids) {
  std::map<std::string, std::vector<std::size_t>> lookups;  // sku -> items waiting for it
  for (auto i : items)
    if (!(*ids)[i].offers_known)
      lookups[(*ids)[i].sku].push_back(i);
  if (lookups.empty())
    return send_calls(job, items, ids);
  auto pending = std::make_shared<std::size_t>(lookups.size());
  auto all = std::make_shared<std::vector<std::size_t>>(std::move(items));
  std::weak_ptr<char> alive = alive_;
  for (auto &[sku, waiting] : lookups) {
    auto finish_one = [this, alive, job, ids, all, pending]() {
      if (--*pending == 0 && !alive.expired())
        send_calls(job, *all, ids);
    };
    auto fail = [job, waiting = waiting, finish_one](const PushResult &r) {
      for (auto i : waiting)
        job->set(i, r);
      finish_one();
    };
    gate_.acquire([this, alive, job, ids, sku = sku, waiting = waiting, fail, finish_one](bool admitted) {
      if (!admitted || alive.expired())
        return fail(retryable_result(job->item(waiting[0]), "adapter shut down"));
      with_token([this, alive, job, ids, sku, waiting, fail, finish_one](const TokenGrant &g) {
        if (alive.expired())
          return fail(retryable_result(job->item(waiting[0]), "adapter shut down"));
        if (g.access_token.empty())
          return fail(g.retryable ? retryable_result(job->item(waiting[0]), g.error)
                                  : permanent_result(job->item(waiting[0]), g.error));
        HttpRequest req;
        req.url = opts_.api_base + "/sell/inventory/v1/offer?sku=" + percent_encode(sku);
        req.timeout = opts_.timeout;
        req.headers = {{"Authorization", "Bearer " + g.access_token}, {"Accept", "application/json"}};
        http_.send(std::move(req), [this, alive, job, ids, sku, waiting, fail, finish_one](HttpResponse r) {
          if (alive.expired())
            return fail(retryable_result(job->item(waiting[0]), "adapter shut down"));
          auto j = r.status == 200 ? parse_bounded_json(r.body) : std::nullopt;
          if (!j || !j->is_object()) {
            std::string msg = "offer lookup for " + clip(sku, 60) + ": " + (r.error.empty() ? ebay_error_text(r) : r.error);
            return fail(classify(r) == ResponseClass::permanent ? permanent_result(job->item(waiting[0]), msg)
                                                                 : retryable_result(job->item(waiting[0]), msg));
          }
          std::vector<std::string> offers;
          auto arr = j->find("offers");
          if (arr != j->end() && arr->is_array())
            for (const auto &o : *arr) {
              // Only published offers take bulkUpdatePriceQuantity (§3.2).
              if (!o.is_object() || o.value("status", std::string("PUBLISHED")) != "PUBLISHED")
                continue;
              if (o.contains("offerId") && o["offerId"].is_string() && offers.size() < kMaxOffers)
                offers.push_back(o["offerId"].get<std::string>());
            }
          offer_cache_[sku] = offers;
          for (auto i : waiting) {
            (*ids)[i].offers = offers;
            (*ids)[i].offers_known = true;
          }
          finish_one();
        });
      });
    });
  }
}

// Packs the items into calls of at most 25 entries and 25 offers each.
void EbayAdapter::send_calls(const std::shared_ptr<PushJob> &job, const std::vector<std::size_t> &items,
                             const std::shared_ptr<std::vector<EbayListingId>> &ids) {
  std::shared_ptr<Call> call;
  std::size_t offers = 0;
  for (auto i : items) {
    if (job->has_result(i))
      continue;
    std::size_t n = (*ids)[i].offers.size();
    if (!call || call->items.size() >= opts_.batch || offers + n > kMaxOffers) {
      if (call)
        submit(call, false);
      call = std::make_shared<Call>();
      call->job = job;
      call->ids = ids;
      offers = 0;
    }
    call->items.push_back(i);
    offers += n;
  }
  if (call)
    submit(call, false);
}

void EbayAdapter::submit(const std::shared_ptr<Call> &call, bool refreshed) {
  std::weak_ptr<char> alive = alive_;
  auto fail_all = [call](const std::string &msg, bool permanent) {
    for (auto i : call->items)
      call->job->set(i, permanent ? permanent_result(call->job->item(i), msg)
                                  : retryable_result(call->job->item(i), msg));
  };
  gate_.acquire([this, alive, call, refreshed, fail_all](bool admitted) {
    if (!admitted || alive.expired())
      return fail_all("adapter shut down", false);
    with_token([this, alive, call, refreshed, fail_all](const TokenGrant &g) {
      if (alive.expired())
        return fail_all("adapter shut down", false);
      if (g.access_token.empty())
        return fail_all(g.error, !g.retryable);
      json reqs = json::array();
      for (auto i : call->items) {
        const ListingPush &p = call->job->item(i);
        const EbayListingId &id = (*call->ids)[i];
        int q = std::max(0, p.desired_qty);
        json entry = {{"sku", id.sku}, {"shipToLocationAvailability", {{"quantity", q}}}};
        if (!id.offers.empty()) {
          json offers = json::array();
          for (const auto &o : id.offers)
            offers.push_back({{"offerId", o}, {"availableQuantity", q}});
          entry["offers"] = std::move(offers);
        }
        reqs.push_back(std::move(entry));
      }
      HttpRequest req;
      req.method = "POST";
      req.url = opts_.api_base + "/sell/inventory/v1/bulk_update_price_quantity";
      req.timeout = opts_.timeout;
      req.headers = {{"Authorization", "Bearer " + g.access_token},
                     {"Content-Type", "application/json"},
                     {"Accept", "application/json"}};
      req.body = json{{"requests", std::move(reqs)}}.dump();
      std::string token = g.access_token;
      http_.send(std::move(req), [this, alive, call, token, refreshed, fail_all](HttpResponse r) {
        if (alive.expired())
          return fail_all("adapter shut down", false);
        on_bulk(call, token, refreshed, r);
      });
    });
  });
}

// Maps a bulk answer to each listing (§3.2, §3.4, §3.7).
void EbayAdapter::on_bulk(const std::shared_ptr<Call> &call, const std::string &token, bool refreshed,
                          const HttpResponse &r) {
  PushJob &job = *call->job;
  std::int64_t now = clock_.wall();
  auto each = [&](auto &&fn) {
    for (auto i : call->items)
      fn(i, job.item(i));
  };
  if (r.transport_failed()) {
    // It may have been applied: count the revision, eBay certainly did.
    each([&](std::size_t i, const ListingPush &p) {
      revisions_.add(p.external_id, now);
      job.set(i, retryable_result(p, r.error, std::nullopt, false, true));
    });
    return;
  }
  if (r.status == 401) {
    if (!refreshed && !stopped_) {
      tokens_.invalidate(token);
      submit(call, true);
      return;
    }
    std::string msg = ebay_error_text(r) + " (after a token refresh)";
    each([&](std::size_t i, const ListingPush &p) { job.set(i, permanent_result(p, msg)); });
    return;
  }
  auto wait = retry_after(r, static_cast<std::time_t>(now));
  // A 429 is the application's call quota (errorId 2001): nothing gets
  // through until it resets, so hold the whole gate.
  if (r.status == 429)
    hold_gate(gate_, wait);
  if (r.status == 429 || classify(r) != ResponseClass::ok) {
    std::string msg = ebay_error_text(r);
    each([&](std::size_t i, const ListingPush &p) { job.set(i, failed_call_result(p, r, msg, wait)); });
    return;
  }
  std::string err;
  auto j = parse_bounded_json(r.body, &err);
  const json *responses = nullptr;
  if (j && j->is_object() && j->contains("responses") && (*j)["responses"].is_array())
    responses = &(*j)["responses"];
  // eBay answers every offer of an entry on its own (BulkPriceQuantityResponse,
  // §3.2): one PriceQuantityResponse per offer, with its offerId; an entry
  // without offers (only the inventory item's ship-to-location quantity) is
  // answered once, with the sku and no offerId. A listing is acknowledged only
  // when every part of it was: an offer that was refused keeps its old
  // availableQuantity, and eBay shows the smaller of the two levels on that
  // offer's marketplace, so taking the listing as applied would leave it wrong
  // until a reconciliation. Each response is used once (two listings may share
  // a SKU). An offer's answer is found by its offerId (unique in a call, §3.2),
  // with the sku checked when eBay gives it.
  std::vector<bool> used(responses ? responses->size() : 0, false);
  auto claim = [&](const std::string &sku, const std::string *offer) -> const json * {
    for (std::size_t k = 0; responses && k < responses->size(); ++k) {
      const json &e = (*responses)[k];
      if (used[k] || !e.is_object())
        continue;
      auto s = e.find("sku");
      bool has_sku = s != e.end() && s->is_string();
      if (has_sku ? s->get<std::string>() != sku : !offer)
        continue;
      auto o = e.find("offerId");
      std::string offer_id = o != e.end() && o->is_string() ? o->get<std::string>() : std::string();
      if (offer ? offer_id != *offer : !offer_id.empty())
        continue;
      used[k] = true;
      return &e;
    }
    return nullptr;
  };
  // The outcome of one part, worst last: a missing answer may have been
  // applied; a refusal for the daily revision limit defers to the next Pacific
  // day; any other 4xx is permanent.
  enum class Part { ok, missing, retryable, revision_limit, permanent };
  for (auto i : call->items) {
    const ListingPush &p = job.item(i);
    const EbayListingId &id = (*call->ids)[i];
    if (!responses) {
      job.set(i, retryable_result(p, "unreadable bulk answer: " + err, std::nullopt, false, true));
      continue;
    }
    std::vector<std::pair<std::string, const json *>> parts;  // what, its response
    for (const auto &o : id.offers)
      parts.emplace_back("offer " + o, claim(id.sku, &o));
    // The inventory item's own answer: required when no offer was sent; beside
    // offers eBay documents none, but one is taken into account if it comes.
    const json *item = claim(id.sku, nullptr);
    if (item || id.offers.empty())
      parts.emplace_back("inventory item", item);
    Part worst = Part::ok;
    bool any_ok = false, throttled = false;
    std::string msg;
    for (const auto &[what, resp] : parts) {
      Part part;
      std::string text;
      if (!resp) {
        part = Part::missing;
        text = "no answer for " + what + " of " + id.sku + " in the bulk answer";
      } else {
        long long status = resp->contains("statusCode") && (*resp)["statusCode"].is_number_integer()
                               ? (*resp)["statusCode"].get<long long>()
                               : 0;
        const json errors = resp->value("errors", json::array());
        if (status >= 200 && status < 300) {
          any_ok = true;
          continue;
        }
        part = has_error_id(errors, kRevisionLimitErrorId) ? Part::revision_limit
               : status == 429 || status >= 500            ? Part::retryable
                                                           : Part::permanent;
        throttled = throttled || status == 429;
        text = "eBay " + what + ": " + std::to_string(status) + " " + ebay_errors_text(errors);
      }
      worst = std::max(worst, part);
      msg += (msg.empty() ? "" : "; ") + text;
    }
    // eBay revised the listing if any part went through.
    if (any_ok)
      revisions_.add(p.external_id, now);
    msg = clip(msg);
    switch (worst) {
    case Part::ok:
      job.set(i, acked_result(p, std::max(0, p.desired_qty)));
      break;
    case Part::missing:
      job.set(i, retryable_result(p, msg, std::nullopt, false, true));
      break;
    case Part::retryable:
      job.set(i, retryable_result(p, msg, std::nullopt, throttled, any_ok));
      break;
    case Part::revision_limit: {
      revisions_.set_exhausted(p.external_id, now);
      auto next = std::chrono::seconds(EbayRevisionCounter::seconds_to_reset(now));
      job.set(i, retryable_result(p, msg, std::chrono::duration_cast<std::chrono::milliseconds>(next), true, any_ok));
      break;
    }
    case Part::permanent:
      if (id.offers_cached) {
        // The SKU's offers may have changed since they were looked up (an
        // offer ended, the item relisted): look them up again and retry
        // once before calling the refusal permanent.
        offer_cache_.erase(id.sku);
        job.set(i, retryable_result(p, msg + " (offers of " + clip(id.sku, 60) + " looked up again)", std::nullopt,
                                    false, any_ok));
      } else {
        job.set(i, permanent_result(p, msg));
      }
      break;
    }
  }
}

std::unique_ptr<ChannelAdapter> make_ebay_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error) {
  return make_adapter_from_config<EbayAdapter, EbayOptions>(cfg, env, error);
}

}  // namespace stocksync::worker
