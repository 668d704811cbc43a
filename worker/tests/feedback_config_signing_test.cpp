// Feedback rules of the replication protocol, the configuration check, and
// Standard Webhooks signatures checked against a second implementation
// (openssl dgst).
#include "adapters/webhook.hpp"
#include "config.hpp"
#include "replication/protocol.hpp"
#include "util/crypto.hpp"

#include <gtest/gtest.h>

#include <cstdio>

using namespace stocksync::worker;
using namespace stocksync::worker::replication;
using namespace std::chrono_literals;

TEST(WorkerFeedback, KeepaliveParsedAndHeaderLengthsChecked) {
  std::string k = "k" + std::string("\0\0\0\0\x01\x02\x03\x04", 8) + std::string(8, '\0') + std::string("\x01", 1);
  auto m = parse_server_message(k);
  ASSERT_TRUE(std::holds_alternative<Keepalive>(m));
  EXPECT_EQ(std::get<Keepalive>(m).wal_end, 0x01020304u);
  EXPECT_TRUE(std::get<Keepalive>(m).reply_requested);
  for (std::size_t n = 0; n < k.size(); ++n)
    EXPECT_TRUE(std::holds_alternative<ParseError>(parse_server_message(k.substr(0, n)))) << n;
  std::string w = "w" + std::string(24, '\0') + "B";
  for (std::size_t n = 0; n < 25; ++n)
    EXPECT_TRUE(std::holds_alternative<ParseError>(parse_server_message(w.substr(0, n)))) << n;
  ASSERT_TRUE(std::holds_alternative<XLogData>(parse_server_message(w)));
  EXPECT_EQ(std::get<XLogData>(parse_server_message(w)).payload, "B");
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse_server_message("x123")));
}

TEST(WorkerFeedback, StandbyStatusLayout) {
  auto s = build_standby_status(0x10, 0x20, 0x30, 0x40, true);
  ASSERT_EQ(s.size(), 34u);
  EXPECT_EQ(s[0], 'r');
  EXPECT_EQ(s[8], 0x10);
  EXPECT_EQ(s[16], 0x20);
  EXPECT_EQ(s[24], 0x30);
  EXPECT_EQ(s[32], 0x40);
  EXPECT_EQ(s[33], 1);
}

TEST(WorkerFeedback, FlushFollowsProcessedCommitsNotChannels) {
  Feedback f(10s, 100ms);
  auto t0 = Feedback::Clock::time_point(1000s);
  f.reset(0x100, t0);
  EXPECT_TRUE(f.due(t0));  // a new connection reports at once
  f.take(t0);
  f.on_xlogdata(XLogData{0x200, 0x300, 0, {}});
  f.on_begin();
  // Inside a transaction a keepalive does not move flush.
  f.on_keepalive(Keepalive{0x400, 0, false});
  EXPECT_EQ(f.flush(), 0x100u);
  // The commit is processed (listings marked dirty): flush moves to its end,
  // whatever the channels do.
  f.on_commit(0x280);
  EXPECT_EQ(f.flush(), 0x280u);
  // Not before min_interval since the last status...
  EXPECT_FALSE(f.due(t0 + 50ms));
  // ...then yes.
  EXPECT_TRUE(f.due(t0 + 100ms));
  auto st = f.take(t0 + 100ms);
  EXPECT_EQ(st.flush, 0x280u);
  EXPECT_EQ(st.apply, 0x280u);
  EXPECT_GE(st.write, st.flush);
  // Idle: a keepalive outside a transaction advances flush to its walEnd.
  f.on_keepalive(Keepalive{0x500, 0, false});
  EXPECT_EQ(f.flush(), 0x500u);
  // A reply request is answered at once.
  f.take(t0 + 150ms);
  f.on_keepalive(Keepalive{0x500, 0, true});
  EXPECT_TRUE(f.due(t0 + 151ms));
  f.take(t0 + 151ms);
  // Nothing new: quiet until status_interval.
  EXPECT_FALSE(f.due(t0 + 5s));
  EXPECT_TRUE(f.due(t0 + 151ms + 10s));
}

TEST(WorkerConfig, ValidConfigParses) {
  setenv("WORKER_TEST_TOKEN", "shpat_secret", 1);
  std::string err;
  auto c = parse_config(R"(
[database]
conninfo = "dbname=x"
[sync]
max_attempts = 5
[channels.shop]
kind = "shopify"
base_url = "http://127.0.0.1:1/shopify/demo/"
batch_size = 100
[channels.shop.credentials]
access_token_env = "WORKER_TEST_TOKEN"
[channels.shop.options]
location_id = 124656943
)",
                        "t.toml", err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->slot, "stocksync_worker");
  EXPECT_EQ(c->publication, "stocksync");
  EXPECT_EQ(c->sync.max_attempts, 5);
  ASSERT_EQ(c->channels.size(), 1u);
  EXPECT_EQ(c->channels[0].base_url, "http://127.0.0.1:1/shopify/demo");
  EXPECT_EQ(c->channels[0].credentials.at("access_token"), "shpat_secret");
  EXPECT_EQ(c->channels[0].options.at("location_id"), "124656943");
}

TEST(WorkerConfig, BadKeysAreNamed) {
  struct Case {
    const char *toml, *key;
  } cases[] = {
      {"[database]\nconninfo='x'\n[sync]\nfull_dif_interval_ms=1\n[channels.a]\nkind='webhook'\nbase_url='http://x'", "sync.full_dif_interval_ms"},
      {"[database]\nconninfo='x'\n[channels.a]\nkind='shopfy'\nbase_url='http://x'", "channels.a.kind"},
      {"[database]\nconninfo='x'\n[channels.a]\nkind='webhook'\nbase_url='ftp://x'", "channels.a.base_url"},
      {"[database]\nconninfo='x'\n[channels.a]\nkind='webhook'\nbase_url='http://x'\nbatch_size=0", "channels.a.batch_size"},
      {"[database]\nslot='x'", "database.conninfo"},
      {"[database]\nconninfo='x'\nslot='Bad-Slot'\n[channels.a]\nkind='webhook'\nbase_url='http://x'", "database.slot"},
      {"[database]\nconninfo='x'\n[channels.a]\nkind='webhook'\nbase_url='http://x'\n[channels.a.credentials]\nsecret_env='WORKER_TEST_UNSET_VAR'", "channels.a.credentials.secret_env"},
      {"[database]\nconninfo='x'", "channels"},
      {"[database]\nconninfo='x'\n[channels.a]\nkind='woocommerce'", "channels.a.base_url"},
  };
  for (auto &c : cases) {
    std::string err;
    EXPECT_FALSE(parse_config(c.toml, "t.toml", err)) << c.toml;
    EXPECT_NE(err.find(std::string("\"") + c.key + "\""), std::string::npos) << err;
  }
}

// [sync] hot_sku_*: defaults, values, 0 turns the check off, bad values named.
TEST(WorkerConfig, HotSkuKeys) {
  const std::string channel = "[channels.a]\nkind='webhook'\nbase_url='http://x'\n";
  std::string err;
  auto d = parse_config("[database]\nconninfo='x'\n" + channel, "t.toml", err);
  ASSERT_TRUE(d) << err;
  EXPECT_EQ(d->sync.hot_sku_check_interval, 1000ms);
  EXPECT_EQ(d->sync.hot_sku_min_waiters, 2);
  EXPECT_EQ(d->sync.hot_sku_buckets, 64);

  auto c = parse_config("[database]\nconninfo='x'\n[sync]\nhot_sku_check_interval_ms=250\nhot_sku_min_waiters=5\n"
                        "hot_sku_buckets=256\n" + channel,
                        "t.toml", err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->sync.hot_sku_check_interval, 250ms);
  EXPECT_EQ(c->sync.hot_sku_min_waiters, 5);
  EXPECT_EQ(c->sync.hot_sku_buckets, 256);

  auto off = parse_config(
      "[database]\nconninfo='x'\n[sync]\nhot_sku_check_interval_ms=0\nhot_sku_buckets=1\n" + channel, "t.toml", err);
  ASSERT_TRUE(off) << err;
  EXPECT_EQ(off->sync.hot_sku_check_interval, 0ms);
  EXPECT_EQ(off->sync.hot_sku_buckets, 1);

  struct Case {
    const char *line, *key;
  } cases[] = {
      {"hot_sku_check_interval_ms=-1", "sync.hot_sku_check_interval_ms"},
      {"hot_sku_check_interval_ms='1s'", "sync.hot_sku_check_interval_ms"},
      {"hot_sku_min_waiters=1", "sync.hot_sku_min_waiters"},
      {"hot_sku_min_waiters=0", "sync.hot_sku_min_waiters"},
      {"hot_sku_buckets=0", "sync.hot_sku_buckets"},
      {"hot_sku_buckets=257", "sync.hot_sku_buckets"},
      {"hot_skus_buckets=4", "sync.hot_skus_buckets"},
  };
  for (auto &k : cases) {
    std::string toml = "[database]\nconninfo='x'\n[sync]\n" + std::string(k.line) + "\n" + channel;
    EXPECT_FALSE(parse_config(toml, "t.toml", err)) << k.line;
    EXPECT_NE(err.find(std::string("\"") + k.key + "\""), std::string::npos) << err;
  }
}

// Amazon and eBay have one public endpoint each: base_url may be left out
// (the adapter's default); every other kind must name its own address.
TEST(WorkerConfig, PublicEndpointsNeedNoBaseUrl) {
  std::string err;
  auto c = parse_config("[database]\nconninfo='x'\n[channels.amzn]\nkind='amazon'\n[channels.e]\nkind='ebay'",
                        "t.toml", err);
  ASSERT_TRUE(c) << err;
  for (auto &ch : c->channels)
    EXPECT_EQ(ch.base_url, "") << ch.code;
}

TEST(WorkerConfig, SecretsNeverAppearInErrors) {
  std::string err;
  parse_config("[database]\nconninfo='password=hunter2'\n[channels.a]\nkind='nope'\nbase_url='http://x'", "t.toml", err);
  EXPECT_EQ(err.find("hunter2"), std::string::npos);
}

namespace {
std::string run(const std::string &cmd) {
  std::string out;
  FILE *p = popen(cmd.c_str(), "r");
  if (!p)
    return out;
  char buf[256];
  while (fgets(buf, sizeof buf, p))
    out += buf;
  pclose(p);
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}
}  // namespace

TEST(WorkerSigning, StandardWebhooksTestVector) {
  auto key = std_webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key);
  std::string body = R"({"type":"stock.changed","timestamp":"2026-11-22T10:00:00Z","data":{"sku":"SKU-1","available":7}})";
  EXPECT_EQ(std_webhook_signature(*key, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231, body),
            "v1,AhxNt/Qbiw4L8tpRIH3A3oW642w1nM8+KAPGosNXifA=");
  EXPECT_EQ(verify_std_webhook(*key, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1674087231",
                               "v1,bogus= v1,AhxNt/Qbiw4L8tpRIH3A3oW642w1nM8+KAPGosNXifA=", body, 1674087231 + 10),
            StdWebhookVerdict::ok);
  EXPECT_EQ(verify_std_webhook(*key, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1674087231",
                               "v1,AhxNt/Qbiw4L8tpRIH3A3oW642w1nM8+KAPGosNXifA=", body + " ", 1674087231),
            StdWebhookVerdict::bad_signature);
  EXPECT_EQ(verify_std_webhook(*key, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1674087231",
                               "v1,AhxNt/Qbiw4L8tpRIH3A3oW642w1nM8+KAPGosNXifA=", body, 1674087231 + 301),
            StdWebhookVerdict::too_old);
  // Digits past what a 64-bit sum holds are refused, not wrapped around.
  for (std::string ts : {"9999999999999999999", "18446744075383638847"})
    EXPECT_EQ(verify_std_webhook(*key, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts,
                                 "v1,AhxNt/Qbiw4L8tpRIH3A3oW642w1nM8+KAPGosNXifA=", body, 1674087231),
              StdWebhookVerdict::bad_timestamp)
        << ts;
}

TEST(WorkerSigning, WebhookRequestVerifiedByOpenssl) {
  ChannelConfig cfg;
  cfg.code = "erp";
  cfg.base_url = "http://127.0.0.1:1/hooks/erp";
  struct NoHttp : HttpClient {
    void send(HttpRequest, std::function<void(HttpResponse)>) override {}
  } http;
  boost::asio::io_context io;
  AdapterEnv env{io, http};
  auto key = *std_webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  WebhookAdapter ad(cfg, env, key);
  ListingPush p;
  p.external_id = "SKU-1";
  p.sku = "SKU-1";
  p.desired_qty = 7;
  p.idempotency_key = "k1";
  auto req = ad.build_request({p}, 1674087231);
  auto id = *find_header(req.headers, "webhook-id");
  auto sig = *find_header(req.headers, "webhook-signature");
  // Second implementation: openssl with the decoded key in hex.
  std::string hexkey;
  for (unsigned char c : key) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", c);
    hexkey += b;
  }
  std::string content = id + ".1674087231." + req.body;
  std::string path = ::testing::TempDir() + "/worker_sig_content";
  FILE *f = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(f);
  std::fwrite(content.data(), 1, content.size(), f);
  std::fclose(f);
  std::string expected =
      run("openssl dgst -sha256 -mac HMAC -macopt hexkey:" + hexkey + " -binary " + path + " | base64 -w0");
  EXPECT_EQ(sig, "v1," + expected);
  // A true retry (same keys) carries the same webhook-id; another push another.
  EXPECT_EQ(*find_header(ad.build_request({p}, 1674087299).headers, "webhook-id"), id);
  p.idempotency_key = "k2";
  EXPECT_NE(*find_header(ad.build_request({p}, 1674087231).headers, "webhook-id"), id);
}

TEST(WorkerSigning, WebhookResponsesMapToOutcomes) {
  ListingPush p;
  p.external_id = "A";
  p.desired_qty = 3;
  auto one = [&](long status, std::string err = "", HttpHeaders h = {}) {
    HttpResponse r;
    r.status = status;
    r.error = err;
    r.headers = h;
    return WebhookAdapter::map_response({p}, r)[0];
  };
  EXPECT_EQ(one(204).outcome, PushOutcome::acked);
  EXPECT_EQ(one(204).acked_qty, 3);
  auto t = one(429, "", {{"Retry-After", "5"}});
  EXPECT_EQ(t.outcome, PushOutcome::retryable);
  EXPECT_TRUE(t.throttled);
  EXPECT_EQ(t.retry_after, std::chrono::milliseconds(5000));
  EXPECT_EQ(one(503).outcome, PushOutcome::retryable);
  EXPECT_EQ(one(410).outcome, PushOutcome::permanent);
  EXPECT_EQ(one(401).outcome, PushOutcome::permanent);
  EXPECT_EQ(one(0, "timeout").outcome, PushOutcome::retryable);
}
