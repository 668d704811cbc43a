// The webhook pool's database calls; see ingest_calls.hpp.
#include "webhooks/ingest_calls.hpp"

#include "webhooks/inbound.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace stocksync::worker::webhooks {

namespace {

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

std::string trimmed(const char *s) {
  std::string m = s ? s : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
    m.pop_back();
  return m;
}

PgResult exec(IngestConnection &c, const char *stmt, const std::vector<const char *> &params) {
  return PgResult(PQexecPrepared(c.conn.get(), stmt, static_cast<int>(params.size()), params.data(), nullptr,
                                 nullptr, 0),
                  &PQclear);
}

std::string field(const PGresult *r, int code) { return trimmed(PQresultErrorField(r, code)); }

// [{"source", "event_id", "topic", "event"}, ...]; the event is already JSON.
std::string deliveries_json(const std::vector<const IngestParams *> &deliveries) {
  auto str = [](const std::string &s) { return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
  std::string out = "[";
  for (const IngestParams *p : deliveries) {
    if (out.size() > 1)
      out += ',';
    out += "{\"source\":" + str((*p)[0]) + ",\"event_id\":" + str((*p)[1]) + ",\"topic\":" + str((*p)[2]) +
           ",\"event\":" + (*p)[3] + '}';
  }
  return out + ']';
}

}  // namespace

bool IngestConnection::ensure() {
  if (conn && PQstatus(conn.get()) == CONNECTION_OK)
    return true;
  const char *keys[] = {"dbname", "application_name", nullptr};
  const char *values[] = {conninfo.c_str(), "stocksync-worker webhooks", nullptr};
  conn.reset(PQconnectdbParams(keys, values, 1));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    error = trimmed(PQerrorMessage(conn.get()));
    conn.reset();
    return false;
  }
  // Prepared once per connection: the hot path is one Bind/Execute.
  for (auto [name, sql] :
       {std::pair{"ingest", "SELECT stocksync.ingest_webhook($1, $2, $3, $4::jsonb)"},
        std::pair{"ingest_orders", "SELECT ord, outcome, sqlstate, message FROM stocksync.ingest_webhook_orders($1::jsonb)"},
        std::pair{"refusal", "SELECT stocksync.record_webhook_refusal($1, $2, $3, $4::jsonb, $5, $6)"},
        std::pair{"listings",
                  "SELECT COALESCE("
                  "         (SELECT l.external_id"
                  "            FROM pg_catalog.jsonb_array_elements_text(COALESCE(x.line -> 'ids', '[]')) WITH ORDINALITY AS i (id, k)"
                  "            JOIN stocksync.listing l ON l.channel = $1::text COLLATE \"C\" AND l.external_id = i.id COLLATE \"C\""
                  "           ORDER BY i.k LIMIT 1),"
                  "         (SELECT pg_catalog.min(l.external_id) FROM stocksync.listing l"
                  "           WHERE l.channel = $1::text COLLATE \"C\" AND l.sku = (x.line ->> 'sku') COLLATE \"C\""
                  "          HAVING pg_catalog.count(*) = 1), '')"
                  "  FROM pg_catalog.jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x (line, n) ORDER BY x.n"}}) {
    PgResult r(PQprepare(conn.get(), name, sql, 0, nullptr), &PQclear);
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      error = trimmed(PQresultErrorMessage(r.get()));
      conn.reset();
      return false;
    }
  }
  return true;
}

bool IngestConnection::lost() const { return !conn || PQstatus(conn.get()) != CONNECTION_OK; }

IngestResult ingest_one(IngestConnection &c, const IngestParams &params) {
  IngestResult res;
  std::vector<const char *> p{params[0].c_str(), params[1].c_str(), params[2].c_str(), params[3].c_str()};
  // Retried: a lost connection (ingest_webhook is idempotent on the event
  // id, so a commit whose answer was lost is found as a duplicate), a
  // serialization failure or a deadlock.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!c.ensure())
      return {IngestResult::Kind::unavailable, "", "cannot connect: " + c.error};
    PgResult r = exec(c, "ingest", p);
    if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1) {
      std::string outcome = PQgetvalue(r.get(), 0, 0);
      return {outcome == "duplicate" ? IngestResult::Kind::duplicate : IngestResult::Kind::applied, outcome, ""};
    }
    std::string sqlstate = field(r.get(), PG_DIAG_SQLSTATE);
    std::string message = field(r.get(), PG_DIAG_MESSAGE_PRIMARY);
    if (c.lost()) {
      res = {IngestResult::Kind::unavailable, sqlstate, "connection lost: " + trimmed(PQerrorMessage(c.conn.get()))};
      c.conn.reset();
      continue;
    }
    if (sqlstate == "40001" || sqlstate == "40P01") {
      res = {IngestResult::Kind::unavailable, sqlstate, message};
      continue;
    }
    if (kept_refusal(sqlstate)) {
      std::vector<const char *> q = p;
      q.push_back(sqlstate.c_str());
      q.push_back(message.c_str());
      PgResult k = exec(c, "refusal", q);
      if (PQresultStatus(k.get()) == PGRES_TUPLES_OK && PQntuples(k.get()) == 1)
        return {std::string(PQgetvalue(k.get(), 0, 0)) == "t" ? IngestResult::Kind::refused
                                                               : IngestResult::Kind::duplicate,
                sqlstate, message};
      return {IngestResult::Kind::failed, sqlstate,
              message + "; keeping it failed: " + trimmed(PQresultErrorMessage(k.get()))};
    }
    return {IngestResult::Kind::failed, sqlstate, message};
  }
  return res;
}

std::optional<std::vector<std::string>> order_listings(IngestConnection &c, const std::string &channel,
                                                      const std::string &lines) {
  if (!c.ensure())
    return std::nullopt;
  PgResult r = exec(c, "listings", {channel.c_str(), lines.c_str()});
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    if (c.lost())
      c.conn.reset();
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.emplace_back(PQgetvalue(r.get(), i, 0));
  return out;
}

Housekeeping housekeep(IngestConnection &c, std::int64_t keep_s) {
  Housekeeping h;
  if (!c.ensure()) {
    h.error = "cannot connect: " + c.error;
    return h;
  }
  std::string keep = std::to_string(keep_s) + " seconds";
  const char *p[] = {keep.c_str()};
  PgResult r(PQexecParams(c.conn.get(),
                          keep_s > 0 ? "SELECT stocksync.prune_webhook_receipts($1::interval), "
                                       "(SELECT count(*) FROM stocksync.unmatched_order_line)"
                                     : "SELECT 0, (SELECT count(*) FROM stocksync.unmatched_order_line)",
                          keep_s > 0 ? 1 : 0, nullptr, keep_s > 0 ? p : nullptr, nullptr, nullptr, 0),
             &PQclear);
  if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1) {
    h.ok = true;
    h.pruned = std::stoll(PQgetvalue(r.get(), 0, 0));
    h.unmatched_lines = std::stoll(PQgetvalue(r.get(), 0, 1));
  } else {
    h.error = trimmed(PQresultErrorMessage(r.get()));
  }
  return h;
}

std::vector<std::optional<IngestResult>> ingest_orders(IngestConnection &c,
                                                       const std::vector<const IngestParams *> &deliveries) {
  std::vector<std::optional<IngestResult>> results(deliveries.size());
  if (!c.ensure())
    return results;
  std::string body = deliveries_json(deliveries);
  PgResult r = exec(c, "ingest_orders", {body.c_str()});
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK ||
      PQntuples(r.get()) != static_cast<int>(deliveries.size())) {
    // Nothing was written; each delivery is applied on its own instead
    // (which also keeps a refusal of the whole call, e.g. a line's quantity
    // that is not a number, for the delivery that caused it).
    spdlog::debug("webhooks: a group of {} orders fell back to one transaction each: {} {}", deliveries.size(),
                  field(r.get(), PG_DIAG_SQLSTATE), field(r.get(), PG_DIAG_MESSAGE_PRIMARY));
    if (c.lost())
      c.conn.reset();
    return results;
  }
  for (int row = 0; row < PQntuples(r.get()); ++row) {
    std::size_t i = static_cast<std::size_t>(std::stoi(PQgetvalue(r.get(), row, 0))) - 1;
    bool has_outcome = !PQgetisnull(r.get(), row, 1), has_sqlstate = !PQgetisnull(r.get(), row, 2);
    std::string outcome = PQgetvalue(r.get(), row, 1);
    if (i >= results.size() || (!has_outcome && !has_sqlstate))
      continue;  // deferred
    IngestResult res;
    if (outcome == "duplicate")
      res.kind = IngestResult::Kind::duplicate;
    else if (has_sqlstate)
      res.kind = IngestResult::Kind::refused;
    else
      res.kind = IngestResult::Kind::applied;
    res.outcome = has_sqlstate ? std::string(PQgetvalue(r.get(), row, 2)) : outcome;
    res.detail = PQgetvalue(r.get(), row, 3);
    res.batch = deliveries.size();
    results[i] = std::move(res);
  }
  return results;
}

}  // namespace stocksync::worker::webhooks
