// Signatures checked against the fact sheet's vectors and a second
// implementation (the openssl command line).
#include "helpers.hpp"

using namespace simtest;

TEST(SimSigning, ShopifyKnownVector) {
  // channel-apis.md §1.8
  std::string body = R"({"id":820982911946154508,"name":"#1001","line_items":[{"sku":"SKU-1","quantity":2}]})";
  EXPECT_EQ(sim::body_hmac_b64("hush", body), "TU+sb5lkxzr+jXxrjbguOCXNzElmTBpqgEUliVqBpZM=");
}

TEST(SimSigning, BodyHmacMatchesOpensslCli) {
  std::string body = R"({"id":727,"status":"processing","line_items":[{"sku":"SKU-'1'","quantity":2}]})";
  std::string key = "s3cr&t";
  std::string cli = shell("printf '%s' " + sq(body) + " | openssl dgst -sha256 -hmac " + sq(key) + " -binary | base64");
  ASSERT_FALSE(cli.empty());
  EXPECT_EQ(sim::body_hmac_b64(key, body), cli);
}

TEST(SimSigning, StandardWebhooksKnownVector) {
  // channel-apis.md §6
  std::string body = R"({"type":"stock.changed","timestamp":"2026-11-22T10:00:00Z","data":{"sku":"SKU-1","available":7}})";
  EXPECT_EQ(sim::std_webhook_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
                                       "1674087231", body),
            "v1,AhxNt/Qbiw4L8tpRIH3A3oW642w1nM8+KAPGosNXifA=");
}

TEST(SimSigning, StandardWebhooksMatchesOpensslCli) {
  std::string secret_b64 = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  std::string signed_content = "msg_1.1700000000.{\"a\":1}";
  std::string hexkey = shell("printf %s " + secret_b64 + " | base64 -d | od -An -tx1 | tr -d ' \\n'");
  std::string cli = shell("printf '%s' " + sq(signed_content) + " | openssl dgst -sha256 -mac HMAC -macopt hexkey:" +
                          hexkey + " -binary | base64");
  ASSERT_FALSE(cli.empty());
  EXPECT_EQ(sim::std_webhook_signature("whsec_" + secret_b64, "msg_1", "1700000000", "{\"a\":1}"), "v1," + cli);
}

TEST(SimSigning, StandardWebhooksVerification) {
  std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  std::string body = "{\"x\":1}";
  std::string sig = sim::std_webhook_signature(secret, "id1", "1000", body);
  using V = sim::StdWebhookVerdict;
  EXPECT_EQ(sim::verify_std_webhook(secret, "id1", "1000", sig, body, 1000), V::ok);
  EXPECT_EQ(sim::verify_std_webhook(secret, "id1", "1000", "v1,bogus " + sig, body, 1000), V::ok);  // rotation list
  EXPECT_EQ(sim::verify_std_webhook(secret, "id1", "1000", sig, body + " ", 1000), V::bad_signature);
  EXPECT_EQ(sim::verify_std_webhook(secret, "id2", "1000", sig, body, 1000), V::bad_signature);
  EXPECT_EQ(sim::verify_std_webhook(secret, "id1", "1000", sig, body, 1301), V::too_old);
  EXPECT_EQ(sim::verify_std_webhook(secret, "id1", "1000", sig, body, 699), V::too_new);
  EXPECT_EQ(sim::verify_std_webhook(secret, "id1", "", sig, body, 1000), V::missing_headers);
  EXPECT_EQ(sim::verify_std_webhook(secret, "id1", "10x0", sig, body, 1000), V::bad_timestamp);
}

TEST(SimSigning, Base64RoundTrip) {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto d = sim::base64_decode(sim::base64_encode(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, s);
  }
  EXPECT_FALSE(sim::base64_decode("abc").has_value());
}

// WooCommerce signs with wp_specialchars_decode(secret, ENT_QUOTES).
TEST(SimSigning, WooCommerceKeyIsTheDecodedSecret) {
  EXPECT_EQ(sim::woocommerce_signing_key("wc-hush"), "wc-hush");
  EXPECT_EQ(sim::woocommerce_signing_key("a&amp;b&lt;&gt;&quot;"), "a&b<>\"");
  EXPECT_EQ(sim::woocommerce_signing_key("&#39;&#0039;&#X027;&#34;&#x22;&#60;&#062;&#38;&#x26;"), "''\'\"\"<>&&");
  EXPECT_EQ(sim::woocommerce_signing_key("&amp;lt; &apos; &AMP;"), "&lt; &apos; &AMP;");
}
