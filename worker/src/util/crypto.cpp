// OpenSSL-backed helpers; see crypto.hpp.
#include "util/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstdio>
#include <stdexcept>
#include <vector>

namespace stocksync::worker {
namespace {

// The first 16 bytes of b as a lower-case UUID with dashes.
std::string format_uuid(const unsigned char *b) {
  char s[37];
  std::snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return s;
}

}  // namespace

std::string hmac_sha256(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char *>(msg.data()), msg.size(), out, &len))
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char *>(out), len);
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                          reinterpret_cast<const unsigned char *>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  for (char c : text)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '='))
      return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                          reinterpret_cast<const unsigned char *>(text.data()), static_cast<int>(text.size()));
  if (n < 0)
    return std::nullopt;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=')
    ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=')
    ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1)
    throw std::runtime_error("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return format_uuid(b);
}

std::string uuid_from_name(std::string_view name) {
  unsigned char b[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(name.data(), name.size(), b, &len, EVP_sha256(), nullptr))
    throw std::runtime_error("SHA-256 failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x80);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return format_uuid(b);
}

std::optional<std::string> std_webhook_key(std::string_view secret) {
  constexpr std::string_view prefix = "whsec_";
  if (secret.substr(0, prefix.size()) == prefix)
    return base64_decode(secret.substr(prefix.size()));
  return std::string(secret);
}

std::string std_webhook_signature(std::string_view key, std::string_view id, std::int64_t timestamp,
                                  std::string_view body) {
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  return "v1," + base64_encode(hmac_sha256(key, content));
}

const char *to_string(StdWebhookVerdict v) {
  switch (v) {
  case StdWebhookVerdict::ok: return "ok";
  case StdWebhookVerdict::missing_header: return "missing_header";
  case StdWebhookVerdict::bad_timestamp: return "bad_timestamp";
  case StdWebhookVerdict::too_old: return "too_old";
  case StdWebhookVerdict::too_new: return "too_new";
  case StdWebhookVerdict::bad_signature: return "bad_signature";
  }
  return "unknown";
}

StdWebhookVerdict verify_std_webhook(std::string_view key, std::string_view id, std::string_view timestamp,
                                     std::string_view signature_header, std::string_view body, std::int64_t now,
                                     std::int64_t tolerance_s) {
  if (id.empty() || timestamp.empty() || signature_header.empty() || id.size() > 256 || timestamp.size() > 20 ||
      signature_header.size() > 4096)
    return StdWebhookVerdict::missing_header;
  // Seconds since 1970 have 10 digits until the year 2286; more than 18
  // would overflow the sum below.
  if (timestamp.size() > 18)
    return StdWebhookVerdict::bad_timestamp;
  std::int64_t ts = 0;
  for (char c : timestamp) {
    if (c < '0' || c > '9')
      return StdWebhookVerdict::bad_timestamp;
    ts = ts * 10 + (c - '0');
  }
  if (ts < now - tolerance_s)
    return StdWebhookVerdict::too_old;
  if (ts > now + tolerance_s)
    return StdWebhookVerdict::too_new;
  std::string content;
  content.append(id).append(".").append(timestamp).append(".").append(body);
  std::string expected = hmac_sha256(key, content);
  bool match = false;
  std::size_t pos = 0;
  while (pos <= signature_header.size()) {
    auto sp = signature_header.find(' ', pos);
    std::string_view entry =
        signature_header.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    if (entry.substr(0, 3) == "v1,") {
      auto sig = base64_decode(entry.substr(3));
      if (sig && constant_time_equal(*sig, expected))
        match = true;  // keep going: the time taken does not depend on which entry matched
    }
    if (sp == std::string_view::npos)
      break;
    pos = sp + 1;
  }
  return match ? StdWebhookVerdict::ok : StdWebhookVerdict::bad_signature;
}

}  // namespace stocksync::worker
