// Load generator for bench/webhooks/run: signed Shopify orders/create
// deliveries per second end to end (signature, reserve, commit, answer), and
// its peer, bare stocksync.reserve() calls over libpq, at the same
// concurrency. Every request is a new order (unique id and event id) with
// its own HMAC, which is why no stock HTTP load tool fits.
//
//   webhook_loadgen http HOST PORT PATH SECRET CONNECTIONS SECONDS SKUS PREFIX PAID
//   webhook_loadgen reserve CONNINFO CONNECTIONS SECONDS SKUS PREFIX
//   webhook_loadgen ingest CONNINFO CONNECTIONS SECONDS SKUS PREFIX   (ingest_webhook() over libpq)
// Prints "<completed> <seconds> <per second> <failed>".
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string b64_hmac(const std::string &key, const std::string &msg) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char *>(msg.data()),
       msg.size(), mac, &len);
  std::string out(4 * ((len + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()), mac, static_cast<int>(len));
  return out;
}

// One keep-alive connection; returns the HTTP status or -1.
struct Conn {
  int fd = -1;
  std::string buf;
  bool open(const char *host, int port) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host, &a.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
  }
  int request(const std::string &req) {
    for (std::size_t off = 0; off < req.size();) {
      ssize_t n = write(fd, req.data() + off, req.size() - off);
      if (n <= 0)
        return -1;
      off += static_cast<std::size_t>(n);
    }
    buf.clear();
    for (;;) {
      auto end = buf.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto cl = buf.find("Content-Length: ");
        if (cl == std::string::npos)
          cl = buf.find("content-length: ");
        std::size_t body = cl == std::string::npos ? 0 : std::strtoul(buf.c_str() + cl + 16, nullptr, 10);
        if (buf.size() >= end + 4 + body)
          return std::atoi(buf.c_str() + 9);
      }
      char tmp[8192];
      ssize_t n = read(fd, tmp, sizeof tmp);
      if (n <= 0)
        return -1;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
  }
};

// Runs body(thread index, stop time, done, failed) on conns threads and
// prints "<completed> <seconds> <per second> <failed>".
template <class Body> void drive(int conns, double secs, Body body, long *failed_out = nullptr) {
  std::atomic<long> done{0}, failed{0};
  auto stop_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
  auto start = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < conns; ++t)
    ts.emplace_back([&, t] { body(t, stop_at, done, failed); });
  for (auto &th : ts)
    th.join();
  double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%ld %.3f %.1f %ld\n", done.load(), took, done / took, failed.load());
  if (failed_out)
    *failed_out = done == 0 ? failed.load() : 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc >= 11 && std::strcmp(argv[1], "http") == 0) {
    const char *host = argv[2];
    int port = std::atoi(argv[3]);
    std::string path = argv[4], secret = argv[5];
    int conns = std::atoi(argv[6]);
    double secs = std::atof(argv[7]);
    int skus = std::atoi(argv[8]);
    std::string prefix = argv[9];
    bool paid = std::atoi(argv[10]) != 0;
    long hard_failures = 0;
    drive(conns, secs, [&](int t, Clock::time_point stop_at, std::atomic<long> &done, std::atomic<long> &failed) {
        Conn c;
        if (!c.open(host, port)) {
          ++failed;
          return;
        }
        for (long i = 0; Clock::now() < stop_at; ++i) {
          long id = (static_cast<long>(t) << 32) + i;
          int sku = static_cast<int>((id * 7919 + t) % skus) + 1;
          std::string body = "{\"id\":\"" + prefix + std::to_string(id) + "\",\"financial_status\":\"" +
                             (paid ? "paid" : "pending") + "\",\"line_items\":[{\"id\":1,\"variant_id\":" +
                             std::to_string(100000 + sku) + ",\"sku\":\"SKU-" + std::to_string(sku) +
                             "\",\"quantity\":1}]}";
          std::string req = "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n" +
                            "X-Shopify-Topic: orders/create\r\nX-Shopify-Shop-Domain: shop.myshopify.com\r\nX-Shopify-Event-Id: " + prefix + std::to_string(id) +
                            "\r\nX-Shopify-Hmac-Sha256: " + b64_hmac(secret, body) +
                            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
          int status = c.request(req);
          if (status == 200)
            ++done;
          else {
            ++failed;
            if (status < 0)
              return;
          }
        }
      }, &hard_failures);
    return hard_failures > 0 ? 1 : 0;
  }
  if (argc >= 7 && (std::strcmp(argv[1], "reserve") == 0 || std::strcmp(argv[1], "ingest") == 0)) {
    bool ingest = std::strcmp(argv[1], "ingest") == 0;
    std::string conninfo = argv[2];
    int conns = std::atoi(argv[3]);
    double secs = std::atof(argv[4]);
    int skus = std::atoi(argv[5]);
    std::string prefix = argv[6];
    drive(conns, secs, [&](int t, Clock::time_point stop_at, std::atomic<long> &done, std::atomic<long> &failed) {
        PGconn *pg = PQconnectdb(conninfo.c_str());
        PGresult *p = PQprepare(pg, "r",
                                ingest ? "SELECT stocksync.ingest_webhook('shop', $1, 'orders/create', "
                                         "jsonb_build_object('action', 'order', 'channel', 'shop', 'order_ref', $1::text, "
                                         "'paid', false, 'ttl_s', 86400, 'lines', $2::jsonb))"
                                       : "SELECT stocksync.reserve('shop', $1, $2::jsonb, on_shortage => 'record')",
                                0, nullptr);
        PQclear(p);
        for (long i = 0; PQstatus(pg) == CONNECTION_OK && Clock::now() < stop_at; ++i) {
          long id = (static_cast<long>(t) << 32) + i;
          int sku = static_cast<int>((id * 7919 + t) % skus) + 1;
          std::string ref = prefix + std::to_string(id);
          std::string lines = "[{\"sku\":\"SKU-" + std::to_string(sku) + "\",\"qty\":1" +
                              (ingest ? ",\"ids\":[\"" + std::to_string(100000 + sku) + "\"]" : std::string()) + "}]";
          const char *params[] = {ref.c_str(), lines.c_str()};
          PGresult *r = PQexecPrepared(pg, "r", 2, params, nullptr, nullptr, 0);
          if (PQresultStatus(r) == PGRES_TUPLES_OK)
            ++done;
          else
            ++failed;
          PQclear(r);
        }
        PQfinish(pg);
      });
    return 0;
  }
  std::fprintf(stderr,
               "usage: webhook_loadgen http HOST PORT PATH SECRET CONNECTIONS SECONDS SKUS PREFIX PAID\n"
               "       webhook_loadgen reserve CONNINFO CONNECTIONS SECONDS SKUS PREFIX\n");
  return 2;
}
