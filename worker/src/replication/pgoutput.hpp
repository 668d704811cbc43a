// A pure decoder for the pgoutput logical replication protocol, version 1
// (PostgreSQL docs, "Logical Replication Message Formats"): bytes in, one
// message out. No sockets, no clock, no allocation beyond the result.
//
// Every length is checked before it is read: a truncated or malformed message
// yields an error, never a read past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace stocksync::worker::pgoutput {

using Lsn = std::uint64_t;
using Oid = std::uint32_t;
// Microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's TimestampTz).
using PgTimestamp = std::int64_t;

// 'B': a transaction starts.
struct Begin {
  Lsn final_lsn = 0;         // Int64: LSN of the commit record
  PgTimestamp commit_ts = 0; // Int64: commit time
  std::uint32_t xid = 0;     // Int32
};

// 'C': the transaction committed.
struct Commit {
  std::uint8_t flags = 0;    // Int8: unused, 0
  Lsn commit_lsn = 0;        // Int64: LSN of the commit record
  Lsn end_lsn = 0;           // Int64: end of the transaction's WAL; confirm up to here
  PgTimestamp commit_ts = 0; // Int64
};

// 'O': the transaction came from another origin.
struct Origin {
  Lsn lsn = 0;       // Int64: commit LSN on the origin
  std::string name;  // String
};

struct Column {
  std::uint8_t flags = 0;  // Int8: 1 = part of the key
  std::string name;        // String
  Oid type_oid = 0;        // Int32
  std::int32_t type_mod = 0;  // Int32
};

// 'R': a relation's description; always sent before the first change to it
// in a session and again after its definition changes.
struct Relation {
  Oid oid = 0;                     // Int32
  std::string nspname;             // String
  std::string relname;             // String
  std::uint8_t replica_identity = 0;  // Int8: d, n, f, i
  std::vector<Column> columns;     // Int16 count, then per column
};

// 'Y': a type's name (for non-built-in types).
struct Type {
  Oid oid = 0;
  std::string nspname;
  std::string name;
};

// One column value of a TupleData.
struct Value {
  enum class Kind : char { null = 'n', unchanged_toast = 'u', text = 't', binary = 'b' };
  Kind kind = Kind::null;
  std::string data;  // for text and binary
};

// TupleData: Int16 count, then per column Byte1 kind [Int32 length, bytes].
struct Tuple {
  std::vector<Value> values;
};

// 'I'
struct Insert {
  Oid relation = 0;  // Int32
  Tuple new_tuple;   // Byte1 'N' then TupleData
};

// 'U': old_key ('K') or old_tuple ('O') only with REPLICA IDENTITY or a key change.
struct Update {
  Oid relation = 0;
  std::optional<Tuple> old_key;    // 'K'
  std::optional<Tuple> old_tuple;  // 'O'
  Tuple new_tuple;                 // 'N'
};

// 'D'
struct Delete {
  Oid relation = 0;
  std::optional<Tuple> old_key;    // 'K'
  std::optional<Tuple> old_tuple;  // 'O'
};

// 'T'
struct Truncate {
  std::uint8_t options = 0;  // Int8: 1 = CASCADE, 2 = RESTART IDENTITY
  std::vector<Oid> relations;
};

// 'M': pg_logical_emit_message (only with the messages option).
struct Message {
  std::uint8_t flags = 0;  // 1 = transactional
  Lsn lsn = 0;
  std::string prefix;
  std::string content;
};

using Decoded = std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate, Message>;

struct DecodeResult {
  std::optional<Decoded> message;  // set on success
  std::string error;               // set on failure
  bool ok() const { return message.has_value(); }
};

// Decodes one pgoutput message (the payload of one XLogData).
DecodeResult decode(std::string_view bytes);

// The relations seen so far in a session, by oid; resolves column names.
class RelationCache {
public:
  void put(Relation r) { relations_[r.oid] = std::move(r); }
  const Relation *find(Oid oid) const {
    auto it = relations_.find(oid);
    return it == relations_.end() ? nullptr : &it->second;
  }
  // The text value of column `name` in tuple t of relation oid, nullopt when
  // the relation or column is unknown or the value is null/unchanged.
  std::optional<std::string> text(Oid oid, const Tuple &t, std::string_view name) const;
  void clear() { relations_.clear(); }

private:
  std::unordered_map<Oid, Relation> relations_;
};

// PgTimestamp -> microseconds since the Unix epoch.
inline std::int64_t to_unix_micros(PgTimestamp t) { return t + 946684800LL * 1000000LL; }

// "X/Y" as PostgreSQL prints an LSN.
std::string format_lsn(Lsn lsn);
// Parses "X/Y"; nullopt when malformed.
std::optional<Lsn> parse_lsn(std::string_view s);

}  // namespace stocksync::worker::pgoutput
