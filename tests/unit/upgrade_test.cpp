// net/upgrade: the query of a WebSocket upgrade, checked before upgrading.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "net/upgrade.hpp"
#include "protocol/token.hpp"

using namespace chat::net;
using strings = std::vector<std::string>;

namespace {

const std::int64_t now = 1'763'556'074;
const std::string secret = "k3y";

upgrade_ok ok_of(const std::string& target, const upgrade_rules& rules = {}) {
  auto r = check_upgrade(target, rules, now);
  if (auto* refusal = std::get_if<upgrade_refusal>(&r)) {
    FAIL_CHECK("refused " << refusal->status << " " << refusal->code << ": " << refusal->message << " for " << target);
    return {};
  }
  return std::get<upgrade_ok>(r);
}

upgrade_refusal refusal_of(const std::string& target, const upgrade_rules& rules = {}) {
  auto r = check_upgrade(target, rules, now);
  if (auto* refusal = std::get_if<upgrade_refusal>(&r)) {
    CHECK_FALSE(refusal->message.empty());
    return *refusal;
  }
  FAIL_CHECK("accepted " << target);
  return {0, "", ""};
}

std::string token(const std::string& sub, std::int64_t exp, const nlohmann::json& rooms = nullptr) {
  nlohmann::json p{{"sub", sub}, {"exp", exp}};
  if (!rooms.is_null())
    p["rooms"] = rooms;
  return chat::protocol::sign_token(p.dump(), secret);
}

upgrade_rules with_auth() {
  upgrade_rules r;
  r.auth_secret = secret;
  return r;
}

} // namespace

TEST_CASE("target_path drops the query") {
  CHECK(target_path("/ws?user=ann") == "/ws");
  CHECK(target_path("/ws") == "/ws");
  CHECK(target_path("/api/rooms/x/history?") == "/api/rooms/x/history");
  CHECK(target_path("?a=b") == "");
  CHECK(target_path("") == "");
}

TEST_CASE("parse_query") {
  using m = std::map<std::string, std::string>;
  CHECK(parse_query("/ws").empty());
  CHECK(parse_query("/ws?").empty());
  CHECK(parse_query("/ws?user=ann&rooms=a,b") == m{{"user", "ann"}, {"rooms", "a,b"}});
  SUBCASE("percent-decoding, upper and lower case hex") {
    CHECK(parse_query("/ws?user=a%2Db&rooms=team%3adev") == m{{"user", "a-b"}, {"rooms", "team:dev"}});
    CHECK(parse_query("/ws?t=%e6%bc%a2") == m{{"t", "\xE6\xBC\xA2"}});
    CHECK(parse_query("/ws?a%3Db=c") == m{{"a=b", "c"}});
    CHECK(parse_query("/ws?x=%26%3D") == m{{"x", "&="}});
  }
  SUBCASE("'+' is a space") { CHECK(parse_query("/ws?q=a+b%2Bc") == m{{"q", "a b+c"}}); }
  SUBCASE("malformed escapes are kept as they are") {
    CHECK(parse_query("/ws?a=%zz") == m{{"a", "%zz"}});
    CHECK(parse_query("/ws?a=%4") == m{{"a", "%4"}});
    CHECK(parse_query("/ws?a=%") == m{{"a", "%"}});
    CHECK(parse_query("/ws?a=%41") == m{{"a", "A"}});
  }
  SUBCASE("a key without '=' has an empty value; an empty key is dropped") {
    CHECK(parse_query("/ws?flag&x=1") == m{{"flag", ""}, {"x", "1"}});
    CHECK(parse_query("/ws?=v&&x=") == m{{"x", ""}});
  }
  SUBCASE("the first occurrence wins") { CHECK(parse_query("/ws?user=ann&user=bob") == m{{"user", "ann"}}); }
  SUBCASE("only the first '=' splits") { CHECK(parse_query("/ws?t=a=b") == m{{"t", "a=b"}}); }
}

TEST_CASE("check_upgrade without auth: user") {
  SUBCASE("a valid user") { CHECK(ok_of("/ws?user=ann").user == "ann"); }
  SUBCASE("a percent-encoded user is decoded before it is checked") { CHECK(ok_of("/ws?user=a%2Eb").user == "a.b"); }
  SUBCASE("missing user is 400") {
    auto r = refusal_of("/ws");
    CHECK(r.status == 400);
    CHECK(r.code == "bad_request");
    CHECK(refusal_of("/ws?rooms=a").status == 400);
  }
  SUBCASE("invalid users are 400") {
    for (const char* t : {"/ws?user=", "/ws?user", "/ws?user=a+b", "/ws?user=a%20b", "/ws?user=a:b",
                          "/ws?user=uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"}) {
      CAPTURE(t);
      auto r = refusal_of(t);
      CHECK(r.status == 400);
      CHECK(r.code == "bad_request");
    }
  }
  SUBCASE("a token is ignored without a secret") {
    CHECK(ok_of("/ws?user=ann&token=garbage").user == "ann");
    CHECK_FALSE(ok_of("/ws?user=ann&token=garbage").allowed_rooms.has_value());
  }
}

TEST_CASE("check_upgrade: rooms") {
  SUBCASE("absent rooms means lobby") { CHECK(ok_of("/ws?user=ann").rooms == strings{"lobby"}); }
  SUBCASE("an empty rooms= means none") { CHECK(ok_of("/ws?user=ann&rooms=").rooms.empty()); }
  SUBCASE("a list, in order, duplicates dropped") {
    CHECK(ok_of("/ws?user=ann&rooms=b,a,b,c:d").rooms == strings{"b", "a", "c:d"});
  }
  SUBCASE("percent-encoded commas split too") { CHECK(ok_of("/ws?user=ann&rooms=a%2Cb").rooms == strings{"a", "b"}); }
  SUBCASE("a bad room name is 400") {
    for (const char* t :
         {"/ws?user=ann&rooms=a,b%20c", "/ws?user=ann&rooms=a,,b", "/ws?user=ann&rooms=a,", "/ws?user=ann&rooms=a/b"}) {
      CAPTURE(t);
      auto r = refusal_of(t);
      CHECK(r.status == 400);
      CHECK(r.code == "bad_request");
    }
  }
  SUBCASE("max_rooms, counted after dedup") {
    upgrade_rules rules;
    rules.max_rooms = 2;
    CHECK(ok_of("/ws?user=ann&rooms=a,b", rules).rooms == strings{"a", "b"});
    CHECK(ok_of("/ws?user=ann&rooms=a,b,a,b", rules).rooms == strings{"a", "b"});
    auto r = refusal_of("/ws?user=ann&rooms=a,b,c", rules);
    CHECK(r.status == 400);
    CHECK(r.code == "too_many_rooms");
  }
  SUBCASE("default max_rooms is 50") {
    std::string rooms;
    for (int i = 0; i < 51; ++i)
      rooms += (i ? "," : "") + std::string("r") + std::to_string(i);
    CHECK(refusal_of("/ws?user=ann&rooms=" + rooms).status == 400);
    CHECK(ok_of("/ws?user=ann&rooms=" + rooms.substr(0, rooms.rfind(','))).rooms.size() == 50);
  }
}

TEST_CASE("check_upgrade: DM rooms") {
  CHECK(ok_of("/ws?user=ann&rooms=dm:ann:bob").rooms == strings{"dm:ann:bob"});
  CHECK(ok_of("/ws?user=bob&rooms=dm%3Aann%3Abob").rooms == strings{"dm:ann:bob"});
  auto other = refusal_of("/ws?user=cat&rooms=lobby,dm:ann:bob");
  CHECK(other.status == 403);
  CHECK(other.code == "forbidden");
  auto order = refusal_of("/ws?user=ann&rooms=dm:bob:ann");
  CHECK(order.status == 400);
  CHECK(order.code == "bad_request");
  auto rules = with_auth();
  auto t = token("ann", now + 60, {"lobby"});
  CHECK(ok_of("/ws?rooms=lobby,dm:ann:bob&token=" + t, rules).rooms == strings{"lobby", "dm:ann:bob"});
  CHECK(refusal_of("/ws?rooms=dm:bob:cat&token=" + t, rules).status == 403);
  CHECK(refusal_of("/ws?rooms=elsewhere&token=" + t, rules).status == 401);
}

TEST_CASE("check_upgrade with an auth secret") {
  auto rules = with_auth();
  SUBCASE("a missing token is 401") {
    auto r = refusal_of("/ws?user=ann", rules);
    CHECK(r.status == 401);
    CHECK(r.code == "unauthorized");
  }
  SUBCASE("a bad token is 401") {
    for (const std::string& t : {std::string("garbage"), std::string(""), token("ann", now - 1),
                                 chat::protocol::sign_token(R"({"sub":"ann","exp":9999999999})", "other")}) {
      CAPTURE(t);
      auto r = refusal_of("/ws?user=ann&token=" + t, rules);
      CHECK(r.status == 401);
      CHECK(r.code == "unauthorized");
    }
  }
  SUBCASE("the token's user is used when user is absent") {
    auto ok = ok_of("/ws?token=" + token("ann", now + 60), rules);
    CHECK(ok.user == "ann");
    CHECK(ok.rooms == strings{"lobby"});
    CHECK_FALSE(ok.allowed_rooms.has_value());
  }
  SUBCASE("a matching user is fine") {
    CHECK(ok_of("/ws?user=ann&token=" + token("ann", now + 60), rules).user == "ann");
  }
  SUBCASE("a user that differs from the token's is 401") {
    auto r = refusal_of("/ws?user=bob&token=" + token("ann", now + 60), rules);
    CHECK(r.status == 401);
    CHECK(r.code == "unauthorized");
  }
  SUBCASE("token rooms restrict the rooms asked for") {
    auto t = token("ann", now + 60, {"a", "b"});
    auto ok = ok_of("/ws?token=" + t + "&rooms=a,b", rules);
    CHECK(ok.rooms == strings{"a", "b"});
    REQUIRE(ok.allowed_rooms.has_value());
    CHECK(*ok.allowed_rooms == std::set<std::string>{"a", "b"});
    CHECK(ok_of("/ws?token=" + t + "&rooms=", rules).rooms.empty());
    auto r = refusal_of("/ws?token=" + t + "&rooms=a,c", rules);
    CHECK(r.status == 401);
    CHECK(r.code == "unauthorized");
  }
  SUBCASE("a malformed room still is 400 with a token") {
    auto r = refusal_of("/ws?token=" + token("ann", now + 60, {"a"}) + "&rooms=a%20b", rules);
    CHECK(r.status == 400);
  }
}

TEST_CASE("check_upgrade: a room-restricted token without rooms= is not refused for the default lobby") {
  auto t = token("ann", now + 60, {"team"});
  auto r = check_upgrade("/ws?token=" + t, with_auth(), now);
  REQUIRE(std::holds_alternative<upgrade_ok>(r));
  const auto& ok = std::get<upgrade_ok>(r);
  for (const auto& room : ok.rooms)
    CHECK(ok.allowed_rooms->count(room) == 1);
}
