// protocol/token: base64url and HMAC-signed tokens.

#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "protocol/token.hpp"

using namespace chat::protocol;
using nlohmann::json;

namespace {

const std::string secret = "s3cret";
const std::int64_t now = 1'763'556'074;

std::string payload(const std::string& sub, std::int64_t exp) { return json{{"sub", sub}, {"exp", exp}}.dump(); }

/// A token whose body is `body` verbatim (not necessarily base64url), signed
/// correctly, so that only the body's own checks can refuse it.
std::string signed_body(const std::string& body, const std::string& key) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), out, &len);
  return body + "." + base64url_encode(std::string(reinterpret_cast<char*>(out), len));
}

} // namespace

TEST_CASE("base64url_encode: RFC 4648 vectors, URL alphabet, no padding") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foob") == "Zm9vYg");
  CHECK(base64url_encode("fooba") == "Zm9vYmE");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64url_encode("\xff\xff\xff") == "____");
  CHECK(base64url_encode(std::string("\0\0\0", 3)) == "AAAA");
}

TEST_CASE("base64url_decode") {
  SUBCASE("vectors") {
    CHECK(base64url_decode("") == std::string());
    CHECK(base64url_decode("Zg") == std::string("f"));
    CHECK(base64url_decode("Zm8") == std::string("fo"));
    CHECK(base64url_decode("Zm9v") == std::string("foo"));
    CHECK(base64url_decode("Zm9vYmFy") == std::string("foobar"));
    CHECK(base64url_decode("-_8") == std::string("\xfb\xff"));
    CHECK(base64url_decode("AAAA") == std::string("\0\0\0", 3));
  }
  SUBCASE("round trip of every byte value") {
    std::string bytes;
    for (int i = 0; i < 256; ++i)
      bytes.push_back(static_cast<char>(i));
    for (std::size_t n = 0; n <= bytes.size(); n += 37) {
      auto part = bytes.substr(0, n);
      CHECK(base64url_decode(base64url_encode(part)) == part);
    }
  }
  SUBCASE("refused input") {
    CHECK_FALSE(base64url_decode("Z").has_value()); // a lone character holds no byte
    CHECK_FALSE(base64url_decode("Zm9vY").has_value());
    CHECK_FALSE(base64url_decode("Zg==").has_value()); // no padding
    CHECK_FALSE(base64url_decode("+/8").has_value());  // standard alphabet
    CHECK_FALSE(base64url_decode("Zm 9v").has_value());
    CHECK_FALSE(base64url_decode("Zm9v.").has_value());
    CHECK_FALSE(base64url_decode(std::string("Zm\0v", 4)).has_value());
    CHECK_FALSE(base64url_decode("Zm9\xc3\xa9").has_value());
  }
}

TEST_CASE("sign_token and verify_token round trip") {
  auto tok = sign_token(payload("ann", now + 60), secret);
  CHECK(tok.find('.') != std::string::npos);
  CHECK(tok.find('=') == std::string::npos);
  auto claims = verify_token(tok, secret, now);
  REQUIRE(claims.has_value());
  CHECK(claims->sub == "ann");
  CHECK(claims->exp == now + 60);
  CHECK_FALSE(claims->rooms.has_value());
  SUBCASE("the token is base64url(payload) . base64url(HMAC-SHA256(secret, base64url(payload)))") {
    auto body = base64url_encode(payload("ann", now + 60));
    CHECK(tok == signed_body(body, secret));
  }
}

TEST_CASE("verify_token refuses") {
  SUBCASE("an expired token") {
    auto tok = sign_token(payload("ann", now - 1), secret);
    CHECK_FALSE(verify_token(tok, secret, now).has_value());
    CHECK(verify_token(tok, secret, now - 2).has_value());
  }
  SUBCASE("a token expiring this very second") {
    CHECK_FALSE(verify_token(sign_token(payload("ann", now), secret), secret, now).has_value());
  }
  SUBCASE("the wrong secret") {
    auto tok = sign_token(payload("ann", now + 60), secret);
    CHECK_FALSE(verify_token(tok, "other", now).has_value());
    CHECK_FALSE(verify_token(tok, "", now).has_value());
  }
  SUBCASE("a tampered payload") {
    auto tok = sign_token(payload("ann", now + 60), secret);
    auto sig = tok.substr(tok.find('.'));
    CHECK_FALSE(verify_token(base64url_encode(payload("bob", now + 60)) + sig, secret, now).has_value());
    CHECK_FALSE(verify_token(base64url_encode(payload("ann", now + 6000)) + sig, secret, now).has_value());
  }
  SUBCASE("a tampered signature") {
    auto tok = sign_token(payload("ann", now + 60), secret);
    auto at = tok.find('.') + 5;
    tok[at] = tok[at] == 'A' ? 'B' : 'A';
    CHECK_FALSE(verify_token(tok, secret, now).has_value());
  }
  SUBCASE("a truncated signature") {
    auto tok = sign_token(payload("ann", now + 60), secret);
    CHECK_FALSE(verify_token(tok.substr(0, tok.size() - 4), secret, now).has_value());
    CHECK_FALSE(verify_token(tok.substr(0, tok.find('.') + 1), secret, now).has_value());
  }
  SUBCASE("bad base64 in the signature or the body") {
    auto tok = sign_token(payload("ann", now + 60), secret);
    CHECK_FALSE(verify_token(tok + "=", secret, now).has_value());
    CHECK_FALSE(verify_token(tok + ".x", secret, now).has_value());
    // Correctly signed, but the body is not base64url.
    CHECK_FALSE(verify_token(signed_body("e30+", secret), secret, now).has_value());
  }
  SUBCASE("no dot, or nothing at all") {
    CHECK_FALSE(verify_token("", secret, now).has_value());
    CHECK_FALSE(verify_token(".", secret, now).has_value());
    CHECK_FALSE(verify_token(base64url_encode(payload("ann", now + 60)), secret, now).has_value());
  }
  SUBCASE("a payload that is not a JSON object") {
    CHECK_FALSE(verify_token(sign_token("not json", secret), secret, now).has_value());
    CHECK_FALSE(verify_token(sign_token("[1,2]", secret), secret, now).has_value());
    CHECK_FALSE(verify_token(sign_token("\"ann\"", secret), secret, now).has_value());
  }
  SUBCASE("missing or mistyped sub") {
    CHECK_FALSE(verify_token(sign_token(json{{"exp", now + 60}}.dump(), secret), secret, now).has_value());
    CHECK_FALSE(verify_token(sign_token(json{{"sub", 7}, {"exp", now + 60}}.dump(), secret), secret, now).has_value());
    CHECK_FALSE(verify_token(sign_token(payload("", now + 60), secret), secret, now).has_value());
    CHECK_FALSE(verify_token(sign_token(payload("a b", now + 60), secret), secret, now).has_value());
    CHECK_FALSE(verify_token(sign_token(payload(std::string(33, 'u'), now + 60), secret), secret, now).has_value());
  }
  SUBCASE("missing or mistyped exp") {
    CHECK_FALSE(verify_token(sign_token(json{{"sub", "ann"}}.dump(), secret), secret, now).has_value());
    CHECK_FALSE(
      verify_token(sign_token(json{{"sub", "ann"}, {"exp", std::to_string(now + 60)}}.dump(), secret), secret, now)
        .has_value());
    CHECK_FALSE(
      verify_token(sign_token(json{{"sub", "ann"}, {"exp", nullptr}}.dump(), secret), secret, now).has_value());
    CHECK_FALSE(verify_token(sign_token(json{{"sub", "ann"}, {"exp", true}}.dump(), secret), secret, now).has_value());
  }
}

TEST_CASE("verify_token: the rooms claim") {
  auto with_rooms = [](const json& rooms) {
    return sign_token(json{{"sub", "ann"}, {"exp", now + 60}, {"rooms", rooms}}.dump(), secret);
  };
  SUBCASE("a list of rooms restricts the connection to them") {
    auto claims = verify_token(with_rooms({"a", "team:b", "a"}), secret, now);
    REQUIRE(claims.has_value());
    REQUIRE(claims->rooms.has_value());
    CHECK(*claims->rooms == std::set<std::string>{"a", "team:b"});
  }
  SUBCASE("an empty list allows no room") {
    auto claims = verify_token(with_rooms(json::array()), secret, now);
    REQUIRE(claims.has_value());
    REQUIRE(claims->rooms.has_value());
    CHECK(claims->rooms->empty());
  }
  SUBCASE("null means no restriction") {
    auto claims = verify_token(with_rooms(nullptr), secret, now);
    REQUIRE(claims.has_value());
    CHECK_FALSE(claims->rooms.has_value());
  }
  SUBCASE("a malformed rooms claim refuses the token") {
    CHECK_FALSE(verify_token(with_rooms("a"), secret, now).has_value());
    CHECK_FALSE(verify_token(with_rooms({"a", 1}), secret, now).has_value());
    CHECK_FALSE(verify_token(with_rooms({"a b"}), secret, now).has_value());
    CHECK_FALSE(verify_token(with_rooms({""}), secret, now).has_value());
  }
}

TEST_CASE("verify_token refuses a non-canonical encoding of a valid signature") {
  auto tok = sign_token(payload("ann", now + 60), secret);
  REQUIRE(verify_token(tok, secret, now).has_value());
  auto& last = tok.back();
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto v = alphabet.find(last);
  REQUIRE(v != std::string::npos);
  last = alphabet[v ^ 1]; // flip a bit that carries no data
  CHECK_FALSE(verify_token(tok, secret, now).has_value());
}

// Found by tests/fuzz/token_fuzz under UBSan: a signed exp of 1e300 was
// converted to int64 (undefined behaviour; unit-asan halts on it).
TEST_CASE("verify_token refuses an exp outside int64 (signed, so only the issuer can send it)") {
  for (const char* exp : {"1e300", "-1e300", "9.3e18", "18446744073709551615"}) {
    auto tok = sign_token(std::string(R"({"sub":"ann","exp":)") + exp + "}", secret);
    CHECK_MESSAGE(!verify_token(tok, secret, now), exp);
  }
  CHECK(verify_token(sign_token(R"({"sub":"ann","exp":9e18})", secret), secret, now));
  CHECK(verify_token(sign_token(R"({"sub":"ann","exp":9223372036854775807})", secret), secret, now));
}
