// WooCommerce products/batch adapter; see woocommerce.hpp.
#include "adapters/woocommerce.hpp"

#include "http/bounded_json.hpp"
#include "http/classify.hpp"
#include "util/crypto.hpp"

#include <nlohmann/json.hpp>

#include <map>

namespace stocksync::worker {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxBatchItems = 100;  // create + update + delete per request (§4.3)

// "HTTP 413 woocommerce_rest_request_entity_too_large: Unable to accept ..." from
// the WP REST error shape {"code", "message", "data": {"status"}}.
std::string wp_error_text(const HttpResponse &r) {
  std::string out = "HTTP " + std::to_string(r.status);
  auto j = parse_bounded_json(r.body);
  if (j && j->is_object())
    out += " " + j->value("code", std::string()) + ": " + j->value("message", std::string());
  return clip(out);
}

// The N of "Unable to accept more than N items for this request." (§4.3).
std::optional<std::size_t> batch_limit_from_413(const HttpResponse &r) {
  auto j = parse_bounded_json(r.body);
  if (!j || !j->is_object())
    return std::nullopt;
  std::string msg = j->value("message", std::string());
  auto pos = msg.find("more than ");
  if (pos == std::string::npos)
    return std::nullopt;
  pos += 10;
  std::size_t n = 0, digits = 0;
  while (pos < msg.size() && msg[pos] >= '0' && msg[pos] <= '9' && digits < 6) {
    n = n * 10 + static_cast<std::size_t>(msg[pos++] - '0');
    ++digits;
  }
  if (digits == 0 || n == 0)
    return std::nullopt;
  return n;
}

// The id of a batch answer item as a string (WooCommerce answers numbers).
std::string item_id(const json &item) {
  auto id = item.find("id");
  if (id == item.end())
    return {};
  if (id->is_number_integer())
    return std::to_string(id->get<long long>());
  if (id->is_string())
    return id->get<std::string>();
  return {};
}

}  // namespace

std::optional<WooListingId> parse_woo_listing_id(const std::string &external_id) {
  WooListingId id;
  auto slash = external_id.find('/');
  if (slash == std::string::npos) {
    id.id = external_id;
  } else {
    id.parent = external_id.substr(0, slash);
    id.id = external_id.substr(slash + 1);
    if (!all_digits(id.parent))
      return std::nullopt;
  }
  if (!all_digits(id.id))
    return std::nullopt;
  return id;
}

std::optional<WooOptions> WooOptions::from_config(const ChannelConfig &cfg, std::string &error) {
  WooOptions o;
  o.code = cfg.code;
  o.base_url = strip_trailing_slash(cfg.base_url);
  o.consumer_key = credential_or(cfg, "consumer_key");
  o.consumer_secret = credential_or(cfg, "consumer_secret");
  auto bad = config_error(cfg, error);
  if (o.base_url.empty())
    return bad("base_url (the shop's site root, e.g. https://shop.example.com) is required for woocommerce");
  if (!is_https(o.base_url) && !is_loopback_http(o.base_url))
    return bad("base_url \"" + o.base_url +
               "\" must be https: HTTP Basic sends the consumer secret with every request (plain http only to a "
               "loopback simulator)");
  if (o.consumer_key.empty() || o.consumer_secret.empty())
    return bad("credentials consumer_key and consumer_secret are required for woocommerce");
  o.batch = batch_within(cfg, kMaxBatchItems);
  o.rate = cfg.rate_per_sec > 0 ? cfg.rate_per_sec : o.rate;
  o.burst = cfg.burst > 0 ? cfg.burst : o.burst;
  if (cfg.max_in_flight > 0)
    o.in_flight = static_cast<std::size_t>(cfg.max_in_flight);
  o.timeout = cfg.request_timeout;
  return o;
}

WooCommerceAdapter::WooCommerceAdapter(WooOptions options, boost::asio::io_context &io, HttpClient &http,
                                       AdapterClock clock)
    : opts_(std::move(options)), io_(io), http_(http), clock_(std::move(clock)),
      gate_(io, opts_.rate, opts_.burst, clock_.mono),
      auth_header_("Basic " + base64_encode(opts_.consumer_key + ":" + opts_.consumer_secret)) {}

WooCommerceAdapter::~WooCommerceAdapter() { shutdown(); }

// Reconciliation reads (channel_adapter.hpp): HTTP Basic with the consumer key.
void WooCommerceAdapter::authorized_get(const std::string &path_and_query, std::chrono::milliseconds timeout,
                                        std::function<void(HttpResponse)> done) {
  HttpRequest req = json_get(opts_.base_url + path_and_query, timeout);
  req.headers.emplace_back("Authorization", auth_header_);
  http_.send(std::move(req), std::move(done));
}

void WooCommerceAdapter::shutdown() {
  stopped_ = true;
  gate_.cancel();
}

void WooCommerceAdapter::push(std::vector<ListingPush> batch, std::function<void(std::vector<PushResult>)> done) {
  auto job = start_push(io_, std::move(batch), std::move(done), stopped_);
  if (!job)
    return;
  // Products go to products/batch, variations to their parent's batch route.
  std::map<std::string, std::vector<std::size_t>> routes;
  for (std::size_t i = 0; i < job->size(); ++i) {
    auto id = parse_woo_listing_id(job->item(i).external_id);
    if (!id) {
      job->set(i, permanent_result(job->item(i), "bad WooCommerce listing id \"" + clip(job->item(i).external_id, 80) +
                                                     "\": expected PRODUCT_ID or PARENT_ID/VARIATION_ID"));
      continue;
    }
    routes[id->parent].push_back(i);
  }
  for (auto &[parent, items] : routes)
    for (std::size_t at = 0; at < items.size(); at += opts_.batch)
      send(job, parent,
           std::vector<std::size_t>(items.begin() + static_cast<long>(at),
                                    items.begin() + static_cast<long>(std::min(items.size(), at + opts_.batch))));
}

void WooCommerceAdapter::send(const std::shared_ptr<PushJob> &job, std::string parent, std::vector<std::size_t> items) {
  std::weak_ptr<char> alive = alive_;
  gate_.acquire([this, alive, job, parent = std::move(parent), items = std::move(items)](bool admitted) {
    if (!admitted || alive.expired()) {
      for (auto i : items)
        job->set(i, retryable_result(job->item(i), "adapter shut down"));
      return;
    }
    json update = json::array();
    for (auto i : items) {
      auto id = parse_woo_listing_id(job->item(i).external_id);
      update.push_back({{"id", std::stoll(id->id)},
                        {"stock_quantity", std::max(0, job->item(i).desired_qty)},
                        {"manage_stock", true}});
    }
    HttpRequest req;
    req.method = "POST";
    req.url = opts_.base_url + "/wp-json/wc/v3/products/" + (parent.empty() ? "" : parent + "/variations/") + "batch";
    req.timeout = opts_.timeout;
    req.headers = {{"Authorization", auth_header_}, {"Content-Type", "application/json"}, {"Accept", "application/json"}};
    req.body = json{{"update", std::move(update)}}.dump();
    http_.send(std::move(req), [this, alive, job, items](HttpResponse r) {
      if (alive.expired()) {
        for (auto i : items)
          job->set(i, retryable_result(job->item(i), "adapter shut down", std::nullopt, false, true));
        return;
      }
      on_batch(job, items, r);
    });
  });
}

// Maps a batch answer to each listing (§4.2, §4.3).
void WooCommerceAdapter::on_batch(const std::shared_ptr<PushJob> &job, const std::vector<std::size_t> &items,
                                  const HttpResponse &r) {
  auto all = [&](auto &&make) {
    for (auto i : items)
      job->set(i, make(job->item(i)));
  };
  if (r.transport_failed())
    return all([&](const ListingPush &p) { return retryable_result(p, r.error, std::nullopt, false, true); });
  auto wait = retry_after(r, static_cast<std::time_t>(clock_.wall()));
  if (r.status == 413) {
    // The site's batch limit is lower than ours: adopt it for the next batches.
    auto limit = batch_limit_from_413(r);
    std::size_t next = limit ? std::min(*limit, opts_.batch) : std::max<std::size_t>(1, items.size() / 2);
    if (next < opts_.batch)
      opts_.batch = std::max<std::size_t>(1, next);
    std::string msg = wp_error_text(r) + " (batch limit now " + std::to_string(opts_.batch) + ")";
    return all([&](const ListingPush &p) { return retryable_result(p, msg, std::chrono::milliseconds(0)); });
  }
  if (r.status == 429)
    hold_gate(gate_, wait);
  if (r.status == 429 || classify(r) != ResponseClass::ok) {
    std::string msg = wp_error_text(r);
    return all([&](const ListingPush &p) { return failed_call_result(p, r, msg, wait); });
  }
  std::string err;
  auto j = parse_bounded_json(r.body, &err);
  if (!j || !j->is_object() || !j->contains("update") || !(*j)["update"].is_array())
    return all([&](const ListingPush &p) {
      return retryable_result(p, "unreadable batch answer: " + (err.empty() ? "no update array" : err), std::nullopt,
                              false, true);
    });
  const json &answers = (*j)["update"];
  // Match by id; answers come in request order, which breaks ties.
  std::vector<bool> used(answers.size(), false);
  for (auto i : items) {
    const ListingPush &p = job->item(i);
    std::string want = parse_woo_listing_id(p.external_id)->id;
    const json *match = nullptr;
    for (std::size_t k = 0; k < answers.size() && !match; ++k)
      if (!used[k] && answers[k].is_object() && item_id(answers[k]) == want) {
        match = &answers[k];
        used[k] = true;
      }
    if (!match) {
      job->set(i, retryable_result(p, "no answer for this item in the batch", std::nullopt, false, true));
      continue;
    }
    auto e = match->find("error");
    if (e != match->end() && e->is_object()) {
      long long st = 400;
      auto data = e->find("data");
      if (data != e->end() && data->is_object() && data->contains("status") && (*data)["status"].is_number_integer())
        st = (*data)["status"].get<long long>();
      std::string msg = "item " + std::to_string(st) + " " + e->value("code", std::string()) + ": " +
                        e->value("message", std::string());
      job->set(i, st >= 500 || st == 429 ? retryable_result(p, msg, std::nullopt, st == 429) : permanent_result(p, msg));
      continue;
    }
    // The product as saved: its stock_quantity is what the shop now shows.
    int qty = std::max(0, p.desired_qty);
    auto sq = match->find("stock_quantity");
    if (sq != match->end() && sq->is_number_integer())
      qty = static_cast<int>(std::clamp<long long>(sq->get<long long>(), 0, 1LL << 30));
    job->set(i, acked_result(p, qty));
  }
}

std::unique_ptr<ChannelAdapter> make_woocommerce_adapter(const ChannelConfig &cfg, AdapterEnv &env,
                                                         std::string &error) {
  return make_adapter_from_config<WooCommerceAdapter, WooOptions>(cfg, env, error);
}

}  // namespace stocksync::worker
