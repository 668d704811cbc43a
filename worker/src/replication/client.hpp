// The replication client, shaped like PostgreSQL's receivelog.c: connect,
// identify, create-or-reuse the slot, start, receive one message, handle a
// keepalive, handle XLogData, send a standby status update, stop; each a
// separate step returning a result, the reason for stopping an enum.
//
// Connection state machine:
//   disconnected -> connecting -> (identify, slot) -> streaming -> stopped(reason)
//   stopped -> backoff (reconnect_min doubling to reconnect_max) -> connecting
// The socket is watched with posix::stream_descriptor::async_wait (assigned
// on start, released before PQfinish, never closed by Asio).
#pragma once

#include "metrics.hpp"
#include "replication/changes.hpp"
#include "replication/pgoutput.hpp"
#include "replication/protocol.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <string>

namespace stocksync::worker::replication {

enum class StopReason {
  none,
  connect_failed,
  identify_failed,
  slot_failed,
  start_failed,
  connection_lost,   // socket error, server shutdown
  copy_ended,        // the server ended the COPY
  protocol_error,    // malformed message
  decode_error,      // pgoutput message we cannot decode
  shutdown,          // we were asked to stop
};
const char *to_string(StopReason r);

struct ClientConfig {
  std::string conninfo;  // without replication=database (added here)
  std::string slot;
  std::string publication;
  std::chrono::milliseconds status_interval{10000};
  std::chrono::milliseconds status_min_interval{20};
  std::chrono::milliseconds reconnect_min{200};
  std::chrono::milliseconds reconnect_max{10000};
};

class Client {
public:
  struct Callbacks {
    // What a committed change makes dirty (marks.xid: its transaction), with
    // its commit time.
    std::function<void(const DirtyMarks &, std::chrono::system_clock::time_point)> on_marks;
    // The slot was missing or invalid and has been created anew: changes
    // may have been missed, run a full diff.
    std::function<void()> on_slot_recreated;
  };
  Client(boost::asio::io_context &io, ClientConfig cfg, Metrics &metrics, Callbacks cb);
  ~Client();
  void start();
  void stop();
  bool streaming() const { return streaming_; }

private:
  StopReason connect();
  StopReason identify();
  StopReason ensure_slot();
  StopReason start_streaming();
  void wait_readable();
  StopReason receive_all();
  StopReason handle_xlogdata(const XLogData &m);
  void handle_keepalive(const Keepalive &k);
  bool send_status(bool force);
  void schedule_status();
  void stopped(StopReason r, const std::string &detail);

  boost::asio::io_context &io_;
  ClientConfig cfg_;
  Metrics &metrics_;
  Callbacks cb_;
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_{nullptr, &PQfinish};
  std::unique_ptr<boost::asio::posix::stream_descriptor> sock_;
  boost::asio::steady_timer status_timer_;
  boost::asio::steady_timer reconnect_timer_;
  Feedback feedback_;
  pgoutput::RelationCache relations_;
  std::chrono::system_clock::time_point commit_time_{};
  std::uint32_t xid_ = 0;  // of the transaction being decoded (Begin)
  std::chrono::milliseconds backoff_;
  bool streaming_ = false;
  bool stopping_ = false;
  std::uint64_t session_ = 0;
};

}  // namespace stocksync::worker::replication
