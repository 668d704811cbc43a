// Database on libpq: a dedicated plain connection used from the sync core's
// thread only (sync/core_thread.hpp; setup in main.cpp runs before that
// thread starts). Statements are short, schema-qualified, with parameters,
// prepared once per connection; a lost
// connection is reset on the next call (DbError until it is back).
#pragma once

#include "sync/interfaces.hpp"

#include <libpq-fe.h>

#include <map>
#include <memory>
#include <optional>

namespace stocksync::worker {

class PgDatabase : public Database {
public:
  explicit PgDatabase(std::string conninfo);
  // Connects (or reconnects); throws DbError.
  void ensure();
  // Runs a statement without parameters (setup); throws DbError.
  void exec(const std::string &sql);
  // Whether a query returns at least one row.
  bool exists(const std::string &sql, const std::vector<std::string> &params);

  std::vector<ListingRow> load(const std::string &channel, const std::vector<std::string> &external_ids) override;
  std::vector<ListingRow> load_keys(const std::vector<ListingKey> &keys) override;
  Resolved resolve(const std::vector<std::uint32_t> &xids, const std::vector<SkuMark> &skus,
                   const std::vector<std::string> &channels) override;
  std::vector<ListingKey> listings_of_channel(const std::string &channel) override;
  std::vector<ListingKey> diff(const std::vector<std::string> &channels) override;
  std::vector<ListingKey> revived(const std::vector<std::string> &channels) override;
  std::int64_t count_dead(const std::vector<std::string> &channels) override;
  void write_states(const std::vector<StateWrite> &writes) override;
  int expire_holds(int max_rows) override;
  std::vector<std::string> promote_hot_skus(int min_waiters, int buckets) override;

private:
  struct ResultDeleter {
    void operator()(PGresult *r) const { PQclear(r); }
  };
  using Result = std::unique_ptr<PGresult, ResultDeleter>;
  // prepare: a prepared statement per distinct sql text and connection.
  Result run(const char *sql, const std::vector<std::optional<std::string>> &params, ExecStatusType want,
             bool prepare = true);
  [[noreturn]] void fail(const Result &r);
  std::vector<ListingKey> keys(Result r);
  static std::vector<ListingRow> rows(const Result &r);

  std::string conninfo_;
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_{nullptr, &PQfinish};
  bool has_push_key_ = false;
  std::map<std::string, std::string> prepared_;  // sql text -> statement name (this connection)
};

// {a,b} as a PostgreSQL text[] literal.
std::string pg_text_array(const std::vector<std::string> &v);
// The same with NULL elements for absent values.
std::string pg_array(const std::vector<std::optional<std::string>> &v);

}  // namespace stocksync::worker
