// PgConn and PgTransaction; see pg_conn.hpp.
#include "util/pg_conn.hpp"

#include <cstdlib>

namespace stocksync::worker {

PgConn::PgConn(std::string conninfo, std::string application_name)
    : conninfo_(std::move(conninfo)), application_name_(std::move(application_name)) {}

void PgConn::ensure() {
  if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK)
    return;
  conn_.reset(PQconnectdb(conninfo_.c_str()));
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    std::string msg = conn_ ? PQerrorMessage(conn_.get()) : "out of memory";
    conn_.reset();
    throw PgError("database connection failed: " + msg, "");
  }
  // A stuck statement must not stall the loop thread for long.
  std::string setup = "SET application_name = '" + application_name_ + "'; SET statement_timeout = '10s'";
  Result r(PQexec(conn_.get(), setup.c_str()));
}

PgConn::Result PgConn::query(const char *sql, const Params &params) {
  ensure();
  std::vector<const char *> values;
  values.reserve(params.size());
  for (auto &p : params)
    values.push_back(p ? p->c_str() : nullptr);
  Result r(PQexecParams(conn_.get(), sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
  auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    std::string msg = r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn_.get());
    const char *state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    while (!msg.empty() && msg.back() == '\n')
      msg.pop_back();
    if (PQstatus(conn_.get()) != CONNECTION_OK)
      conn_.reset();
    throw PgError(msg, state ? state : "");
  }
  return r;
}

std::optional<long long> PgConn::integer(const Result &r, int row, int col) {
  if (null(r, row, col))
    return std::nullopt;
  return std::atoll(PQgetvalue(r.get(), row, col));
}

std::optional<double> PgConn::number(const Result &r, int row, int col) {
  if (null(r, row, col))
    return std::nullopt;
  return std::strtod(PQgetvalue(r.get(), row, col), nullptr);
}

PgTransaction::PgTransaction(PgConn &conn) : conn_(conn) { conn_.exec("BEGIN"); }

PgTransaction::~PgTransaction() {
  if (done_)
    return;
  try {
    conn_.exec("ROLLBACK");
  } catch (const DbError &) {
    // The connection is gone: the server rolled back already.
  }
}

void PgTransaction::commit() {
  done_ = true;
  conn_.exec("COMMIT");
}

}  // namespace stocksync::worker
