#include "protocol/token.hpp"

#include <cstdint>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "protocol/names.hpp"

namespace chat::protocol {

namespace {

const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

} // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0)
    out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = std::strchr(alphabet, c);
    if (c == '\0' || p == nullptr)
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(p - alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6)
    return std::nullopt; // a lone trailing character cannot encode a byte
  if ((acc & ((1u << bits) - 1)) != 0)
    return std::nullopt; // spare bits must be zero: one spelling per token
  return out;
}

std::string sign_token(std::string_view payload_json, std::string_view secret) {
  auto body = base64url_encode(payload_json);
  return body + "." + base64url_encode(hmac_sha256(secret, body));
}

std::optional<token_claims> verify_token(std::string_view token, std::string_view secret, std::int64_t now_s) {
  auto dot = token.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto body = token.substr(0, dot);
  auto sig = base64url_decode(token.substr(dot + 1));
  auto expected = hmac_sha256(secret, body);
  if (!sig || sig->size() != expected.size() || CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0)
    return std::nullopt;
  auto payload = base64url_decode(body);
  if (!payload)
    return std::nullopt;
  auto j = nlohmann::json::parse(*payload, nullptr, false);
  if (!j.is_object())
    return std::nullopt;
  auto sub = j.find("sub");
  auto exp = j.find("exp");
  if (sub == j.end() || !sub->is_string() || !valid_user(sub->get_ref<const std::string&>()))
    return std::nullopt;
  if (exp == j.end() || !exp->is_number())
    return std::nullopt;
  // Converting a number outside int64 would be undefined (a float) or wrap
  // (a large unsigned): such an exp is malformed, not "never expires".
  if (exp->is_number_float() && !(exp->get<double>() > -9.2e18 && exp->get<double>() < 9.2e18))
    return std::nullopt;
  if (exp->is_number_unsigned() && exp->get<std::uint64_t>() > std::uint64_t{INT64_MAX})
    return std::nullopt;
  token_claims claims{sub->get<std::string>(), exp->get<std::int64_t>(), std::nullopt};
  if (claims.exp <= now_s)
    return std::nullopt;
  if (auto rooms = j.find("rooms"); rooms != j.end() && !rooms->is_null()) {
    if (!rooms->is_array())
      return std::nullopt;
    claims.rooms.emplace();
    for (const auto& r : *rooms) {
      if (!r.is_string() || !valid_room(r.get_ref<const std::string&>()))
        return std::nullopt;
      claims.rooms->insert(r.get<std::string>());
    }
  }
  return claims;
}

} // namespace chat::protocol
