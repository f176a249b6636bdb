// Tokens: verify_token never throws and never accepts a token whose HMAC is
// wrong. Mode 0 feeds raw bytes as a token: anything accepted must be exactly
// the token we would sign for its payload. Mode 1 signs the input as a
// payload (so the claim parser is reached), then flips one byte of the
// token: the changed token must be refused.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "protocol/names.hpp"
#include "protocol/token.hpp"

using namespace chat::protocol;

namespace {

constexpr std::string_view secret = "fuzz-secret";
constexpr std::int64_t now_s = 1700000000;

void check_claims(const token_claims& c) {
  FUZZ_CHECK(valid_user(c.sub));
  FUZZ_CHECK(c.exp > now_s);
  if (c.rooms)
    for (const auto& r : *c.rooms)
      FUZZ_CHECK(valid_room(r));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3)
    return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  if ((data[0] & 1) == 0) {
    std::string_view token(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (auto claims = verify_token(token, secret, now_s)) {
      check_claims(*claims);
      auto body = token.substr(0, token.find('.'));
      auto payload = base64url_decode(body);
      FUZZ_CHECK(payload && sign_token(*payload, secret) == token);
    }
    return 0;
  }
  auto token = sign_token(rest, secret);
  auto claims = verify_token(token, secret, now_s);
  if (claims)
    check_claims(*claims);
  FUZZ_CHECK(!verify_token(token, "another-secret", now_s));
  auto mutated = token;
  std::size_t at = data[1] % mutated.size();
  mutated[at] = static_cast<char>(mutated[at] ^ (data[2] | 1));
  FUZZ_CHECK(!verify_token(mutated, secret, now_s));
  // A shortened or lengthened signature is no signature either.
  FUZZ_CHECK(!verify_token(token.substr(0, token.size() - 1), secret, now_s));
  FUZZ_CHECK(!verify_token(token + "A", secret, now_s));
  return 0;
}
