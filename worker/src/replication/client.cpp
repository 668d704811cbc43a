// The replication client; see client.hpp.
#include "replication/client.hpp"

#include <spdlog/spdlog.h>

namespace stocksync::worker::replication {

const char *to_string(StopReason r) {
  switch (r) {
  case StopReason::none: return "none";
  case StopReason::connect_failed: return "connect_failed";
  case StopReason::identify_failed: return "identify_failed";
  case StopReason::slot_failed: return "slot_failed";
  case StopReason::start_failed: return "start_failed";
  case StopReason::connection_lost: return "connection_lost";
  case StopReason::copy_ended: return "copy_ended";
  case StopReason::protocol_error: return "protocol_error";
  case StopReason::decode_error: return "decode_error";
  case StopReason::shutdown: return "shutdown";
  }
  return "unknown";
}

namespace {

struct ResultDeleter {
  void operator()(PGresult *r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string quote_literal(const std::string &s) {
  std::string o = "'";
  for (char c : s) {
    if (c == '\'')
      o += '\'';
    o += c;
  }
  return o + "'";
}

}  // namespace

Client::Client(boost::asio::io_context &io, ClientConfig cfg, Metrics &metrics, Callbacks cb)
    : io_(io), cfg_(std::move(cfg)), metrics_(metrics), cb_(std::move(cb)), status_timer_(io), reconnect_timer_(io),
      feedback_(cfg_.status_interval, cfg_.status_min_interval), backoff_(cfg_.reconnect_min) {}

Client::~Client() {
  if (sock_)
    sock_->release();
}

void Client::start() {
  stopping_ = false;
  StopReason r = connect();
  if (r == StopReason::none)
    r = identify();
  if (r == StopReason::none)
    r = ensure_slot();
  if (r == StopReason::none)
    r = start_streaming();
  if (r != StopReason::none) {
    stopped(r, conn_ ? PQerrorMessage(conn_.get()) : "");
    return;
  }
  backoff_ = cfg_.reconnect_min;
  wait_readable();
  schedule_status();
}

void Client::stop() {
  stopping_ = true;
  if (streaming_) {
    send_status(true);  // tell the server how far we got
    stopped(StopReason::shutdown, "");
  }
  reconnect_timer_.cancel();
  status_timer_.cancel();
}

// Step 1: connect (replication=database so that SQL works too).
StopReason Client::connect() {
  std::string ci = cfg_.conninfo + " replication=database application_name=stocksync-worker-replication";
  conn_.reset(PQconnectdb(ci.c_str()));
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK)
    return StopReason::connect_failed;
  return StopReason::none;
}

// Step 2: IDENTIFY_SYSTEM: systemid, timeline, xlogpos, dbname (4 columns).
StopReason Client::identify() {
  Result r(PQexec(conn_.get(), "IDENTIFY_SYSTEM"));
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1 || PQnfields(r.get()) < 4)
    return StopReason::identify_failed;
  if (PQgetisnull(r.get(), 0, 3))
    return StopReason::identify_failed;  // not a database-specific connection
  if (auto lsn = pgoutput::parse_lsn(PQgetvalue(r.get(), 0, 2)))
    feedback_.reset(0, Feedback::Clock::now()), (void)lsn;
  return StopReason::none;
}

// Step 3: reuse the slot, or create it (missing, or invalidated by
// max_slot_wal_keep_size: wal_status 'lost'). A new slot means changes may
// have been missed: the caller runs a full diff.
StopReason Client::ensure_slot() {
  std::string q = "SELECT wal_status, plugin FROM pg_catalog.pg_replication_slots WHERE slot_name = " +
                  quote_literal(cfg_.slot);
  Result r(PQexec(conn_.get(), q.c_str()));
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK)
    return StopReason::slot_failed;
  bool exists = PQntuples(r.get()) == 1;
  if (exists && std::string(PQgetvalue(r.get(), 0, 0)) == "lost") {
    spdlog::warn("replication slot {} was invalidated (wal_status lost); dropping and recreating it", cfg_.slot);
    Result d(PQexec(conn_.get(), ("DROP_REPLICATION_SLOT " + cfg_.slot).c_str()));
    if (!d || PQresultStatus(d.get()) != PGRES_COMMAND_OK)
      return StopReason::slot_failed;
    exists = false;
  }
  if (!exists) {
    Result c(PQexec(conn_.get(), ("CREATE_REPLICATION_SLOT " + cfg_.slot + " LOGICAL pgoutput (SNAPSHOT 'nothing')").c_str()));
    if (!c || PQresultStatus(c.get()) != PGRES_TUPLES_OK)
      return StopReason::slot_failed;
    ++metrics_.slot_recreated;
    spdlog::warn("replication slot {} created; running a full diff so that nothing missed stays missed", cfg_.slot);
    if (cb_.on_slot_recreated)
      cb_.on_slot_recreated();
  }
  return StopReason::none;
}

// Step 4: START_REPLICATION from the slot's confirmed position (0/0).
StopReason Client::start_streaming() {
  std::string q = "START_REPLICATION SLOT " + cfg_.slot + " LOGICAL 0/0 (proto_version '1', publication_names " +
                  quote_literal(cfg_.publication) + ")";
  Result r(PQexec(conn_.get(), q.c_str()));
  if (!r || PQresultStatus(r.get()) != PGRES_COPY_BOTH)
    return StopReason::start_failed;
  PQsetnonblocking(conn_.get(), 1);
  relations_.clear();
  feedback_.reset(0, Feedback::Clock::now());
  sock_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_);
  sock_->assign(PQsocket(conn_.get()));
  streaming_ = true;
  metrics_.replication_connected = true;
  ++session_;
  spdlog::info("replication streaming from slot {} (publication {})", cfg_.slot, cfg_.publication);
  return StopReason::none;
}

void Client::wait_readable() {
  auto s = session_;
  sock_->async_wait(boost::asio::posix::stream_descriptor::wait_read, [this, s](boost::system::error_code ec) {
    if (s != session_ || !streaming_)
      return;
    if (ec) {
      stopped(StopReason::connection_lost, ec.message());
      return;
    }
    StopReason r = receive_all();
    if (r != StopReason::none) {
      stopped(r, conn_ ? PQerrorMessage(conn_.get()) : "");
      return;
    }
    send_status(false);
    wait_readable();
  });
}

// Step 5: receive every message that is there, one at a time.
StopReason Client::receive_all() {
  if (!PQconsumeInput(conn_.get()))
    return StopReason::connection_lost;
  for (;;) {
    char *buf = nullptr;
    int n = PQgetCopyData(conn_.get(), &buf, 1);
    if (n == 0)
      return StopReason::none;  // nothing more now
    if (n == -1) {
      Result r(PQgetResult(conn_.get()));
      return StopReason::copy_ended;
    }
    if (n < 0)
      return StopReason::connection_lost;
    std::unique_ptr<char, decltype(&PQfreemem)> holder(buf, &PQfreemem);
    ServerMessage m = parse_server_message(std::string_view(buf, static_cast<std::size_t>(n)));
    if (auto *e = std::get_if<ParseError>(&m)) {
      spdlog::error("replication protocol error: {}", e->message);
      return StopReason::protocol_error;
    }
    if (auto *k = std::get_if<Keepalive>(&m)) {
      handle_keepalive(*k);
      continue;
    }
    StopReason r = handle_xlogdata(std::get<XLogData>(m));
    if (r != StopReason::none)
      return r;
  }
}

// Step 6: a keepalive; answer at once when the server asks.
void Client::handle_keepalive(const Keepalive &k) {
  feedback_.on_keepalive(k);
  if (k.reply_requested)
    send_status(true);
}

// Step 7: XLogData: decode, mark dirty, advance the feedback position.
StopReason Client::handle_xlogdata(const XLogData &m) {
  feedback_.on_xlogdata(m);
  auto d = pgoutput::decode(m.payload);
  if (!d.ok()) {
    spdlog::error("pgoutput decode error at {}: {}", pgoutput::format_lsn(m.data_start), d.error);
    return StopReason::decode_error;
  }
  const pgoutput::Decoded &msg = *d.message;
  if (auto *rel = std::get_if<pgoutput::Relation>(&msg)) {
    relations_.put(*rel);
    return StopReason::none;
  }
  if (auto *b = std::get_if<pgoutput::Begin>(&msg)) {
    feedback_.on_begin();
    xid_ = b->xid;
    commit_time_ = std::chrono::system_clock::time_point(std::chrono::microseconds(pgoutput::to_unix_micros(b->commit_ts)));
    return StopReason::none;
  }
  if (auto *c = std::get_if<pgoutput::Commit>(&msg)) {
    feedback_.on_commit(c->end_lsn);
    ++metrics_.transactions_decoded;
    auto lag = std::chrono::system_clock::now() - commit_time_;
    metrics_.replication_lag_seconds = std::max(0.0, std::chrono::duration<double>(lag).count());
    return StopReason::none;
  }
  DirtyMarks marks;
  marks.xid = xid_;
  std::string error;
  if (!collect_dirty(relations_, msg, marks, error)) {
    spdlog::error("replication: {}", error);
    return StopReason::decode_error;
  }
  if (!marks.empty()) {
    ++metrics_.changes_decoded;
    if (cb_.on_marks)
      cb_.on_marks(marks, commit_time_);
  }
  return StopReason::none;
}

// Step 8: the standby status update, by the rules in protocol.hpp.
bool Client::send_status(bool force) {
  if (!streaming_)
    return false;
  auto now = Feedback::Clock::now();
  if (!force && !feedback_.due(now))
    return true;
  auto st = feedback_.take(now);
  std::string msg = build_standby_status(st.write, st.flush, st.apply, to_pg_timestamp(std::chrono::system_clock::now()), false);
  if (PQputCopyData(conn_.get(), msg.data(), static_cast<int>(msg.size())) <= 0 || PQflush(conn_.get()) < 0) {
    stopped(StopReason::connection_lost, PQerrorMessage(conn_.get()));
    return false;
  }
  auto end = feedback_.server_wal_end();
  metrics_.replication_lag_bytes = end > st.flush ? static_cast<double>(end - st.flush) : 0.0;
  return true;
}

void Client::schedule_status() {
  auto s = session_;
  status_timer_.expires_after(cfg_.status_min_interval);
  status_timer_.async_wait([this, s](boost::system::error_code ec) {
    if (ec || s != session_ || !streaming_)
      return;
    send_status(false);
    schedule_status();
  });
}

// Step 9: stop; release the socket from Asio before libpq closes it, then
// reconnect after a backoff unless we are shutting down.
void Client::stopped(StopReason r, const std::string &detail) {
  bool was_streaming = streaming_;
  streaming_ = false;
  metrics_.replication_connected = false;
  ++session_;
  if (sock_) {
    boost::system::error_code ec;
    sock_->cancel(ec);
    sock_->release();
    sock_.reset();
  }
  status_timer_.cancel();
  conn_.reset();
  if (r == StopReason::shutdown || stopping_) {
    spdlog::info("replication stopped");
    return;
  }
  std::string d = detail;
  while (!d.empty() && (d.back() == '\n' || d.back() == ' '))
    d.pop_back();
  spdlog::warn("replication stopped ({}){}{}; reconnecting in {} ms", to_string(r), d.empty() ? "" : ": ", d,
               backoff_.count());
  if (was_streaming || r != StopReason::none)
    ++metrics_.replication_reconnects;
  reconnect_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, cfg_.reconnect_max);
  reconnect_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopping_)
      start();
  });
}

}  // namespace stocksync::worker::replication
