// Small crypto helpers on OpenSSL: HMAC-SHA256, base64, constant-time
// comparison, random UUIDs, Standard Webhooks signatures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stocksync::worker {

// Raw 32-byte HMAC-SHA256 of msg under key.
std::string hmac_sha256(std::string_view key, std::string_view msg);
std::string base64_encode(std::string_view bytes);
// nullopt on invalid input.
std::optional<std::string> base64_decode(std::string_view text);
// Constant time for equal lengths (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);
// A random (version 4) UUID, lower-case hex with dashes.
std::string random_uuid();
// A name-based UUID (SHA-256 of name, version bits 8 = custom): the same
// name always gives the same UUID.
std::string uuid_from_name(std::string_view name);

// Standard Webhooks: the key is the base64-decoded part after "whsec_"
// (a secret without the prefix is used as raw bytes). nullopt when the
// base64 part is invalid.
std::optional<std::string> std_webhook_key(std::string_view secret);
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
std::string std_webhook_signature(std::string_view key, std::string_view id, std::int64_t timestamp,
                                  std::string_view body);

enum class StdWebhookVerdict { ok, missing_header, bad_timestamp, too_old, too_new, bad_signature };
const char *to_string(StdWebhookVerdict v);
// Verifies a received Standard Webhook: timestamp within tolerance_s of now
// (unix seconds), and any v1 entry of the space-separated signature list
// matching in constant time.
StdWebhookVerdict verify_std_webhook(std::string_view key, std::string_view id, std::string_view timestamp,
                                     std::string_view signature_header, std::string_view body, std::int64_t now,
                                     std::int64_t tolerance_s = 300);

}  // namespace stocksync::worker
