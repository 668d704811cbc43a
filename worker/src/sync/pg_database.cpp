// Database on libpq; see pg_database.hpp.
#include "sync/pg_database.hpp"

#include <cstdlib>
#include <ctime>

namespace stocksync::worker {
namespace {

std::string iso(WallTime t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(buf) + "." + std::to_string(1000000 + us % 1000000).substr(1) + "+00";
}

// Epoch seconds (as text with fraction) -> WallTime.
WallTime from_epoch(const char *s) {
  double v = std::strtod(s, nullptr);
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(v)));
}

// A double-quoted array element, with " and backslash escaped.
void append_quoted(std::string &out, const std::string &s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

std::string pg_array(const std::vector<std::optional<std::string>> &v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i)
      out += ',';
    if (v[i])
      append_quoted(out, *v[i]);
    else
      out += "NULL";  // unquoted: SQL NULL ("NULL" quoted is the text)
  }
  return out + "}";
}

std::string pg_text_array(const std::vector<std::string> &v) {
  return pg_array(std::vector<std::optional<std::string>>(v.begin(), v.end()));
}

PgDatabase::PgDatabase(std::string conninfo) : conninfo_(std::move(conninfo)) {}

void PgDatabase::ensure() {
  if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK)
    return;
  prepared_.clear();
  conn_.reset(PQconnectdb(conninfo_.c_str()));
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    std::string msg = conn_ ? PQerrorMessage(conn_.get()) : "out of memory";
    conn_.reset();
    throw DbError("database connection failed: " + msg);
  }
  // Statements are short; a stuck one must not stall the loop forever.
  // Generic plans only: the rows of listing_target take milliseconds to plan
  // and microseconds to read, and PostgreSQL's choice between a custom and
  // the generic plan of a prepared statement follows the costs of its first
  // custom plans. A worker whose first rounds were small kept planning
  // load_keys() anew (one key: 1.7 ms a call against 0.15 ms generic), and
  // earlier forms of the SKU lookup were planned on every call (1,874 plans
  // in 1,873 calls). The loop's statements take arrays of keys, which their
  // generic plans probe by index; the full diff and the counts scan either
  // way. The setting covers the plans inside the functions this session
  // calls too (expire_holds() keeps its index scan on the expiry).
  //
  // No sequential scans: listing_target probes the channel's small tables
  // (channel, channel_rule, channel_sku_rule, channel_location) once per
  // listing, and the planner scans a table of one page rather than its index;
  // but every rescan of a sequential scan asks the kernel for the relation's
  // size (an lseek), and those five syscalls were more than half of a loaded
  // listing's cost (23 us a row against 10 us by index, 200 rows). With the
  // setting every such lookup is an index probe. The scans that have no index
  // (the hard-pool total, evaluated once per statement) still run, at the
  // setting's penalty cost, which would cross jit_above_cost and compile
  // every execution (about 0.9 s): so no JIT either, which short statements
  // never gain from. test/e2e/worker_plans.sh checks both on the real plans.
  Result r(PQexec(conn_.get(), "SET application_name = 'stocksync-worker'; SET statement_timeout = '10s'; "
                               "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; SET jit = off"));
  Result c(PQexec(conn_.get(), "SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'stocksync.listing_state'::regclass "
                               "AND attname = 'push_key' AND NOT attisdropped"));
  has_push_key_ = c && PQresultStatus(c.get()) == PGRES_TUPLES_OK && PQntuples(c.get()) > 0;
}

PgDatabase::Result PgDatabase::run(const char *sql, const std::vector<std::optional<std::string>> &params,
                                   ExecStatusType want, bool prepare) {
  ensure();
  std::vector<const char *> values;
  for (auto &p : params)
    values.push_back(p ? p->c_str() : nullptr);
  // The sync loop's statements run hundreds of times a second: each is
  // prepared once per connection (parse and plan once), then executed.
  const std::string *name = nullptr;
  if (prepare) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      std::string n = "stocksync_" + std::to_string(prepared_.size() + 1);
      Result p(PQprepare(conn_.get(), n.c_str(), sql, static_cast<int>(values.size()), nullptr));
      if (!p || PQresultStatus(p.get()) != PGRES_COMMAND_OK)
        fail(p);
      it = prepared_.emplace(sql, std::move(n)).first;
    }
    name = &it->second;
  }
  Result r(name ? PQexecPrepared(conn_.get(), name->c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                 nullptr, 0)
                : PQexecParams(conn_.get(), sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                               nullptr, 0));
  if (!r || PQresultStatus(r.get()) != want)
    fail(r);
  return r;
}

// Throws the statement's error; a lost connection is reset (the next call
// reconnects and prepares again).
void PgDatabase::fail(const Result &r) {
  std::string msg = r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    conn_.reset();
    prepared_.clear();
  }
  throw DbError(msg);
}

void PgDatabase::exec(const std::string &sql) { run(sql.c_str(), {}, PGRES_COMMAND_OK, /*prepare=*/false); }

bool PgDatabase::exists(const std::string &sql, const std::vector<std::string> &params) {
  std::vector<std::optional<std::string>> p(params.begin(), params.end());
  return PQntuples(run(sql.c_str(), p, PGRES_TUPLES_OK, /*prepare=*/false).get()) > 0;
}

std::vector<ListingKey> PgDatabase::keys(Result r) {
  std::vector<ListingKey> out;
  int n = PQntuples(r.get());
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    out.emplace_back(PQgetvalue(r.get(), i, 0), PQgetvalue(r.get(), i, 1));
  return out;
}

namespace {

// The columns both load statements read, after "SELECT".
const char *kRowColumns =
    " t.channel, t.external_id, t.sku, t.channel_mode, t.desired_qty, t.inputs_version,"
    " s.state IS NOT NULL, s.state, s.acked_qty, s.acked_version, extract(epoch FROM s.acked_at),"
    " s.pushed_qty, s.attempts, s.last_error, extract(epoch FROM s.retry_at), ";

}  // namespace

std::vector<ListingRow> PgDatabase::rows(const Result &r) {
  std::vector<ListingRow> out;
  int n = PQntuples(r.get());
  out.reserve(static_cast<std::size_t>(n));
  auto v = [&](int i, int c) { return PQgetvalue(r.get(), i, c); };
  auto null = [&](int i, int c) { return PQgetisnull(r.get(), i, c) != 0; };
  for (int i = 0; i < n; ++i) {
    ListingRow row;
    row.channel = v(i, 0);
    row.external_id = v(i, 1);
    row.sku = v(i, 2);
    row.mode = v(i, 3);
    row.desired_qty = std::atoi(v(i, 4));
    row.inputs_version = std::atoll(v(i, 5));
    row.has_state = v(i, 6)[0] == 't';
    row.state = v(i, 7);
    if (!null(i, 8)) row.acked_qty = std::atoi(v(i, 8));
    if (!null(i, 9)) row.acked_version = std::atoll(v(i, 9));
    if (!null(i, 10)) row.acked_at = from_epoch(v(i, 10));
    if (!null(i, 11)) row.pushed_qty = std::atoi(v(i, 11));
    row.attempts = null(i, 12) ? 0 : std::atoi(v(i, 12));
    row.last_error = v(i, 13);
    if (!null(i, 14)) row.retry_at = from_epoch(v(i, 14));
    row.push_key = v(i, 15);
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<ListingRow> PgDatabase::load(const std::string &channel, const std::vector<std::string> &ids) {
  std::string sql =
      std::string("SELECT") + kRowColumns + (has_push_key_ ? "s.push_key" : "NULL::text") +
      "  FROM stocksync.listing_target t"
      "  LEFT JOIN stocksync.listing_state s ON s.channel = t.channel AND s.external_id = t.external_id"
      " WHERE t.channel = $1 AND t.external_id = ANY ($2::text[])";
  return rows(run(sql.c_str(), {channel, pg_text_array(ids)}, PGRES_TUPLES_OK));
}

std::vector<ListingRow> PgDatabase::load_keys(const std::vector<ListingKey> &keys) {
  std::vector<std::string> chs, exts;
  chs.reserve(keys.size());
  exts.reserve(keys.size());
  for (auto &[ch, ext] : keys) {
    chs.push_back(ch);
    exts.push_back(ext);
  }
  std::string sql =
      // One index probe per key, also in the generic plan of the prepared
      // statement (OFFSET 0 keeps the subquery from being flattened into a
      // join that computes every listing's target or scans listing_state).
      std::string("SELECT r.* FROM unnest($1::text[], $2::text[]) AS k (channel, external_id),"
                  " LATERAL (SELECT") + kRowColumns + (has_push_key_ ? "s.push_key" : "NULL::text") +
      "  FROM stocksync.listing_target t"
      "  LEFT JOIN stocksync.listing_state s ON s.channel = t.channel AND s.external_id = t.external_id"
      " WHERE t.channel = k.channel AND t.external_id = k.external_id OFFSET 0) r";
  return rows(run(sql.c_str(), {pg_text_array(chs), pg_text_array(exts)}, PGRES_TUPLES_OK));
}

std::vector<ListingKey> PgDatabase::listings_of_channel(const std::string &channel) {
  return keys(run("SELECT channel, external_id FROM stocksync.listing WHERE channel = $1", {channel}, PGRES_TUPLES_OK));
}

std::vector<ListingKey> PgDatabase::diff(const std::vector<std::string> &channels) {
  return keys(run("SELECT t.channel, t.external_id FROM stocksync.listing_target t"
                  "  LEFT JOIN stocksync.listing_state s ON s.channel = t.channel AND s.external_id = t.external_id"
                  " WHERE t.channel = ANY ($1::text[]) AND t.channel_mode <> 'paused'"
                  "   AND (s.state IS NULL OR s.state IN ('pending', 'in_flight', 'retry')"
                  "        OR (s.state = 'acked' AND s.acked_qty IS DISTINCT FROM t.desired_qty)"
                  "        OR (s.state = 'shadow' AND (t.channel_mode <> 'shadow' OR s.pushed_qty IS DISTINCT FROM t.desired_qty))"
                  "        OR (s.state = 'acked' AND t.channel_mode = 'shadow'))",
                  {pg_text_array(channels)}, PGRES_TUPLES_OK));
}

std::vector<ListingKey> PgDatabase::revived(const std::vector<std::string> &channels) {
  return keys(run("SELECT channel, external_id FROM stocksync.listing_state WHERE state = 'pending' "
                  "AND channel = ANY ($1::text[])",
                  {pg_text_array(channels)}, PGRES_TUPLES_OK));
}

std::int64_t PgDatabase::count_dead(const std::vector<std::string> &channels) {
  auto r = run("SELECT count(*) FROM stocksync.listing_state WHERE state = 'dead' AND channel = ANY ($1::text[])",
               {pg_text_array(channels)}, PGRES_TUPLES_OK);
  return std::atoll(PQgetvalue(r.get(), 0, 0));
}

void PgDatabase::write_states(const std::vector<StateWrite> &ws) {
  if (ws.empty())
    return;
  // One upsert for the whole batch, rows passed as parallel arrays; an
  // absent value is a NULL element.
  using Column = std::vector<std::optional<std::string>>;
  Column ch, ext, st, setacked, aq, av, pq, at, le, ra, pk;
  auto num = [](const auto &v) { return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt; };
  auto text = [](const std::string &v) { return v.empty() ? std::nullopt : std::optional<std::string>(v); };
  for (auto &w : ws) {
    ch.push_back(w.channel);
    ext.push_back(w.external_id);
    st.push_back(w.state);
    setacked.push_back(w.set_acked ? "t" : "f");
    aq.push_back(num(w.acked_qty));
    av.push_back(num(w.acked_version));
    pq.push_back(num(w.pushed_qty));
    at.push_back(std::to_string(w.attempts));
    le.push_back(text(w.last_error));
    ra.push_back(w.retry_at ? std::optional<std::string>(iso(*w.retry_at)) : std::nullopt);
    pk.push_back(text(w.push_key));
  }
  auto arr = [](const Column &v) { return pg_array(v); };
  std::string pk_col = has_push_key_ ? ", push_key" : "";
  std::string pk_val = has_push_key_ ? ", w.pk" : "";
  std::string pk_set = has_push_key_ ? ", push_key = EXCLUDED.push_key" : "";
  std::string sql =
      "INSERT INTO stocksync.listing_state AS s (channel, external_id, state, acked_qty, acked_version, acked_at,"
      "       pushed_qty, attempts, last_error, retry_at, updated_at" + pk_col + ")"
      " SELECT w.ch, w.ext, w.st, CASE WHEN w.sa THEN w.aq END, CASE WHEN w.sa THEN w.av END,"
      "        CASE WHEN w.sa THEN now() END, w.pq, w.at, w.le, w.ra, now()" + pk_val +
      "   FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::int[], $6::bigint[], $7::int[], $8::int[],"
      "               $9::text[], $10::timestamptz[], $11::text[]) AS w (ch, ext, st, sa, aq, av, pq, at, le, ra, pk)"
      "   JOIN stocksync.listing l ON l.channel = w.ch AND l.external_id = w.ext"
      " ON CONFLICT (channel, external_id) DO UPDATE SET"
      "   state = EXCLUDED.state,"
      "   acked_qty = CASE WHEN EXCLUDED.acked_at IS NOT NULL THEN EXCLUDED.acked_qty ELSE s.acked_qty END,"
      "   acked_version = CASE WHEN EXCLUDED.acked_at IS NOT NULL THEN EXCLUDED.acked_version ELSE s.acked_version END,"
      "   acked_at = COALESCE(EXCLUDED.acked_at, s.acked_at),"
      "   pushed_qty = COALESCE(EXCLUDED.pushed_qty, s.pushed_qty),"
      "   attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, retry_at = EXCLUDED.retry_at,"
      "   updated_at = now()" + pk_set +
      " WHERE EXCLUDED.acked_at IS NULL OR s.acked_version IS NULL OR EXCLUDED.acked_version >= s.acked_version";
  run(sql.c_str(),
      {arr(ch), arr(ext), arr(st), arr(setacked), arr(aq), arr(av), arr(pq), arr(at), arr(le), arr(ra), arr(pk)},
      PGRES_COMMAND_OK);
}

Resolved PgDatabase::resolve(const std::vector<std::uint32_t> &xids, const std::vector<SkuMark> &skus,
                             const std::vector<std::string> &channels) {
  std::vector<std::string> xid_list, sku_names, sku_xids;
  for (auto x : xids)
    xid_list.push_back(std::to_string(x));
  for (auto &[sku, x] : skus) {
    sku_names.push_back(sku);
    sku_xids.push_back(std::to_string(x));
  }
  // One statement, so one snapshot: a SKU's listings are read by the very
  // snapshot that sees its transaction. The running rule is exactly
  // PostgreSQL's own, pg_visible_in_snapshot() against that snapshot (the
  // statement's: pg_current_snapshot() is the active one): an xid is still
  // running when it is in the snapshot's xip list (the committing backend has
  // not left the ProcArray yet) or not below its xmax (latestCompletedXid + 1:
  // a just-committed xid that was the newest one is there, not in xip).
  // pgoutput sends 32-bit xids; the full xid8 is the one within 2^31 of the
  // snapshot's xmax (the decoded transaction is recent;
  // TransactionIdPrecedes() makes the same assumption). The visible SKUs
  // come from a CTE as one array, each looked up on its own (a lateral
  // subquery with OFFSET 0, so the channel list stays outside it): one probe
  // of listing_sku_idx per SKU. Written as one join on sku = ANY and
  // channel = ANY, the plan depended on the statistics at the first call:
  // without any yet (a new database, or a new worker right after a bulk
  // load of listings, before autovacuum analyzed them) PostgreSQL ANDed a
  // bitmap of the SKUs with one of the channels' listings, reading every
  // listing of the channels in every round (8,005 index entries a round in
  // bench/worker/run), and the generic plan kept it.
  // A paused channel's listings are left out: it pushes nothing, and loading
  // its rows only to skip them cost the walsender beside it a core's share
  // while the worker drained a backlog. Resuming it is a change to its
  // channel row, which marks the whole channel (listings_of_channel).
  auto r = run("WITH m AS MATERIALIZED ("
               "       SELECT s.snap, pg_catalog.pg_snapshot_xmax(s.snap)::text::bigint AS xmax"
               "         FROM (SELECT pg_catalog.pg_current_snapshot() AS snap) s),"
               "     running AS MATERIALIZED ("
               "       SELECT x.xid FROM m, unnest($1::bigint[]) AS x (xid),"
               "              LATERAL (SELECT (m.xmax % 4294967296 - x.xid + 4294967296) % 4294967296 AS d) dd"
               "        WHERE NOT pg_catalog.pg_visible_in_snapshot("
               "                (m.xmax - CASE WHEN dd.d >= 2147483648 THEN dd.d - 4294967296 ELSE dd.d END)::text::xid8,"
               "                m.snap)),"
               "     visible AS ("
               "       SELECT array_agg(DISTINCT k.sku) AS skus FROM unnest($2::text[], $3::bigint[]) AS k (sku, xid)"
               "        WHERE k.xid = 0 OR k.xid NOT IN (SELECT xid FROM running)),"
               "     unpaused AS ("
               "       SELECT array_agg(c.code) AS codes FROM stocksync.channel c"
               "        WHERE c.code = ANY ($4::text[]) AND c.mode <> 'paused')"
               " SELECT NULL::text, NULL::text, NULL::text, r.xid FROM running r"
               " UNION ALL"
               " SELECT l.sku, l.channel, l.external_id, NULL FROM visible v CROSS JOIN unpaused u"
               "   CROSS JOIN LATERAL unnest(v.skus) AS s (sku)"
               "   CROSS JOIN LATERAL (SELECT x.sku, x.channel, x.external_id FROM stocksync.listing x"
               "                        WHERE x.sku = s.sku OFFSET 0) l"
               "  WHERE l.channel = ANY (u.codes)",
               {pg_text_array(xid_list), pg_text_array(sku_names), pg_text_array(sku_xids), pg_text_array(channels)},
               PGRES_TUPLES_OK);
  Resolved out;
  for (int i = 0, n = PQntuples(r.get()); i < n; ++i) {
    if (!PQgetisnull(r.get(), i, 3))
      out.running.push_back(static_cast<std::uint32_t>(std::strtoull(PQgetvalue(r.get(), i, 3), nullptr, 10)));
    else
      out.listings.push_back(SkuListing{PQgetvalue(r.get(), i, 0), PQgetvalue(r.get(), i, 1), PQgetvalue(r.get(), i, 2)});
  }
  return out;
}

int PgDatabase::expire_holds(int max_rows) {
  auto r = run("SELECT stocksync.expire_holds($1)", {std::to_string(max_rows)}, PGRES_TUPLES_OK);
  return std::atoi(PQgetvalue(r.get(), 0, 0));
}

std::vector<std::string> PgDatabase::promote_hot_skus(int min_waiters, int buckets) {
  // One autocommit statement: the promotions commit with it. set_hot() takes
  // each contended row's lock behind the sessions queued on it, so the call
  // waits (and the core's thread with it) until that queue has drained.
  auto r = run("SELECT stocksync.promote_hot_skus($1, $2)", {std::to_string(min_waiters), std::to_string(buckets)},
               PGRES_TUPLES_OK);
  std::vector<std::string> out;
  for (int i = 0, n = PQntuples(r.get()); i < n; ++i)
    out.emplace_back(PQgetvalue(r.get(), i, 0));
  return out;
}

}  // namespace stocksync::worker
