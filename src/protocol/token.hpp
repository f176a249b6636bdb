#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace chat::protocol {

/// A verified token: base64url(payload) "." base64url(HMAC-SHA256(secret, base64url(payload))).
struct token_claims {
  std::string sub;
  std::int64_t exp = 0;
  std::optional<std::set<std::string>> rooms;
};

/// Verifies signature, expiry and payload shape; nullopt when any fails.
std::optional<token_claims> verify_token(std::string_view token, std::string_view secret, std::int64_t now_s);

/// Signs a payload (JSON text) as a token; for tests and tooling.
std::string sign_token(std::string_view payload_json, std::string_view secret);

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace chat::protocol
