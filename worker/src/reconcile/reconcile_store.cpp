// ReconcileStore; see reconcile_store.hpp.
#include "reconcile/reconcile_store.hpp"

#include "sync/pg_database.hpp"  // pg_text_array

#include <string>

namespace stocksync::worker::reconcile {

std::optional<double> RunCounts::accuracy() const {
  int compared = agree + corrected + escalated;
  if (compared == 0)
    return std::nullopt;
  return static_cast<double>(agree) / compared;
}

std::vector<std::pair<long long, std::string>> ReconcileStore::take_requests(const std::vector<std::string> &channels) {
  auto r = conn_.query("UPDATE stocksync.reconcile_request SET taken_at = now()"
                       " WHERE taken_at IS NULL AND channel = ANY ($1::text[]) RETURNING id, channel",
                       {pg_text_array(channels)});
  std::vector<std::pair<long long, std::string>> out;
  for (int i = 0, n = PQntuples(r.get()); i < n; ++i)
    out.emplace_back(PgConn::integer(r, i, 0).value_or(0), PgConn::text(r, i, 1));
  return out;
}

long long ReconcileStore::start_run(const std::string &channel, const std::string &trigger,
                                    const std::vector<long long> &requests) {
  PgTransaction tx(conn_);
  auto r = conn_.query("INSERT INTO stocksync.reconcile_run (channel, trigger) VALUES ($1, $2) RETURNING id",
                       {channel, trigger});
  long long id = PgConn::integer(r, 0, 0).value_or(0);
  if (!requests.empty()) {
    std::string list = "{";
    for (std::size_t i = 0; i < requests.size(); ++i)
      list += (i ? "," : "") + std::to_string(requests[i]);
    conn_.query("UPDATE stocksync.reconcile_request SET run_id = $1 WHERE id = ANY ($2::bigint[])",
                {std::to_string(id), list + "}"});
  }
  tx.commit();
  return id;
}

std::vector<ListingSnapshot> ReconcileStore::snapshot(const std::string &channel) {
  auto r = conn_.query(
      "SELECT t.external_id, t.sku, t.channel_mode, s.state IS NOT NULL, s.state, s.acked_qty, t.desired_qty,"
      "       extract(epoch FROM now() - s.acked_at), s.updated_at::text"
      "  FROM stocksync.listing_target t"
      "  LEFT JOIN stocksync.listing_state s ON s.channel = t.channel AND s.external_id = t.external_id"
      " WHERE t.channel = $1 ORDER BY t.external_id",
      {channel});
  std::vector<ListingSnapshot> out;
  for (int i = 0, n = PQntuples(r.get()); i < n; ++i) {
    ListingSnapshot s;
    s.external_id = PgConn::text(r, i, 0);
    s.sku = PgConn::text(r, i, 1);
    s.mode = PgConn::text(r, i, 2);
    s.has_state = PgConn::text(r, i, 3) == "t";
    s.state = PgConn::text(r, i, 4);
    if (auto v = PgConn::integer(r, i, 5))
      s.acked_qty = static_cast<int>(*v);
    s.desired_qty = static_cast<int>(PgConn::integer(r, i, 6).value_or(0));
    s.acked_age_s = PgConn::number(r, i, 7);
    s.updated_at = PgConn::text(r, i, 8);
    out.push_back(std::move(s));
  }
  return out;
}

bool ReconcileStore::correct(long long run, const std::string &channel, const ListingSnapshot &s, int shown) {
  PgTransaction tx(conn_);
  std::string note = std::string(kReconcilePrefix) + "channel showed " + std::to_string(shown) + ", acknowledged " +
                     std::to_string(s.acked_qty.value_or(0));
  auto u = conn_.query("UPDATE stocksync.listing_state SET state = 'pending', acked_qty = $3, attempts = 0,"
                       "       retry_at = NULL, last_error = $4, updated_at = now()"
                       " WHERE channel = $1 AND external_id = $2 AND state = 'acked' AND acked_qty = $5"
                       "   AND updated_at::text = $6",
                       {channel, s.external_id, std::to_string(shown), note,
                        std::to_string(s.acked_qty.value_or(0)), s.updated_at});
  if (std::string(PQcmdTuples(u.get())) != "1")
    return false;  // the destructor rolls back (nothing was written)
  conn_.query("UPDATE stocksync.drift SET resolved_at = now()"
              " WHERE channel = $1 AND external_id = $2 AND resolved_at IS NULL",
              {channel, s.external_id});
  conn_.query("INSERT INTO stocksync.drift (run_id, channel, external_id, sku, shown_qty, acked_qty, desired_qty,"
              "                             drift, action)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7, $5::int - $6::int, 'corrected')",
              {std::to_string(run), channel, s.external_id, s.sku, std::to_string(shown),
               std::to_string(s.acked_qty.value_or(0)), std::to_string(s.desired_qty)});
  tx.commit();
  return true;
}

void ReconcileStore::escalate(long long run, const std::string &channel, const ListingSnapshot &s, int shown) {
  PgTransaction tx(conn_);
  std::vector<std::optional<std::string>> p{std::to_string(run), channel, s.external_id, s.sku, std::to_string(shown),
                                            std::to_string(s.acked_qty.value_or(0)), std::to_string(s.desired_qty)};
  auto u = conn_.query("UPDATE stocksync.drift SET run_id = $1, shown_qty = $5, acked_qty = $6, desired_qty = $7,"
                       "       drift = $5::int - $6::int"
                       " WHERE channel = $2 AND external_id = $3 AND sku = $4 AND action = 'escalated'"
                       "   AND resolved_at IS NULL",
                       p);
  if (std::string(PQcmdTuples(u.get())) == "0")
    conn_.query("INSERT INTO stocksync.drift (run_id, channel, external_id, sku, shown_qty, acked_qty, desired_qty,"
                "                             drift, action)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $5::int - $6::int, 'escalated')",
                p);
  tx.commit();
}

void ReconcileStore::resolve(const std::string &channel, const std::vector<std::string> &external_ids) {
  if (external_ids.empty())
    return;
  conn_.query("UPDATE stocksync.drift SET resolved_at = now()"
              " WHERE channel = $1 AND external_id = ANY ($2::text[]) AND resolved_at IS NULL",
              {channel, pg_text_array(external_ids)});
}

void ReconcileStore::finish_run(long long run, const RunCounts &c, const std::string &error) {
  auto acc = c.accuracy();
  conn_.query("UPDATE stocksync.reconcile_run SET finished_at = now(), listings = $2, in_agreement = $3,"
              "       drifted = $4, corrected = $5, escalated = $6, unsettled = $7, unreadable = $8,"
              "       accuracy = $9::numeric, error = $10"
              " WHERE id = $1",
              {std::to_string(run), std::to_string(c.listings), std::to_string(c.agree),
               std::to_string(c.corrected + c.escalated), std::to_string(c.corrected), std::to_string(c.escalated),
               std::to_string(c.unsettled), std::to_string(c.unreadable),
               acc ? std::optional<std::string>(std::to_string(*acc)) : std::nullopt,
               error.empty() ? std::nullopt : std::optional<std::string>(error)});
}

}  // namespace stocksync::worker::reconcile
