// Streaming replication CopyData messages and the feedback rules; see protocol.hpp.
#include "replication/protocol.hpp"

#include <algorithm>

namespace stocksync::worker::replication {
namespace {

std::uint64_t read_be64(std::string_view b, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<std::uint8_t>(b[at + i]);
  return v;
}

void write_be64(std::string &out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

ServerMessage parse_server_message(std::string_view b) {
  if (b.empty())
    return ParseError{"empty CopyData message"};
  switch (b[0]) {
  case 'w': {
    // 1 + 8 + 8 + 8 header bytes, then the payload.
    if (b.size() < 25)
      return ParseError{"XLogData header too short: " + std::to_string(b.size()) + " bytes"};
    XLogData m;
    m.data_start = read_be64(b, 1);
    m.wal_end = read_be64(b, 9);
    m.send_time = static_cast<std::int64_t>(read_be64(b, 17));
    m.payload = b.substr(25);
    return m;
  }
  case 'k': {
    // 1 + 8 + 8 + 1 bytes.
    if (b.size() < 18)
      return ParseError{"keepalive too short: " + std::to_string(b.size()) + " bytes"};
    Keepalive k;
    k.wal_end = read_be64(b, 1);
    k.send_time = static_cast<std::int64_t>(read_be64(b, 9));
    k.reply_requested = b[17] != 0;
    return k;
  }
  default:
    return ParseError{std::string("unrecognized streaming header '") + b[0] + "'"};
  }
}

std::string build_standby_status(Lsn write, Lsn flush, Lsn apply, std::int64_t send_time, bool reply_requested) {
  std::string out;
  out.reserve(34);
  out.push_back('r');
  write_be64(out, write);
  write_be64(out, flush);
  write_be64(out, apply);
  write_be64(out, static_cast<std::uint64_t>(send_time));
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

std::int64_t to_pg_timestamp(std::chrono::system_clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return us - 946684800LL * 1000000LL;
}

void Feedback::reset(Lsn start_lsn, Clock::time_point now) {
  write_ = std::max(write_, start_lsn);
  flush_ = std::max(flush_, start_lsn);
  sent_flush_ = 0;  // a new connection: tell the server where we are soon
  in_transaction_ = false;
  reply_requested_ = false;
  last_sent_ = now - status_interval_;
}

void Feedback::on_xlogdata(const XLogData &m) {
  write_ = std::max(write_, m.data_start);
  server_wal_end_ = std::max(server_wal_end_, m.wal_end);
}

void Feedback::on_commit(Lsn end_lsn) {
  in_transaction_ = false;
  write_ = std::max(write_, end_lsn);
  flush_ = std::max(flush_, end_lsn);
}

void Feedback::on_keepalive(const Keepalive &k) {
  server_wal_end_ = std::max(server_wal_end_, k.wal_end);
  if (!in_transaction_) {
    write_ = std::max(write_, k.wal_end);
    flush_ = std::max(flush_, k.wal_end);
  }
  if (k.reply_requested)
    reply_requested_ = true;
}

bool Feedback::due(Clock::time_point now) const {
  if (reply_requested_)
    return true;
  if (flush_ > sent_flush_ && now - last_sent_ >= min_interval_)
    return true;
  return now - last_sent_ >= status_interval_;
}

Feedback::Clock::time_point Feedback::next_deadline() const {
  if (flush_ > sent_flush_)
    return last_sent_ + min_interval_;
  return last_sent_ + status_interval_;
}

Feedback::Status Feedback::take(Clock::time_point now) {
  Status s{write_, flush_, flush_, false};
  sent_flush_ = flush_;
  last_sent_ = now;
  reply_requested_ = false;
  return s;
}

}  // namespace stocksync::worker::replication
