// protocol/frames and protocol/time_format: the exact server frames.

#include <doctest/doctest.h>

#include <regex>

#include "protocol/frames.hpp"
#include "protocol/time_format.hpp"

using namespace chat::protocol;
using nlohmann::json;

namespace {

json parsed(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  REQUIRE(j.is_object());
  return j;
}

/// The object's keys, sorted (nlohmann objects iterate in key order).
std::vector<std::string> keys(const json& j) {
  std::vector<std::string> out;
  for (const auto& [k, _] : j.items())
    out.push_back(k);
  return out;
}

using strings = std::vector<std::string>;

chat::message sample(std::int64_t ts = 1763556074139022) {
  return chat::message{"lobby", "00064f7e8b0c7e0e-n1-abcdef", "ann", "hello", "cid-1", ts};
}

} // namespace

TEST_CASE("format_ts writes RFC 3339 UTC with microseconds") {
  CHECK(format_ts(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_ts(1) == "1970-01-01T00:00:00.000001Z");
  CHECK(format_ts(999999) == "1970-01-01T00:00:00.999999Z");
  CHECK(format_ts(1000000) == "1970-01-01T00:00:01.000000Z");
  CHECK(format_ts(1763556074139022) == "2025-11-19T12:41:14.139022Z");
  CHECK(format_ts(951782400000000) == "2000-02-29T00:00:00.000000Z"); // leap day
  CHECK(format_ts(4102444799999999) == "2099-12-31T23:59:59.999999Z");
  SUBCASE("before the epoch the fraction stays positive") {
    CHECK(format_ts(-1) == "1969-12-31T23:59:59.999999Z");
    CHECK(format_ts(-1000000) == "1969-12-31T23:59:59.000000Z");
  }
  SUBCASE("shape") {
    std::regex shape{R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)"};
    for (std::int64_t ts : {std::int64_t{0}, std::int64_t{1700000000000001}, std::int64_t{1763556074139022}})
      CHECK(std::regex_match(format_ts(ts), shape));
  }
}

TEST_CASE("message_json and message frame") {
  auto m = sample();
  SUBCASE("message_json has exactly room, id, user, text, ts (no type, no client_id)") {
    auto j = message_json(m);
    CHECK(keys(j) == strings{"id", "room", "text", "ts", "user"});
    CHECK(j["room"] == "lobby");
    CHECK(j["id"] == m.id);
    CHECK(j["user"] == "ann");
    CHECK(j["text"] == "hello");
    CHECK(j["ts"] == "2025-11-19T12:41:14.139022Z");
  }
  SUBCASE("message frame adds the type") {
    auto j = parsed(message_frame(m));
    CHECK(keys(j) == strings{"id", "room", "text", "ts", "type", "user"});
    CHECK(j["type"] == "message");
    CHECK(j["ts"] == "2025-11-19T12:41:14.139022Z");
  }
}

TEST_CASE("scrollback answer: a history frame with before and more, no gap") {
  chat::message m{"lobby", "066194d28d8b3b-n1-000001", "ann", "hi", "", 1};
  auto j = parsed(scrollback_frame("lobby", "066194d28d8b3c-n1-000001", {m}, true));
  CHECK(keys(j) == strings{"before", "messages", "more", "room", "type"});
  CHECK(j["type"] == "history");
  CHECK(j["before"] == "066194d28d8b3c-n1-000001");
  CHECK(j["more"] == true);
  CHECK(j["messages"].size() == 1);
  CHECK(j["messages"][0]["id"] == m.id);
  CHECK_FALSE(j["messages"][0].contains("type"));
}

TEST_CASE("welcome frame") {
  limits_info l{65536, 4000, 50, 20.0, 40.0, 4194304};
  auto j = parsed(welcome_frame("n1", "s-9", "ann", l));
  CHECK(keys(j) == strings{"features", "limits", "node", "protocol", "session", "type", "user"});
  CHECK(j["features"] == json::array({"scrollback", "dm"}));
  CHECK(j["type"] == "welcome");
  CHECK(j["node"] == "n1");
  CHECK(j["session"] == "s-9");
  CHECK(j["user"] == "ann");
  CHECK(j["protocol"] == 1);
  const auto& lim = j["limits"];
  CHECK(keys(lim)
        == strings{"burst", "max_frame_bytes", "max_queue_bytes", "max_rooms", "max_text_chars", "rate_per_s"});
  CHECK(lim["max_frame_bytes"] == 65536);
  CHECK(lim["max_text_chars"] == 4000);
  CHECK(lim["max_rooms"] == 50);
  CHECK(lim["rate_per_s"] == 20.0);
  CHECK(lim["burst"] == 40.0);
  CHECK(lim["max_queue_bytes"] == 4194304);
  SUBCASE("fractional rates survive") {
    limits_info f{1, 2, 3, 0.5, 1.5, 4};
    auto lj = parsed(welcome_frame("n", "s", "u", f))["limits"];
    CHECK(lj["rate_per_s"] == 0.5);
    CHECK(lj["burst"] == 1.5);
  }
}

TEST_CASE("subscribed frame") {
  auto j = parsed(subscribed_frame("lobby", {"ann", "bob"}));
  CHECK(keys(j) == strings{"members", "room", "type"});
  CHECK(j["type"] == "subscribed");
  CHECK(j["room"] == "lobby");
  CHECK(j["members"] == json::array({"ann", "bob"}));
  SUBCASE("no members is an empty array, not null") {
    auto e = parsed(subscribed_frame("r", {}));
    CHECK(e["members"].is_array());
    CHECK(e["members"].empty());
  }
}

TEST_CASE("history frame") {
  auto a = sample(0);
  auto b = sample(1763556074139022);
  b.id = "zz";
  auto j = parsed(history_frame("lobby", {a, b}, true));
  CHECK(keys(j) == strings{"gap", "messages", "room", "type"});
  CHECK(j["type"] == "history");
  CHECK(j["room"] == "lobby");
  CHECK(j["gap"] == true);
  REQUIRE(j["messages"].size() == 2);
  CHECK(j["messages"][0] == message_json(a));
  CHECK(j["messages"][1] == message_json(b));
  CHECK(j["messages"][0]["ts"] == "1970-01-01T00:00:00.000000Z");
  CHECK_FALSE(j["messages"][0].contains("type"));
  SUBCASE("empty history is an empty array and gap false") {
    auto e = parsed(history_frame("r", {}, false));
    CHECK(e["messages"].is_array());
    CHECK(e["messages"].empty());
    CHECK(e["gap"] == false);
  }
}

TEST_CASE("unsubscribed frame") {
  auto j = parsed(unsubscribed_frame("lobby"));
  CHECK(keys(j) == strings{"room", "type"});
  CHECK(j["type"] == "unsubscribed");
  CHECK(j["room"] == "lobby");
}

TEST_CASE("ack frame") {
  auto j = parsed(ack_frame("cid-1", "id-1", 1763556074139022, "lobby"));
  CHECK(keys(j) == strings{"client_id", "id", "room", "ts", "type"});
  CHECK(j["type"] == "ack");
  CHECK(j["client_id"] == "cid-1");
  CHECK(j["id"] == "id-1");
  CHECK(j["ts"] == "2025-11-19T12:41:14.139022Z");
  CHECK(j["room"] == "lobby");
  SUBCASE("without a client_id it is null, not absent") {
    auto n = parsed(ack_frame(nullptr, "id-1", 0, "lobby"));
    REQUIRE(n.contains("client_id"));
    CHECK(n["client_id"].is_null());
  }
}

TEST_CASE("typing frame") {
  auto start = parsed(typing_frame("lobby", "ann", true));
  CHECK(keys(start) == strings{"room", "state", "type", "user"});
  CHECK(start["type"] == "typing");
  CHECK(start["room"] == "lobby");
  CHECK(start["user"] == "ann");
  CHECK(start["state"] == "start");
  CHECK(parsed(typing_frame("lobby", "ann", false))["state"] == "stop");
}

TEST_CASE("read_receipt frame") {
  auto j = parsed(read_receipt_frame("lobby", "bob", "id-7"));
  CHECK(keys(j) == strings{"id", "room", "type", "user"});
  CHECK(j["type"] == "read_receipt");
  CHECK(j["room"] == "lobby");
  CHECK(j["user"] == "bob");
  CHECK(j["id"] == "id-7");
}

TEST_CASE("presence frame") {
  auto join = parsed(presence_frame("lobby", "ann", true));
  CHECK(keys(join) == strings{"room", "state", "type", "user"});
  CHECK(join["type"] == "presence");
  CHECK(join["state"] == "join");
  CHECK(join["user"] == "ann");
  CHECK(join["room"] == "lobby");
  CHECK(parsed(presence_frame("lobby", "ann", false))["state"] == "leave");
}

TEST_CASE("pong frame echoes t exactly") {
  for (const json& t : {json(nullptr), json(5), json("x"), json::parse(R"({"a":[1,{"b":2.5}]})")}) {
    auto j = parsed(pong_frame(t));
    CHECK(keys(j) == strings{"t", "type"});
    CHECK(j["type"] == "pong");
    CHECK(j["t"] == t);
  }
}

TEST_CASE("error frame") {
  auto j = parsed(error_frame(error_code::too_large, "too long", "cid"));
  CHECK(keys(j) == strings{"code", "message", "ref", "type"});
  CHECK(j["type"] == "error");
  CHECK(j["code"] == "too_large");
  CHECK(j["message"] == "too long");
  CHECK(j["ref"] == "cid");
  SUBCASE("an unknown ref is null, not absent") {
    auto n = parsed(error_frame(error_code::bad_json, "x", nullptr));
    REQUIRE(n.contains("ref"));
    CHECK(n["ref"].is_null());
    CHECK(n["code"] == "bad_json");
  }
}

TEST_CASE("server_notice frame") {
  auto j = parsed(notice_frame("draining", "bye"));
  CHECK(keys(j) == strings{"code", "message", "type"});
  CHECK(j["type"] == "server_notice");
  CHECK(j["code"] == "draining");
  CHECK(j["message"] == "bye");
}

TEST_CASE("invalid UTF-8 never throws and still yields valid JSON") {
  auto m = sample();
  m.text = "ok \xff\xfe bad \xc3";
  std::string out;
  CHECK_NOTHROW(out = message_frame(m));
  auto j = parsed(out);
  auto text = j["text"].get<std::string>();
  CHECK(text.rfind("ok ", 0) == 0);
  CHECK(text.find("\xEF\xBF\xBD") != std::string::npos); // U+FFFD replacement
  CHECK_NOTHROW(out = error_frame(error_code::bad_request, "invalid room name '\xff'", nullptr));
  CHECK(parsed(out)["code"] == "bad_request");
  CHECK_NOTHROW(out = history_frame("lobby", {m}, false));
  CHECK(parsed(out)["messages"].size() == 1);
  CHECK_NOTHROW(dump(json("\x80")));
}

TEST_CASE("valid multi-byte text is kept byte for byte") {
  auto m = sample();
  m.text = "caf\xC3\xA9 \xE6\xBC\xA2 \xF0\x9F\x98\x80";
  CHECK(parsed(message_frame(m))["text"] == m.text);
}
