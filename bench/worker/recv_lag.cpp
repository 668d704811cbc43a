// The peer's reader in bench/worker/run: reads pg_recvlogical's pgoutput
// (proto_version 1) stream from stdin and, on EOF, writes one line per
// transaction, "commit_unix_s arrival_unix_s", to argv[1].
//
// pg_recvlogical writes each message followed by a newline with write(2) and
// no buffering, so the time of the read that completes a Commit message is
// when the consumer saw the commit. A message may hold newline bytes itself,
// so messages are delimited by their own lengths, the newline only checked.
//
// Native, not a script: the reader runs beside everything the benchmark
// measures on the same cores, at thousands of messages a second.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <utility>
#include <vector>

namespace {

constexpr double kPgEpoch = 946684800;  // 2000-01-01 in unix seconds

// A cursor over the bytes received so far; every read past the end leaves it
// incomplete (the message waits for more bytes).
class Cursor {
public:
  Cursor(const std::vector<unsigned char> &b, std::size_t at) : b_(b), at_(at) {}
  bool ok() const { return ok_; }
  std::size_t at() const { return at_; }
  void skip(std::size_t n) { need(n) ? void(at_ += n) : void(); }
  unsigned char byte() { return need(1) ? b_[at_++] : 0; }
  std::int64_t be(int n) {
    std::int64_t v = 0;
    if (!need(static_cast<std::size_t>(n)))
      return 0;
    for (int i = 0; i < n; ++i)
      v = (v << 8) | b_[at_++];
    return v;
  }
  void cstring() {
    const void *nul = at_ < b_.size() ? std::memchr(&b_[at_], 0, b_.size() - at_) : nullptr;
    if (!nul) {
      ok_ = false;
      return;
    }
    at_ = static_cast<std::size_t>(static_cast<const unsigned char *>(nul) - b_.data()) + 1;
  }
  void tuple() {
    auto columns = static_cast<int>(be(2));
    for (int c = 0; ok_ && c < columns; ++c) {
      unsigned char kind = byte();
      if (kind == 't' || kind == 'b')
        skip(static_cast<std::size_t>(be(4)));
    }
  }

private:
  bool need(std::size_t n) {
    ok_ = ok_ && at_ + n <= b_.size();
    return ok_;
  }
  const std::vector<unsigned char> &b_;
  std::size_t at_;
  bool ok_ = true;
};

// The end (exclusive) of the message at `at` and, for a Commit, its commit
// time in unix seconds; nullopt while the message is incomplete.
std::optional<std::pair<std::size_t, std::optional<double>>> message_end(const std::vector<unsigned char> &b,
                                                                          std::size_t at) {
  Cursor c(b, at);
  std::optional<double> commit;
  switch (unsigned char type = c.byte()) {
  case 'B':
    c.skip(20);
    break;
  case 'C':
    c.skip(17);  // flags, commit LSN, end LSN
    commit = static_cast<double>(c.be(8)) / 1e6 + kPgEpoch;
    break;
  case 'O':
    c.skip(8);
    c.cstring();
    break;
  case 'R': {
    c.skip(4);
    c.cstring();
    c.cstring();
    c.skip(1);
    auto columns = static_cast<int>(c.be(2));
    for (int i = 0; c.ok() && i < columns; ++i) {
      c.skip(1);
      c.cstring();
      c.skip(8);
    }
    break;
  }
  case 'Y':
    c.skip(4);
    c.cstring();
    c.cstring();
    break;
  case 'I':
  case 'D':
    c.skip(5);
    c.tuple();
    break;
  case 'U': {
    c.skip(4);
    unsigned char next = c.byte();
    if (next == 'K' || next == 'O') {
      c.tuple();
      c.skip(1);  // 'N'
    }
    c.tuple();
    break;
  }
  case 'T':
    c.skip(static_cast<std::size_t>(c.be(4)) * 4 + 1);
    break;
  case 'M':
    c.skip(9);
    c.cstring();
    c.skip(static_cast<std::size_t>(c.be(4)));
    break;
  default:
    if (c.ok()) {
      std::fprintf(stderr, "recv_lag: unknown pgoutput message '%c'\n", type);
      std::exit(1);
    }
  }
  // The newline after the message must have arrived too.
  if (!c.ok() || c.at() >= b.size())
    return std::nullopt;
  return std::make_pair(c.at(), commit);
}

double unix_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: recv_lag OUT_FILE < pg_recvlogical output\n");
    return 2;
  }
  std::vector<std::pair<double, double>> lags;  // commit, arrival
  std::vector<unsigned char> buf;
  std::vector<unsigned char> chunk(1 << 20);
  for (;;) {
    ssize_t n = read(STDIN_FILENO, chunk.data(), chunk.size());
    double now = unix_now();
    if (n < 0) {
      std::perror("recv_lag: read");
      return 1;
    }
    if (n == 0)
      break;
    buf.insert(buf.end(), chunk.begin(), chunk.begin() + n);
    std::size_t at = 0;
    while (at < buf.size()) {
      auto m = message_end(buf, at);
      if (!m)
        break;
      if (m->second)
        lags.emplace_back(*m->second, now);
      if (buf[m->first] != '\n') {
        std::fprintf(stderr, "recv_lag: lost message framing\n");
        return 1;
      }
      at = m->first + 1;
    }
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(at));
  }
  std::FILE *out = std::fopen(argv[1], "w");
  if (!out) {
    std::perror(argv[1]);
    return 1;
  }
  for (auto &[commit, arrival] : lags)
    std::fprintf(out, "%.6f %.6f\n", commit, arrival);
  return std::fclose(out) == 0 ? 0 : 1;
}
