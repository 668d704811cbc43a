// A plain libpq session of its own for the order polling and reconciliation
// modules, so that their transactions (apply a page of orders and advance the
// cursor; correct a drifted listing) never interleave with the sync core's
// statements. Used from the io_context thread; statements are short and
// parameterised; a lost connection is reset and re-opened on the next call.
#pragma once

#include "sync/interfaces.hpp"

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stocksync::worker {

// A failed statement, with its SQLSTATE (empty when the connection failed).
struct PgError : DbError {
  PgError(const std::string &message, std::string state) : DbError(message), sqlstate(std::move(state)) {}
  std::string sqlstate;
};

class PgConn {
public:
  struct ResultDeleter {
    void operator()(PGresult *r) const { PQclear(r); }
  };
  using Result = std::unique_ptr<PGresult, ResultDeleter>;
  using Params = std::vector<std::optional<std::string>>;

  PgConn(std::string conninfo, std::string application_name);

  // Connects if needed; throws PgError.
  void ensure();
  // Runs one statement (rows or none); throws PgError with the SQLSTATE.
  Result query(const char *sql, const Params &params = {});
  // Runs a statement without parameters (BEGIN, SAVEPOINT ...).
  void exec(const char *sql) { query(sql); }

  // Cell helpers on a result.
  static std::string text(const Result &r, int row, int col) { return PQgetvalue(r.get(), row, col); }
  static bool null(const Result &r, int row, int col) { return PQgetisnull(r.get(), row, col) != 0; }
  static std::optional<long long> integer(const Result &r, int row, int col);
  static std::optional<double> number(const Result &r, int row, int col);

private:
  std::string conninfo_;
  std::string application_name_;
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_{nullptr, &PQfinish};
};

// A transaction on a PgConn: BEGIN now, ROLLBACK on destruction unless
// commit() ran (an exception leaves nothing half applied).
class PgTransaction {
public:
  explicit PgTransaction(PgConn &conn);
  ~PgTransaction();
  PgTransaction(const PgTransaction &) = delete;
  PgTransaction &operator=(const PgTransaction &) = delete;
  void commit();

private:
  PgConn &conn_;
  bool done_ = false;
};

}  // namespace stocksync::worker
