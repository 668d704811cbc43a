#include "signing.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <regex>
#include <utility>
#include <vector>

namespace sim {

std::string base64_encode(const std::string& bytes) {
  std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  return std::string(reinterpret_cast<char*>(out.data()), static_cast<size_t>(n));
}

std::optional<std::string> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string();
  std::vector<unsigned char> out(text.size() / 4 * 3 + 1);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding bytes as zeros; strip them.
  size_t pad = 0;
  if (text.size() >= 1 && text[text.size() - 1] == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  return std::string(reinterpret_cast<char*>(out.data()), static_cast<size_t>(n) - pad);
}

std::string hmac_sha256(const std::string& key, const std::string& msg) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string sha256_hex(const std::string& msg) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(msg.data(), msg.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    out += buf;
  }
  return out;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string body_hmac_b64(const std::string& secret, const std::string& body) {
  return base64_encode(hmac_sha256(secret, body));
}

std::string woocommerce_signing_key(const std::string& secret) {
  if (secret.find('&') == std::string::npos) return secret;
  // wp_specialchars_decode(): $translation_preg, then strtr($text, $translation).
  static const std::pair<std::regex, const char*> padding[] = {
      {std::regex("&#0*39;"), "&#039;"}, {std::regex("&#x0*27;", std::regex::icase), "&#x27;"},
      {std::regex("&#0*34;"), "&#034;"}, {std::regex("&#x0*22;", std::regex::icase), "&#x22;"},
      {std::regex("&#0*60;"), "&#060;"}, {std::regex("&#0*62;"), "&#062;"},
      {std::regex("&#0*38;"), "&#038;"}, {std::regex("&#x0*26;", std::regex::icase), "&#x26;"}};
  static const std::map<std::string, std::string> translation = {
      {"&#039;", "'"}, {"&#x27;", "'"}, {"&quot;", "\""}, {"&#034;", "\""}, {"&#x22;", "\""},
      {"&lt;", "<"},   {"&#060;", "<"}, {"&gt;", ">"},     {"&#062;", ">"},   {"&amp;", "&"},
      {"&#038;", "&"}, {"&#x26;", "&"}};
  std::string text = secret;
  for (const auto& [re, canonical] : padding) text = std::regex_replace(text, re, canonical);
  // strtr with an array: at each position the longest key that matches, the
  // result never looked at again.
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::pair<const std::string, std::string>* hit = nullptr;
    for (const auto& entry : translation)
      if (text.compare(i, entry.first.size(), entry.first) == 0 && (!hit || entry.first.size() > hit->first.size()))
        hit = &entry;
    if (hit) {
      out += hit->second;
      i += hit->first.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

static std::optional<std::string> std_webhook_key(const std::string& secret) {
  const std::string prefix = "whsec_";
  std::string b64 = secret.rfind(prefix, 0) == 0 ? secret.substr(prefix.size()) : secret;
  return base64_decode(b64);
}

std::string std_webhook_signature(const std::string& secret, const std::string& msg_id, const std::string& timestamp,
                                  const std::string& body) {
  auto key = std_webhook_key(secret);
  if (!key) return {};
  return "v1," + base64_encode(hmac_sha256(*key, msg_id + "." + timestamp + "." + body));
}

const char* to_string(StdWebhookVerdict v) {
  switch (v) {
    case StdWebhookVerdict::ok: return "ok";
    case StdWebhookVerdict::missing_headers: return "missing_headers";
    case StdWebhookVerdict::bad_timestamp: return "bad_timestamp";
    case StdWebhookVerdict::too_old: return "too_old";
    case StdWebhookVerdict::too_new: return "too_new";
    case StdWebhookVerdict::bad_signature: return "bad_signature";
  }
  return "?";
}

StdWebhookVerdict verify_std_webhook(const std::string& secret, const std::string& msg_id,
                                     const std::string& timestamp, const std::string& signature_header,
                                     const std::string& body, double now, double tolerance_s) {
  if (msg_id.empty() || timestamp.empty() || signature_header.empty()) return StdWebhookVerdict::missing_headers;
  for (char c : timestamp)
    if (c < '0' || c > '9') return StdWebhookVerdict::bad_timestamp;
  if (timestamp.size() > 12) return StdWebhookVerdict::bad_timestamp;
  double ts = std::stod(timestamp);
  if (ts < now - tolerance_s) return StdWebhookVerdict::too_old;
  if (ts > now + tolerance_s) return StdWebhookVerdict::too_new;
  std::string expected = std_webhook_signature(secret, msg_id, timestamp, body);
  if (expected.empty()) return StdWebhookVerdict::bad_signature;
  // The header is a space-separated list of "version,signature"; any v1 match passes.
  size_t pos = 0;
  while (pos < signature_header.size()) {
    size_t sp = signature_header.find(' ', pos);
    if (sp == std::string::npos) sp = signature_header.size();
    std::string entry = signature_header.substr(pos, sp - pos);
    if (entry.rfind("v1,", 0) == 0 && constant_time_equal(entry, expected)) return StdWebhookVerdict::ok;
    pos = sp + 1;
  }
  return StdWebhookVerdict::bad_signature;
}

}  // namespace sim
