// The webhook server's database threads; see ingest_pool.hpp.
#include "webhooks/ingest_pool.hpp"

#include <boost/asio/post.hpp>
#include <libpq-fe.h>

#include <memory>

namespace stocksync::worker::webhooks {

namespace {

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

std::string trimmed(const char *s) {
  std::string m = s ? s : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
    m.pop_back();
  return m;
}

}  // namespace

// One libpq connection, owned by one pool thread; reconnected when lost.
struct IngestPool::Connection {
  std::string conninfo;
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn{nullptr, &PQfinish};
  std::string error;

  bool ensure() {
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
    for (auto [name, sql] : {std::pair{"ingest", "SELECT stocksync.ingest_webhook($1, $2, $3, $4::jsonb)"},
                             std::pair{"refusal", "SELECT stocksync.record_webhook_refusal($1, $2, $3, $4::jsonb, $5, $6)"}}) {
      PgResult r(PQprepare(conn.get(), name, sql, 0, nullptr), &PQclear);
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        error = trimmed(PQresultErrorMessage(r.get()));
        conn.reset();
        return false;
      }
    }
    return true;
  }

  PgResult exec(const char *stmt, const std::vector<const char *> &params) {
    return PgResult(PQexecPrepared(conn.get(), stmt, static_cast<int>(params.size()), params.data(), nullptr,
                                   nullptr, 0),
                    &PQclear);
  }

  bool lost() const { return !conn || PQstatus(conn.get()) != CONNECTION_OK; }
};

IngestPool::IngestPool(boost::asio::io_context &io, std::string conninfo, int threads, std::size_t queue_limit)
    : io_(io), conninfo_(std::move(conninfo)), queue_limit_(queue_limit) {
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([this, i] { run(i); });
}

IngestPool::~IngestPool() { stop(); }

void IngestPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto &t : threads_)
    if (t.joinable())
      t.join();
}

std::size_t IngestPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool IngestPool::enqueue(std::function<void(Connection &)> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= queue_limit_)
      return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void IngestPool::run(int) {
  Connection c;
  c.conninfo = conninfo_;
  for (;;) {
    std::function<void(Connection &)> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;  // stopping, and every job taken was finished
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job(c);
  }
}

void IngestPool::ingest(std::array<std::string, 4> params, std::function<void(IngestResult)> done) {
  auto shared_done = std::make_shared<std::function<void(IngestResult)>>(std::move(done));
  bool queued = enqueue([this, params = std::move(params), shared_done](Connection &c) {
    IngestResult res;
    std::vector<const char *> p{params[0].c_str(), params[1].c_str(), params[2].c_str(), params[3].c_str()};
    // Retried: a lost connection (ingest_webhook is idempotent on the event
    // id, so a commit whose answer was lost is found as a duplicate), a
    // serialization failure or a deadlock.
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (!c.ensure()) {
        res = {IngestResult::Kind::unavailable, "", "cannot connect: " + c.error};
        break;
      }
      PgResult r = c.exec("ingest", p);
      if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1) {
        std::string outcome = PQgetvalue(r.get(), 0, 0);
        res = {outcome == "duplicate" ? IngestResult::Kind::duplicate : IngestResult::Kind::applied, outcome, ""};
        break;
      }
      const char *state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
      std::string sqlstate = state ? state : "";
      std::string message = trimmed(PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY));
      if (c.lost()) {
        res = {IngestResult::Kind::unavailable, sqlstate, "connection lost: " + trimmed(PQerrorMessage(c.conn.get()))};
        c.conn.reset();
        continue;
      }
      if (sqlstate == "40001" || sqlstate == "40P01") {
        res = {IngestResult::Kind::unavailable, sqlstate, message};
        continue;
      }
      // A stocksync refusal (SS class) or data the event carried that SQL
      // refused (class 22): kept with its reason, never dropped.
      if (sqlstate.rfind("SS", 0) == 0 || sqlstate.rfind("22", 0) == 0) {
        std::vector<const char *> q = p;
        q.push_back(sqlstate.c_str());
        q.push_back(message.c_str());
        PgResult k = c.exec("refusal", q);
        if (PQresultStatus(k.get()) == PGRES_TUPLES_OK && PQntuples(k.get()) == 1)
          res = {std::string(PQgetvalue(k.get(), 0, 0)) == "t" ? IngestResult::Kind::refused
                                                                 : IngestResult::Kind::duplicate,
                 sqlstate, message};
        else
          res = {IngestResult::Kind::failed, sqlstate,
                 message + "; keeping it failed: " + trimmed(PQresultErrorMessage(k.get()))};
        break;
      }
      res = {IngestResult::Kind::failed, sqlstate, message};
      break;
    }
    boost::asio::post(io_, [shared_done, res = std::move(res)]() mutable { (*shared_done)(std::move(res)); });
  });
  if (!queued)
    boost::asio::post(io_, [shared_done] {
      (*shared_done)({IngestResult::Kind::unavailable, "", "too many webhooks waiting for the database"});
    });
}

void IngestPool::housekeeping(std::int64_t keep_s, std::function<void(Housekeeping)> done) {
  auto shared_done = std::make_shared<std::function<void(Housekeeping)>>(std::move(done));
  enqueue([this, keep_s, shared_done](Connection &c) {
    Housekeeping h;
    if (!c.ensure()) {
      h.error = "cannot connect: " + c.error;
    } else {
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
    }
    boost::asio::post(io_, [shared_done, h = std::move(h)]() mutable { (*shared_done)(std::move(h)); });
  });
}

}  // namespace stocksync::worker::webhooks
