// OrderStore; see order_store.hpp.
#include "orders_in/order_store.hpp"

#include "sync/pg_database.hpp"  // pg_text_array
#include "webhooks/inbound.hpp"     // kept_refusal

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace stocksync::worker::orders_in {

using nlohmann::json;

namespace {

// SQLSTATEs of refusals that concern one order only (errors.hpp): the rest
// (connection lost, statement timeout) abort the page.
bool order_refusal(const std::string &state) { return state.size() == 5 && state.rfind("SS0", 0) == 0; }

json lines_json(const std::vector<OrderLine> &lines) {
  json a = json::array();
  for (auto &l : lines)
    a.push_back({{"listing", l.listing}, {"qty", l.qty}});
  return a;
}

}  // namespace

ApplyCounts &ApplyCounts::operator+=(const ApplyCounts &o) {
  reserved += o.reserved;
  committed += o.committed;
  released += o.released;
  unmatched += o.unmatched;
  skipped += o.skipped;
  refused += o.refused;
  return *this;
}

std::optional<double> OrderStore::cursor(const std::string &channel) {
  auto r = conn_.query("SELECT extract(epoch FROM polled_through) FROM stocksync.order_poll_cursor WHERE channel = $1",
                       {channel});
  if (PQntuples(r.get()) == 0)
    return std::nullopt;
  return PgConn::number(r, 0, 0);
}

ApplyCounts OrderStore::apply(const std::string &channel, const std::vector<PolledOrder> &orders,
                              std::optional<double> advance_to) {
  ApplyCounts counts;
  // One transaction per order: a round's orders touch the same hot SKUs
  // again and again, and a transaction that holds a hot SKU's bucket must
  // not wait for another row of that SKU (docs/hot-skus.md). Orders are
  // idempotent, so a crash between them only replays the round's first ones;
  // the cursor moves in its own transaction after all of them.
  for (const auto &o : orders) {
    PgTransaction order_tx(conn_);
    apply_one(channel, o, counts);
    order_tx.commit();
  }
  move_cursor(channel, advance_to);
  return counts;
}

void OrderStore::move_cursor(const std::string &channel, std::optional<double> advance_to) {
  if (!advance_to)
    return;
  PgTransaction tx(conn_);
  conn_.query("INSERT INTO stocksync.order_poll_cursor AS c (channel, polled_through, rounds)"
              " VALUES ($1, to_timestamp($2::double precision), 1)"
              " ON CONFLICT (channel) DO UPDATE SET"
              "   polled_through = GREATEST(c.polled_through, EXCLUDED.polled_through),"
              "   rounds = c.rounds + 1, updated_at = now()",
              {channel, std::to_string(*advance_to)});
  tx.commit();
}

ApplyCounts OrderStore::ingest(const std::string &channel, const std::vector<WooOrderEvent> &orders,
                               std::optional<double> advance_to) {
  ApplyCounts counts;
  for (const auto &o : orders)
    ingest_one(channel, o, counts);
  move_cursor(channel, advance_to);
  return counts;
}

void OrderStore::ingest_one(const std::string &channel, const WooOrderEvent &o, ApplyCounts &counts) {
  if (o.refused) {
    // What a delivery would get a 400 for: nothing to record it under (no
    // usable id or date), so it is logged and counted, and the page goes on.
    spdlog::warn("channel {}: polled order {} refused: {}", channel, o.order_ref.empty() ? "?" : o.order_ref,
                 o.problem);
    ++counts.refused;
    return;
  }
  if (o.event_json.empty()) {  // a status without stock effect, as the webhook ignores it
    ++counts.skipped;
    return;
  }
  static const std::string topic = "order.polled";
  std::string outcome;
  try {
    PgTransaction tx(conn_);
    auto r = conn_.query("SELECT stocksync.ingest_webhook($1, $2, $3, $4::jsonb)",
                         {channel, o.event_id, topic, o.event_json});
    outcome = PgConn::text(r, 0, 0);
    tx.commit();
  } catch (const PgError &e) {
    // The webhook path's rule: a refusal is kept with its reason, never
    // dropped; anything else (connection, serialization) ends the round, and
    // the next round asks again.
    if (!webhooks::kept_refusal(e.sqlstate))
      throw;
    spdlog::warn("channel {}: polled order {} refused: {} ({})", channel, o.order_ref, e.what(), e.sqlstate);
    PgTransaction tx(conn_);
    conn_.query("SELECT stocksync.record_webhook_refusal($1, $2, $3, $4::jsonb, $5, $6)",
                {channel, o.event_id, topic, o.event_json, e.sqlstate, e.what()});
    tx.commit();
    ++counts.refused;
    return;
  }
  // ingest_webhook()'s outcomes (extension script, "Applies one normalized
  // webhook event"); '<outcome>_partly_unmatched' held part of the order.
  if (outcome.find("unmatched") != std::string::npos)
    ++counts.unmatched;
  if (outcome.rfind("reserved", 0) == 0)
    ++counts.reserved;
  else if (outcome.rfind("committed", 0) == 0)
    ++counts.committed;
  else if (outcome == "released")
    ++counts.released;
  else if (outcome.find("unmatched") == std::string::npos)
    ++counts.skipped;  // duplicate, order_already_*, tombstoned, cancel_ignored_*, cancelled_before_order, empty_order
}

void OrderStore::apply_one(const std::string &channel, const PolledOrder &o, ApplyCounts &counts) {
  if (o.status == OrderStatus::ignored) {
    ++counts.skipped;
    return;
  }
  auto res = conn_.query("SELECT state FROM stocksync.reservation WHERE channel = $1 AND order_ref = $2",
                         {channel, o.order_ref});
  std::optional<std::string> state;
  if (PQntuples(res.get()) > 0)
    state = PgConn::text(res, 0, 0);

  // One order, one savepoint: a refusal undoes this order only.
  auto guarded = [&](const char *what, const std::function<void()> &fn) {
    conn_.exec("SAVEPOINT polled_order");
    try {
      fn();
      conn_.exec("RELEASE SAVEPOINT polled_order");
      return std::optional<std::string>();
    } catch (const PgError &e) {
      if (!order_refusal(e.sqlstate))
        throw;
      conn_.exec("ROLLBACK TO SAVEPOINT polled_order");
      spdlog::warn("channel {}: order {}: {} refused: {} ({})", channel, o.order_ref, what, e.what(), e.sqlstate);
      return std::optional<std::string>(std::string(what) + " refused: " + e.what() + " (" + e.sqlstate + ")");
    }
  };

  if (o.status == OrderStatus::cancelled) {
    // Nothing held for it: a cancellation seen before (or instead of) the order.
    conn_.query("UPDATE stocksync.unmatched_order SET status = 'cancelled', last_seen = now(),"
                "       resolved_at = COALESCE(resolved_at, now())"
                " WHERE channel = $1 AND order_ref = $2",
                {channel, o.order_ref});
    if (!state || (*state != "reserved" && *state != "committed")) {
      ++counts.skipped;
      return;
    }
    auto err = guarded("release", [&] {
      conn_.query("SELECT stocksync.release($1, $2, 'cancelled on the channel')", {channel, o.order_ref});
    });
    ++(err ? counts.skipped : counts.released);
    return;
  }

  if (state) {
    // Reserved on an earlier round (or by another path): only payment moves it on.
    if (o.status == OrderStatus::paid && *state == "reserved") {
      auto err = guarded("commit", [&] { conn_.query("SELECT stocksync.commit($1, $2)", {channel, o.order_ref}); });
      if (!err) {
        ++counts.committed;
        return;
      }
      // The hold expired between the read and the commit: kept as below.
      keep_unmatched(channel, o, {}, *err);
      ++counts.unmatched;
    } else if (o.status == OrderStatus::paid && *state == "expired") {
      // Paid after its soft hold expired: the sale stands on the channel but
      // its units went back to stock and may have been sold again. Kept for
      // the operator, as a webhook delivery keeps it (paid_after_expiry),
      // never skipped in silence.
      keep_unmatched(channel, o, {}, "paid after its hold expired");
      ++counts.unmatched;
    } else {
      ++counts.skipped;
    }
    return;
  }

  // A new order: every line's listing must be known.
  std::vector<std::string> ids;
  for (auto &l : o.lines)
    ids.push_back(l.listing);
  auto m = conn_.query(
      "SELECT x.listing, (SELECT l.sku FROM stocksync.listing l"
      "                    WHERE l.channel = $1 AND (l.external_id = x.listing"
      "                          OR pg_catalog.split_part(l.external_id, '|', 1) = x.listing)"
      "                    ORDER BY l.external_id = x.listing DESC, l.external_id LIMIT 1)"
      "  FROM unnest($2::text[]) WITH ORDINALITY AS x (listing, n) ORDER BY x.n",
      {channel, pg_text_array(ids)});
  json lines = json::array();
  std::vector<std::string> unknown;
  for (int i = 0, n = PQntuples(m.get()); i < n; ++i) {
    if (PgConn::null(m, i, 1)) {
      unknown.push_back(PgConn::text(m, i, 0));
      continue;
    }
    lines.push_back({{"sku", PgConn::text(m, i, 1)}, {"qty", o.lines[static_cast<std::size_t>(i)].qty}});
  }
  if (o.lines.empty())
    unknown.push_back("(no lines)");
  if (!unknown.empty()) {
    keep_unmatched(channel, o, unknown, "unknown listing");
    ++counts.unmatched;
    return;
  }
  auto err = guarded("reserve", [&] {
    conn_.query("SELECT stocksync.reserve($1, $2, $3::jsonb, ttl => $4::interval, on_shortage => 'record')",
                {channel, o.order_ref, lines.dump(), std::to_string(open_ttl_s_) + " seconds"});
    if (o.status == OrderStatus::paid)
      conn_.query("SELECT stocksync.commit($1, $2)", {channel, o.order_ref});
  });
  if (err) {
    keep_unmatched(channel, o, {}, *err);
    ++counts.unmatched;
    return;
  }
  conn_.query("UPDATE stocksync.unmatched_order SET resolved_at = now(), last_seen = now()"
              " WHERE channel = $1 AND order_ref = $2 AND resolved_at IS NULL",
              {channel, o.order_ref});
  ++counts.reserved;
}

void OrderStore::keep_unmatched(const std::string &channel, const PolledOrder &o,
                                const std::vector<std::string> &unknown, const std::string &problem) {
  conn_.query("INSERT INTO stocksync.unmatched_order AS u (channel, order_ref, status, lines, unknown_listings, problem)"
              " VALUES ($1, $2, $3, $4::jsonb, $5::text[], $6)"
              " ON CONFLICT (channel, order_ref) DO UPDATE SET status = EXCLUDED.status, lines = EXCLUDED.lines,"
              "   unknown_listings = EXCLUDED.unknown_listings, problem = EXCLUDED.problem, last_seen = now(),"
              "   times_seen = u.times_seen + 1, resolved_at = NULL",
              {channel, o.order_ref, std::string(to_string(o.status)), lines_json(o.lines).dump(),
               pg_text_array(unknown), problem});
}

std::vector<PolledOrder> OrderStore::unmatched(const std::string &channel, int limit) {
  auto r = conn_.query("SELECT order_ref, status, lines FROM stocksync.unmatched_order"
                       " WHERE channel = $1 AND resolved_at IS NULL AND status <> 'cancelled'"
                       " ORDER BY first_seen, order_ref LIMIT $2",
                       {channel, std::to_string(limit)});
  std::vector<PolledOrder> out;
  for (int i = 0, n = PQntuples(r.get()); i < n; ++i) {
    PolledOrder o;
    o.order_ref = PgConn::text(r, i, 0);
    o.status = order_status_from_string(PgConn::text(r, i, 1)).value_or(OrderStatus::ignored);
    auto lines = json::parse(PgConn::text(r, i, 2), nullptr, false);
    if (lines.is_array())
      for (auto &l : lines)
        if (l.is_object() && l.contains("listing") && l["listing"].is_string() && l.contains("qty") &&
            l["qty"].is_number_integer())
          add_line(o.lines, l["listing"].get<std::string>(), l["qty"].get<int>());
    out.push_back(std::move(o));
  }
  return out;
}

long long OrderStore::open_unmatched(const std::string &channel) {
  auto r = conn_.query("SELECT count(*) FROM stocksync.unmatched_order WHERE channel = $1 AND resolved_at IS NULL",
                       {channel});
  return PgConn::integer(r, 0, 0).value_or(0);
}

}  // namespace stocksync::worker::orders_in
