// The streaming replication protocol's CopyData messages (PostgreSQL docs,
// "Streaming Replication Protocol"), pure: parse what the server sends,
// build what the client sends. Every header length is checked before reading.
#pragma once

#include "replication/pgoutput.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace stocksync::worker::replication {

using pgoutput::Lsn;

// 'w' XLogData:
//   Byte1('w') Int64 dataStart  Int64 walEnd  Int64 sendTime  Byte(n) payload
struct XLogData {
  Lsn data_start = 0;
  Lsn wal_end = 0;
  std::int64_t send_time = 0;  // PgTimestamp
  std::string_view payload;    // one pgoutput message; points into the input
};

// 'k' Primary keepalive:
//   Byte1('k') Int64 walEnd  Int64 sendTime  Byte1 replyRequested
struct Keepalive {
  Lsn wal_end = 0;
  std::int64_t send_time = 0;
  bool reply_requested = false;
};

struct ParseError {
  std::string message;
};

using ServerMessage = std::variant<XLogData, Keepalive, ParseError>;

// Parses one CopyData payload from the server.
ServerMessage parse_server_message(std::string_view bytes);

// 'r' Standby status update (34 bytes):
//   Byte1('r') Int64 write  Int64 flush  Int64 apply  Int64 sendTime  Byte1 replyRequested
std::string build_standby_status(Lsn write, Lsn flush, Lsn apply, std::int64_t send_time, bool reply_requested);

// Microseconds since 2000-01-01 (PostgreSQL epoch) for a system_clock time.
std::int64_t to_pg_timestamp(std::chrono::system_clock::time_point t);

// The feedback rules, in one place.
//
// What the worker reports in each standby status update:
//   write = the highest WAL position received (the end of the last XLogData
//           or keepalive walEnd while no transaction is open).
//   flush = the end LSN of the last *fully processed* commit: every change of
//           that transaction and of all before it has been decoded and the
//           listings it touches have been marked dirty in memory. The worker
//           does not wait for channels: desired state is recomputed in SQL at
//           push time and acknowledged state lives in stocksync.listing_state,
//           so a dirty mark that a crash loses costs a delay, never a lost
//           push (the start-up full diff finds every listing whose
//           acknowledged quantity differs from the desired one). This is what
//           keeps WAL from piling up while a channel is down.
//           A keepalive received while no transaction is open also advances
//           flush to its walEnd: everything before it was delivered and
//           processed (WAL of unpublished tables produces only keepalives).
//   apply = flush.
// When a status is sent:
//   - at once when the server asks (keepalive with replyRequested = 1);
//   - when flush has advanced and at least min_interval passed since the
//     last status (bounded chatter at high commit rates);
//   - at least every status_interval, even when nothing changed (the server's
//     wal_sender_timeout must not fire).
class Feedback {
public:
  using Clock = std::chrono::steady_clock;
  Feedback(std::chrono::milliseconds status_interval, std::chrono::milliseconds min_interval)
      : status_interval_(status_interval), min_interval_(min_interval) {}

  // Streaming starts (again) at start_lsn (the slot's confirmed position).
  void reset(Lsn start_lsn, Clock::time_point now);
  // An XLogData arrived (before its payload is processed).
  void on_xlogdata(const XLogData &m);
  // A Begin was processed.
  void on_begin() { in_transaction_ = true; }
  // A Commit was processed and its changes marked dirty.
  void on_commit(Lsn end_lsn);
  // A keepalive arrived.
  void on_keepalive(const Keepalive &k);

  // Whether a status should be sent now.
  bool due(Clock::time_point now) const;
  // Records that a status was sent now; returns the (write, flush, apply) sent.
  struct Status {
    Lsn write, flush, apply;
    bool reply_requested;
  };
  Status take(Clock::time_point now);

  Lsn write() const { return write_; }
  Lsn flush() const { return flush_; }
  Lsn server_wal_end() const { return server_wal_end_; }
  Clock::time_point next_deadline() const;

private:
  std::chrono::milliseconds status_interval_;
  std::chrono::milliseconds min_interval_;
  Lsn write_ = 0, flush_ = 0, sent_flush_ = 0, server_wal_end_ = 0;
  bool in_transaction_ = false;
  bool reply_requested_ = false;
  Clock::time_point last_sent_{};
};

}  // namespace stocksync::worker::replication
