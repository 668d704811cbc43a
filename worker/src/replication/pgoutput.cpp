// pgoutput protocol v1 decoder; see pgoutput.hpp.
#include "replication/pgoutput.hpp"

#include <cstdio>

namespace stocksync::worker::pgoutput {
namespace {

// A bounds-checked big-endian reader over one message.
class Reader {
public:
  explicit Reader(std::string_view b) : b_(b) {}

  bool u8(std::uint8_t &out) {
    if (!need(1))
      return false;
    out = static_cast<std::uint8_t>(b_[pos_++]);
    return true;
  }
  bool u16(std::uint16_t &out) {
    std::uint64_t v;
    if (!be(2, v))
      return false;
    out = static_cast<std::uint16_t>(v);
    return true;
  }
  bool u32(std::uint32_t &out) {
    std::uint64_t v;
    if (!be(4, v))
      return false;
    out = static_cast<std::uint32_t>(v);
    return true;
  }
  bool i32(std::int32_t &out) {
    std::uint32_t v;
    if (!u32(v))
      return false;
    out = static_cast<std::int32_t>(v);
    return true;
  }
  bool u64(std::uint64_t &out) { return be(8, out); }
  bool i64(std::int64_t &out) {
    std::uint64_t v;
    if (!be(8, v))
      return false;
    out = static_cast<std::int64_t>(v);
    return true;
  }
  // A NUL-terminated String.
  bool cstr(std::string &out) {
    auto nul = b_.find('\0', pos_);
    if (nul == std::string_view::npos)
      return fail("unterminated string");
    out.assign(b_.substr(pos_, nul - pos_));
    pos_ = nul + 1;
    return true;
  }
  bool bytes(std::size_t n, std::string &out) {
    if (!need(n))
      return false;
    out.assign(b_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool peek(char &c) const {
    if (pos_ >= b_.size())
      return false;
    c = b_[pos_];
    return true;
  }
  bool at_end() const { return pos_ == b_.size(); }
  std::size_t remaining() const { return b_.size() - pos_; }
  const std::string &error() const { return error_; }
  bool fail(std::string e) {
    if (error_.empty())
      error_ = std::move(e) + " at offset " + std::to_string(pos_);
    return false;
  }

private:
  bool need(std::size_t n) {
    if (b_.size() - pos_ < n)
      return fail("truncated message: need " + std::to_string(n) + " bytes, have " +
                  std::to_string(b_.size() - pos_));
    return true;
  }
  bool be(std::size_t n, std::uint64_t &out) {
    if (!need(n))
      return false;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
      v = (v << 8) | static_cast<std::uint8_t>(b_[pos_ + i]);
    pos_ += n;
    out = v;
    return true;
  }

  std::string_view b_;
  std::size_t pos_ = 0;
  std::string error_;
};

// TupleData: Int16 ncols; per column Byte1 kind ('n', 'u', 't', 'b'); for
// 't'/'b' Int32 length then that many bytes.
bool read_tuple(Reader &r, Tuple &t) {
  std::uint16_t n;
  if (!r.u16(n))
    return false;
  // Each column takes at least one byte: refuse counts the message cannot hold.
  if (n > r.remaining())
    return r.fail("tuple claims " + std::to_string(n) + " columns");
  t.values.resize(n);
  for (auto &v : t.values) {
    std::uint8_t kind;
    if (!r.u8(kind))
      return false;
    switch (kind) {
    case 'n': v.kind = Value::Kind::null; break;
    case 'u': v.kind = Value::Kind::unchanged_toast; break;
    case 't':
    case 'b': {
      v.kind = kind == 't' ? Value::Kind::text : Value::Kind::binary;
      std::int32_t len;
      if (!r.i32(len))
        return false;
      if (len < 0)
        return r.fail("negative column length");
      if (!r.bytes(static_cast<std::size_t>(len), v.data))
        return false;
      break;
    }
    default: return r.fail(std::string("unknown tuple column kind '") + static_cast<char>(kind) + "'");
    }
  }
  return true;
}

// Optional 'K' or 'O' old tuple, as in Update and Delete.
bool read_old(Reader &r, std::optional<Tuple> &key, std::optional<Tuple> &old, bool required) {
  char c;
  if (!r.peek(c))
    return required ? r.fail("missing tuple") : true;
  if (c == 'K' || c == 'O') {
    std::uint8_t skip;
    r.u8(skip);
    Tuple t;
    if (!read_tuple(r, t))
      return false;
    (c == 'K' ? key : old) = std::move(t);
    return true;
  }
  return required ? r.fail(std::string("expected 'K' or 'O', got '") + c + "'") : true;
}

bool expect_new(Reader &r) {
  std::uint8_t c;
  if (!r.u8(c))
    return false;
  if (c != 'N')
    return r.fail(std::string("expected 'N', got '") + static_cast<char>(c) + "'");
  return true;
}

}  // namespace

DecodeResult decode(std::string_view bytes) {
  Reader r(bytes);
  DecodeResult out;
  std::uint8_t tag;
  if (!r.u8(tag)) {
    out.error = "empty message";
    return out;
  }
  bool ok = false;
  switch (tag) {
  case 'B': {
    Begin m;
    ok = r.u64(m.final_lsn) && r.i64(m.commit_ts) && r.u32(m.xid);
    if (ok) out.message = m;
    break;
  }
  case 'C': {
    Commit m;
    ok = r.u8(m.flags) && r.u64(m.commit_lsn) && r.u64(m.end_lsn) && r.i64(m.commit_ts);
    if (ok) out.message = m;
    break;
  }
  case 'O': {
    Origin m;
    ok = r.u64(m.lsn) && r.cstr(m.name);
    if (ok) out.message = std::move(m);
    break;
  }
  case 'R': {
    Relation m;
    std::uint16_t n;
    ok = r.u32(m.oid) && r.cstr(m.nspname) && r.cstr(m.relname) && r.u8(m.replica_identity) && r.u16(n);
    if (ok && n > r.remaining())
      ok = r.fail("relation claims " + std::to_string(n) + " columns");
    if (ok) {
      m.columns.resize(n);
      for (auto &c : m.columns) {
        ok = r.u8(c.flags) && r.cstr(c.name) && r.u32(c.type_oid) && r.i32(c.type_mod);
        if (!ok)
          break;
      }
    }
    if (ok) out.message = std::move(m);
    break;
  }
  case 'Y': {
    Type m;
    ok = r.u32(m.oid) && r.cstr(m.nspname) && r.cstr(m.name);
    if (ok) out.message = std::move(m);
    break;
  }
  case 'I': {
    Insert m;
    ok = r.u32(m.relation) && expect_new(r) && read_tuple(r, m.new_tuple);
    if (ok) out.message = std::move(m);
    break;
  }
  case 'U': {
    Update m;
    ok = r.u32(m.relation) && read_old(r, m.old_key, m.old_tuple, false) && expect_new(r) &&
         read_tuple(r, m.new_tuple);
    if (ok) out.message = std::move(m);
    break;
  }
  case 'D': {
    Delete m;
    ok = r.u32(m.relation) && read_old(r, m.old_key, m.old_tuple, true);
    if (ok) out.message = std::move(m);
    break;
  }
  case 'T': {
    Truncate m;
    std::uint32_t n;
    ok = r.u32(n) && r.u8(m.options);
    if (ok && n > r.remaining() / 4)
      ok = r.fail("truncate claims " + std::to_string(n) + " relations");
    if (ok) {
      m.relations.resize(n);
      for (auto &oid : m.relations)
        if (!(ok = r.u32(oid)))
          break;
    }
    if (ok) out.message = std::move(m);
    break;
  }
  case 'M': {
    Message m;
    std::uint32_t len;
    ok = r.u8(m.flags) && r.u64(m.lsn) && r.cstr(m.prefix) && r.u32(len) && r.bytes(len, m.content);
    if (ok) out.message = std::move(m);
    break;
  }
  default:
    out.error = std::string("unknown pgoutput message type '") + static_cast<char>(tag) + "'";
    return out;
  }
  if (ok && !r.at_end()) {
    out.message.reset();
    out.error = std::to_string(r.remaining()) + " trailing bytes after '" + static_cast<char>(tag) + "' message";
    return out;
  }
  if (!ok) {
    out.message.reset();
    out.error = std::string("'") + static_cast<char>(tag) + "' message: " + r.error();
  }
  return out;
}

std::optional<std::string> RelationCache::text(Oid oid, const Tuple &t, std::string_view name) const {
  const Relation *rel = find(oid);
  if (!rel)
    return std::nullopt;
  for (std::size_t i = 0; i < rel->columns.size() && i < t.values.size(); ++i)
    if (rel->columns[i].name == name) {
      const Value &v = t.values[i];
      if (v.kind == Value::Kind::text || v.kind == Value::Kind::binary)
        return v.data;
      return std::nullopt;
    }
  return std::nullopt;
}

std::string format_lsn(Lsn lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn));
  return buf;
}

std::optional<Lsn> parse_lsn(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size() || slash > 8 || s.size() - slash - 1 > 8)
    return std::nullopt;
  auto hex = [](std::string_view h, std::uint64_t &v) {
    v = 0;
    for (char c : h) {
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else return false;
      v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    return true;
  };
  std::uint64_t hi, lo;
  if (!hex(s.substr(0, slash), hi) || !hex(s.substr(slash + 1), lo))
    return std::nullopt;
  return (hi << 32) | lo;
}

}  // namespace stocksync::worker::pgoutput
