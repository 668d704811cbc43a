// Database on libpq: a dedicated plain connection used from the I/O thread.
// Statements are short, schema-qualified, with parameters; a lost
// connection is reset on the next call (DbError until it is back).
#pragma once

#include "sync/interfaces.hpp"

#include <libpq-fe.h>

#include <memory>

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
  std::vector<SkuListing> listings_of_skus(const std::vector<std::string> &skus,
                                           const std::vector<std::string> &channels) override;
  std::vector<ListingKey> listings_of_channel(const std::string &channel) override;
  std::vector<ListingKey> diff(const std::vector<std::string> &channels) override;
  std::vector<ListingKey> revived(const std::vector<std::string> &channels) override;
  std::int64_t count_dead(const std::vector<std::string> &channels) override;
  void write_states(const std::vector<StateWrite> &writes) override;
  std::vector<std::uint32_t> still_running(const std::vector<std::uint32_t> &xids) override;
  int expire_holds(int max_rows) override;

private:
  struct ResultDeleter {
    void operator()(PGresult *r) const { PQclear(r); }
  };
  using Result = std::unique_ptr<PGresult, ResultDeleter>;
  Result run(const char *sql, const std::vector<std::optional<std::string>> &params, ExecStatusType want);
  std::vector<ListingKey> keys(Result r);

  std::string conninfo_;
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_{nullptr, &PQfinish};
  bool has_push_key_ = false;
};

// {a,b} as a PostgreSQL text[] literal.
std::string pg_text_array(const std::vector<std::string> &v);

}  // namespace stocksync::worker
