// Starts the real stocksync-sim binary on a free loopback port and talks to it over HTTP with curl,
// including a webhook delivered to a receiver in this test.
#include "helpers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

using namespace simtest;

namespace {

// A one-shot HTTP receiver: accepts connections, records requests, answers with the given statuses.
struct Receiver {
  int fd = -1;
  int port = 0;
  std::vector<std::string> requests;
  std::thread th;
  explicit Receiver(std::vector<int> statuses) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 8);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    th = std::thread([this, statuses]() {
      for (int st : statuses) {
        int c = accept(fd, nullptr, nullptr);
        if (c < 0) return;
        std::string req;
        char buf[8192];
        // Read headers, then Content-Length bytes of body.
        while (req.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = read(c, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        size_t hdr_end = req.find("\r\n\r\n");
        std::string lower = sim::to_lower(req.substr(0, hdr_end));
        size_t cl = lower.find("content-length: ");
        size_t want = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 16));
        while (req.size() < hdr_end + 4 + want) {
          ssize_t n = read(c, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        requests.push_back(req);
        std::string resp = "HTTP/1.1 " + std::to_string(st) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)!write(c, resp.data(), resp.size());
        close(c);
      }
    });
  }
  ~Receiver() {
    shutdown(fd, SHUT_RDWR);
    close(fd);
    if (th.joinable()) th.join();
  }
  static std::string header(const std::string& req, const std::string& name) {
    std::string lower = sim::to_lower(req);
    size_t p = lower.find("\r\n" + sim::to_lower(name) + ": ");
    if (p == std::string::npos) return {};
    p += name.size() + 4;
    return req.substr(p, req.find("\r\n", p) - p);
  }
  static std::string body(const std::string& req) { return req.substr(req.find("\r\n\r\n") + 4); }
};

}  // namespace

TEST(SimBinary, ServesOverHttpAndDeliversSignedWebhooks) {
  Receiver rx({500, 200});
  std::string dir = shell("mktemp -d");
  std::string scen = dir + "/s.toml";
  std::ofstream(scen) << "[sim]\nseed = 5\ntime_scale = 1\nwebhook_retry_compression = 200\n"
                      << "[[channels]]\nname = \"shop\"\nkind = \"shopify\"\naccess_token = \"shpat_b\"\n"
                      << "webhook_url = \"http://127.0.0.1:" << rx.port << "/hook\"\n"
                      << "  [[channels.listings]]\n  id = \"1001\"\n  sku = \"SKU-1\"\n  quantity = 9\n";
  std::string cmd = std::string(STOCKSYNC_SIM_BINARY) + " --scenario " + scen + " --listen 127.0.0.1:0 --port-file " +
                    dir + "/port > " + dir + "/log 2>&1 &";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string port;
  for (int i = 0; i < 100 && port.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    port = shell("cat " + dir + "/port 2>/dev/null");
  }
  ASSERT_FALSE(port.empty()) << shell("cat " + dir + "/log");
  std::string base = "http://127.0.0.1:" + port;

  std::string health = shell("curl -s " + base + "/_sim/health");
  EXPECT_EQ(json::parse(health)["ok"], true);

  std::string q = R"({"query":"mutation { inventorySetQuantities(input: {name: \"available\", reason: \"correction\", quantities: [{inventoryItemId: \"gid://shopify/InventoryItem/1001\", locationId: \"gid://shopify/Location/124656943\", quantity: 7, changeFromQuantity: 9}]}) @idempotent(key: \"b1\") { userErrors { code } } }"})";
  std::string out = shell("curl -s -w '\\n%{http_code}' -H 'X-Shopify-Access-Token: shpat_b' -H 'Content-Type: application/json' --data " +
                          sq(q) + " " + base + "/shopify/shop/admin/api/2026-04/graphql.json");
  auto nl = out.rfind('\n');
  EXPECT_EQ(out.substr(nl + 1), "200");
  json r = json::parse(out.substr(0, nl));
  EXPECT_TRUE(r["data"]["inventorySetQuantities"]["userErrors"].empty());
  EXPECT_EQ(r["extensions"]["cost"]["requestedQueryCost"], 10);

  out = shell("curl -s -o /dev/null -w '%{http_code}' --data '{}' " + base + "/shopify/shop/admin/api/2026-04/graphql.json");
  EXPECT_EQ(out, "401");

  // An order, delivered to the receiver: first attempt 500, retry 200.
  out = shell("curl -s -X POST --data '{\"listing\":\"1001\",\"quantity\":2}' " + base + "/_sim/channels/shop/orders");
  EXPECT_EQ(json::parse(out)["line_items"][0]["quantity"], 2);
  for (int i = 0; i < 100 && rx.requests.size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(rx.requests.size(), 2u);
  for (auto& req : rx.requests) {
    std::string b = Receiver::body(req);
    std::string cli = shell("printf '%s' " + sq(b) + " | openssl dgst -sha256 -hmac hush -binary | base64");
    EXPECT_EQ(Receiver::header(req, "X-Shopify-Hmac-Sha256"), cli);
    EXPECT_EQ(Receiver::header(req, "X-Shopify-Topic"), "orders/create");
  }
  EXPECT_EQ(Receiver::header(rx.requests[0], "X-Shopify-Event-Id"), Receiver::header(rx.requests[1], "X-Shopify-Event-Id"));
  EXPECT_NE(Receiver::header(rx.requests[0], "X-Shopify-Webhook-Id"), Receiver::header(rx.requests[1], "X-Shopify-Webhook-Id"));

  json st = json::parse(shell("curl -s " + base + "/_sim/state"));
  auto& shop = st["channels"][0];
  EXPECT_EQ(shop["listings"][0]["shown"], 5);
  EXPECT_EQ(shop["webhooks"]["delivered"], 1);
  EXPECT_EQ(shop["webhooks"]["retries"], 1);

  shell("curl -s -X POST " + base + "/_sim/shutdown");
  bool stopped = false;
  for (int i = 0; i < 40 && !stopped; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stopped = shell("curl -s -o /dev/null -w '%{http_code}' " + base + "/_sim/health") == "000";
  }
  EXPECT_TRUE(stopped);
  shell("rm -rf " + dir);
}

TEST(SimBinary, BadScenarioExitsWithMessage) {
  std::string dir = shell("mktemp -d");
  std::ofstream(dir + "/bad.toml") << "[[channels]]\nname = \"x\"\nkind = \"nope\"\n";
  std::string out = shell(std::string(STOCKSYNC_SIM_BINARY) + " --scenario " + dir + "/bad.toml 2>&1; echo rc=$?");
  EXPECT_NE(out.find("unknown kind"), std::string::npos) << out;
  EXPECT_NE(out.find("rc=2"), std::string::npos);
  shell("rm -rf " + dir);
}
