// HMAC-SHA256, SHA-256 and base64 through OpenSSL, plus the two signature
// schemes the simulator speaks: the body HMAC of Shopify and WooCommerce
// (channel-apis.md §1.8, §4.6) and Standard Webhooks (§6).
#pragma once

#include <optional>
#include <string>

namespace sim {

std::string base64_encode(const std::string& bytes);
std::optional<std::string> base64_decode(const std::string& text);
std::string hmac_sha256(const std::string& key, const std::string& msg);  // raw 32 bytes
std::string sha256_hex(const std::string& msg);
// Constant-time equality (CRYPTO_memcmp) for signatures.
bool constant_time_equal(const std::string& a, const std::string& b);

// base64(HMAC_SHA256(secret, body)): X-Shopify-Hmac-Sha256 and X-WC-Webhook-Signature.
std::string body_hmac_b64(const std::string& secret, const std::string& body);

// The key WC_Webhook::generate_signature() signs with:
// wp_specialchars_decode(secret, ENT_QUOTES), as WordPress does it (zero
// padding of the numeric entities removed by regex, then one strtr pass), so
// "&amp;" in a secret is "&" in the key (channel-apis.md §4.6).
std::string woocommerce_signing_key(const std::string& secret);

// Standard Webhooks v1: "v1," + base64(HMAC_SHA256(key, id "." ts "." body)), where
// key is the base64-decoded part of a "whsec_" secret (a secret without the
// prefix is decoded as a whole). Returns "" if the secret is not valid base64.
std::string std_webhook_signature(const std::string& secret, const std::string& msg_id, const std::string& timestamp,
                                  const std::string& body);

enum class StdWebhookVerdict { ok, missing_headers, bad_timestamp, too_old, too_new, bad_signature };
const char* to_string(StdWebhookVerdict v);

// Verifies the three headers against the body at time now (unix seconds) with
// the given tolerance (the reference library uses 300 s both ways).
StdWebhookVerdict verify_std_webhook(const std::string& secret, const std::string& msg_id,
                                     const std::string& timestamp, const std::string& signature_header,
                                     const std::string& body, double now, double tolerance_s = 300);

}  // namespace sim
