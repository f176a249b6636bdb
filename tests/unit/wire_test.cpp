// protocol/wire: what a client frame is judged to be, and how it is refused.

#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "protocol/wire.hpp"

using namespace chat::protocol;
using nlohmann::json;

namespace {

std::variant<request, wire_error> parse(const std::string& frame, std::size_t max_text_chars = 4000) {
  return parse_request(frame, parse_limits{max_text_chars});
}

/// The refusal of `frame`; fails the test when it was accepted.
wire_error refusal_of(const std::string& frame, std::size_t max_text_chars = 4000) {
  auto r = parse(frame, max_text_chars);
  if (auto* e = std::get_if<wire_error>(&r))
    return *e;
  FAIL_CHECK("frame was accepted: " << frame);
  return wire_error{error_code::internal, "accepted", nullptr};
}

/// The request `frame` parses to; fails the test when it was refused.
request accepted(const std::string& frame, std::size_t max_text_chars = 4000) {
  auto r = parse(frame, max_text_chars);
  if (auto* e = std::get_if<wire_error>(&r)) {
    FAIL_CHECK("frame was refused (" << to_string(e->code) << ": " << e->message << "): " << frame);
    return ping_req{};
  }
  return std::get<request>(r);
}

template <class T>
T accepted_as(const std::string& frame, std::size_t max_text_chars = 4000) {
  auto req = accepted(frame, max_text_chars);
  REQUIRE(std::holds_alternative<T>(req));
  return std::get<T>(req);
}

void check_refused(const std::string& frame, error_code code, const json& ref, std::size_t max_text_chars = 4000) {
  CAPTURE(frame);
  auto e = refusal_of(frame, max_text_chars);
  CHECK(to_string(e.code) == std::string(to_string(code)));
  CHECK(e.ref == ref);
  CHECK_FALSE(e.message.empty());
}

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out += s;
  return out;
}

std::string message_frame_with_text(const std::string& text) {
  return json{{"type", "message"}, {"room", "lobby"}, {"text", text}}.dump();
}

} // namespace

TEST_CASE("error codes have their wire names") {
  CHECK(std::string(to_string(error_code::bad_json)) == "bad_json");
  CHECK(std::string(to_string(error_code::bad_request)) == "bad_request");
  CHECK(std::string(to_string(error_code::too_large)) == "too_large");
  CHECK(std::string(to_string(error_code::not_subscribed)) == "not_subscribed");
  CHECK(std::string(to_string(error_code::rate_limited)) == "rate_limited");
  CHECK(std::string(to_string(error_code::too_many_rooms)) == "too_many_rooms");
  CHECK(std::string(to_string(error_code::unauthorized)) == "unauthorized");
  CHECK(std::string(to_string(error_code::forbidden)) == "forbidden");
  CHECK(std::string(to_string(error_code::not_found)) == "not_found");
  CHECK(std::string(to_string(error_code::internal)) == "internal");
}

TEST_CASE("a frame that is not JSON is bad_json with a null ref") {
  SUBCASE("plain text") { check_refused("hello", error_code::bad_json, nullptr); }
  SUBCASE("empty frame") { check_refused("", error_code::bad_json, nullptr); }
  SUBCASE("whitespace only") { check_refused("   ", error_code::bad_json, nullptr); }
  SUBCASE("truncated object") { check_refused(R"({"type":"ping")", error_code::bad_json, nullptr); }
  SUBCASE("truncated string") { check_refused(R"({"type":"pi)", error_code::bad_json, nullptr); }
  SUBCASE("trailing garbage") { check_refused(R"({"type":"ping"} x)", error_code::bad_json, nullptr); }
  SUBCASE("two objects") { check_refused(R"({"type":"ping"}{"type":"ping"})", error_code::bad_json, nullptr); }
  SUBCASE("single quotes") { check_refused("{'type':'ping'}", error_code::bad_json, nullptr); }
  SUBCASE("trailing comma") { check_refused(R"({"type":"ping",})", error_code::bad_json, nullptr); }
  SUBCASE("invalid UTF-8 in a string") {
    check_refused("{\"type\":\"message\",\"room\":\"lobby\",\"text\":\"\xff\xfe\"}", error_code::bad_json, nullptr);
  }
  SUBCASE("a message with a client_id that is not JSON still has a null ref") {
    check_refused(R"({"type":"message","client_id":"c1","room":"lobby","text":"hi")", error_code::bad_json, nullptr);
  }
}

TEST_CASE("valid JSON that is not an object is bad_request with a null ref") {
  for (const char* frame : {"[]", R"(["type","ping"])", "42", "-1.5", R"("ping")", "null", "true", "false"}) {
    CAPTURE(frame);
    check_refused(frame, error_code::bad_request, nullptr);
  }
}

TEST_CASE("the type field decides the request") {
  SUBCASE("missing type") { check_refused(R"({"room":"lobby"})", error_code::bad_request, nullptr); }
  SUBCASE("empty object") { check_refused("{}", error_code::bad_request, nullptr); }
  SUBCASE("non-string type") {
    check_refused(R"({"type":1})", error_code::bad_request, nullptr);
    check_refused(R"({"type":null})", error_code::bad_request, nullptr);
    check_refused(R"({"type":["ping"]})", error_code::bad_request, nullptr);
    check_refused(R"({"type":{"name":"ping"}})", error_code::bad_request, nullptr);
  }
  SUBCASE("unknown type: ref is the type") {
    check_refused(R"({"type":"shout","room":"lobby"})", error_code::bad_request, "shout");
    check_refused(R"({"type":""})", error_code::bad_request, "");
  }
  SUBCASE("types are case-sensitive") {
    check_refused(R"({"type":"Message","room":"lobby","text":"hi"})", error_code::bad_request, "Message");
    check_refused(R"({"type":"PING"})", error_code::bad_request, "PING");
    check_refused(R"({"type":"Subscribe","rooms":["a"]})", error_code::bad_request, "Subscribe");
  }
  SUBCASE("an unknown type carrying a client_id still has the type as ref") {
    check_refused(R"({"type":"shout","client_id":"c1"})", error_code::bad_request, "shout");
  }
}

TEST_CASE("message: fields and their rules") {
  SUBCASE("a well-formed message") {
    auto m = accepted_as<message_req>(R"({"type":"message","room":"lobby","text":"hello"})");
    CHECK(m.room == "lobby");
    CHECK(m.text == "hello");
    CHECK_FALSE(m.client_id.has_value());
  }
  SUBCASE("with a client_id") {
    auto m = accepted_as<message_req>(R"({"type":"message","room":"a:b","text":"x","client_id":"c-1"})");
    REQUIRE(m.client_id.has_value());
    CHECK(*m.client_id == "c-1");
  }
  SUBCASE("a null client_id counts as none") {
    auto m = accepted_as<message_req>(R"({"type":"message","room":"lobby","text":"x","client_id":null})");
    CHECK_FALSE(m.client_id.has_value());
  }
  SUBCASE("unknown extra fields are ignored") {
    auto m = accepted_as<message_req>(R"({"type":"message","room":"lobby","text":"x","extra":[1,2]})");
    CHECK(m.text == "x");
  }
  SUBCASE("missing room") { check_refused(R"({"type":"message","text":"x"})", error_code::bad_request, "message"); }
  SUBCASE("mistyped room") {
    check_refused(R"({"type":"message","room":5,"text":"x"})", error_code::bad_request, "message");
    check_refused(R"({"type":"message","room":null,"text":"x"})", error_code::bad_request, "message");
    check_refused(R"({"type":"message","room":["lobby"],"text":"x"})", error_code::bad_request, "message");
  }
  SUBCASE("invalid room name") {
    check_refused(R"({"type":"message","room":"","text":"x"})", error_code::bad_request, "message");
    check_refused(R"({"type":"message","room":"a b","text":"x"})", error_code::bad_request, "message");
    check_refused(json{{"type", "message"}, {"room", std::string(65, 'r')}, {"text", "x"}}.dump(),
                  error_code::bad_request, "message");
  }
  SUBCASE("missing text") { check_refused(R"({"type":"message","room":"lobby"})", error_code::bad_request, "message"); }
  SUBCASE("mistyped text") {
    check_refused(R"({"type":"message","room":"lobby","text":42})", error_code::bad_request, "message");
    check_refused(R"({"type":"message","room":"lobby","text":null})", error_code::bad_request, "message");
    check_refused(R"({"type":"message","room":"lobby","text":{"t":"x"}})", error_code::bad_request, "message");
  }
  SUBCASE("empty text") {
    check_refused(R"({"type":"message","room":"lobby","text":""})", error_code::bad_request, "message");
  }
  SUBCASE("the ref of a refused message is its client_id when it has one") {
    check_refused(R"({"type":"message","room":"lobby","text":"","client_id":"retry-7"})", error_code::bad_request,
                  "retry-7");
    check_refused(R"({"type":"message","text":"x","client_id":"retry-7"})", error_code::bad_request, "retry-7");
  }
}

TEST_CASE("message: client_id rules") {
  SUBCASE("64 characters is the longest allowed") {
    auto id = std::string(64, 'c');
    auto m =
      accepted_as<message_req>(json{{"type", "message"}, {"room", "lobby"}, {"text", "x"}, {"client_id", id}}.dump());
    CHECK(m.client_id == id);
  }
  SUBCASE("65 characters is bad_request, ref is the type") {
    check_refused(
      json{{"type", "message"}, {"room", "lobby"}, {"text", "x"}, {"client_id", std::string(65, 'c')}}.dump(),
      error_code::bad_request, "message");
  }
  SUBCASE("empty is bad_request") {
    check_refused(R"({"type":"message","room":"lobby","text":"x","client_id":""})", error_code::bad_request, "message");
  }
  SUBCASE("non-string is bad_request") {
    check_refused(R"({"type":"message","room":"lobby","text":"x","client_id":7})", error_code::bad_request, "message");
    check_refused(R"({"type":"message","room":"lobby","text":"x","client_id":true})", error_code::bad_request,
                  "message");
    check_refused(R"({"type":"message","room":"lobby","text":"x","client_id":["a"]})", error_code::bad_request,
                  "message");
  }
}

TEST_CASE("message: text length is counted in code points") {
  const std::size_t max = 10;
  SUBCASE("ASCII: exactly the limit is accepted, one more is too_large") {
    accepted_as<message_req>(message_frame_with_text(std::string(max, 'a')), max);
    check_refused(message_frame_with_text(std::string(max + 1, 'a')), error_code::too_large, "message", max);
  }
  SUBCASE("emoji (4 bytes each)") {
    const std::string emoji = "\xF0\x9F\x98\x80"; // U+1F600
    auto ok = accepted_as<message_req>(message_frame_with_text(repeat(emoji, max)), max);
    CHECK(ok.text.size() == 4 * max);
    check_refused(message_frame_with_text(repeat(emoji, max + 1)), error_code::too_large, "message", max);
  }
  SUBCASE("CJK (3 bytes each)") {
    const std::string han = "\xE6\xBC\xA2"; // U+6F22
    accepted_as<message_req>(message_frame_with_text(repeat(han, max)), max);
    check_refused(message_frame_with_text(repeat(han, max + 1)), error_code::too_large, "message", max);
  }
  SUBCASE("escaped code points count once each") {
    // "\u00e9" is one character in the text, six in the frame.
    std::string frame = R"({"type":"message","room":"lobby","text":")" + repeat("\\u00e9", max) + "\"}";
    auto ok = accepted_as<message_req>(frame, max);
    CHECK(ok.text == repeat("\xC3\xA9", max));
  }
  SUBCASE("the default limit is 4000") {
    CHECK(parse_limits{}.max_text_chars == 4000);
    accepted_as<message_req>(message_frame_with_text(std::string(4000, 'a')));
    check_refused(message_frame_with_text(std::string(4001, 'a')), error_code::too_large, "message");
  }
  SUBCASE("too_large names the client_id as ref") {
    check_refused(
      json{{"type", "message"}, {"room", "lobby"}, {"text", std::string(max + 1, 'a')}, {"client_id", "k"}}.dump(),
      error_code::too_large, "k", max);
  }
}

TEST_CASE("precedence: bad_json, then bad_request, then too_large") {
  const std::size_t max = 5;
  const std::string long_text = std::string(max + 1, 'a');
  SUBCASE("bad JSON wins over everything") {
    check_refused(R"({"type":"message","room":"not a room","text":")" + long_text + "\"", error_code::bad_json, nullptr,
                  max);
  }
  SUBCASE("a bad room wins over a long text") {
    check_refused(json{{"type", "message"}, {"room", "bad room"}, {"text", long_text}}.dump(), error_code::bad_request,
                  "message", max);
  }
  SUBCASE("a missing room wins over a long text") {
    check_refused(json{{"type", "message"}, {"text", long_text}}.dump(), error_code::bad_request, "message", max);
  }
  SUBCASE("a bad client_id wins over a long text") {
    check_refused(json{{"type", "message"}, {"room", "lobby"}, {"text", long_text}, {"client_id", 1}}.dump(),
                  error_code::bad_request, "message", max);
  }
  SUBCASE("a long text alone is too_large") {
    check_refused(json{{"type", "message"}, {"room", "lobby"}, {"text", long_text}}.dump(), error_code::too_large,
                  "message", max);
  }
}

TEST_CASE("subscribe: rooms and since") {
  SUBCASE("rooms are kept in order, duplicates dropped") {
    auto s = accepted_as<subscribe_req>(R"({"type":"subscribe","rooms":["b","a","b","c","a"]})");
    CHECK(s.rooms == std::vector<std::string>{"b", "a", "c"});
    CHECK(s.since.empty());
  }
  SUBCASE("an empty rooms array is accepted") {
    auto s = accepted_as<subscribe_req>(R"({"type":"subscribe","rooms":[]})");
    CHECK(s.rooms.empty());
  }
  SUBCASE("missing rooms") { check_refused(R"({"type":"subscribe"})", error_code::bad_request, "subscribe"); }
  SUBCASE("rooms not an array") {
    check_refused(R"({"type":"subscribe","rooms":"lobby"})", error_code::bad_request, "subscribe");
    check_refused(R"({"type":"subscribe","rooms":{"lobby":1}})", error_code::bad_request, "subscribe");
    check_refused(R"({"type":"subscribe","rooms":null})", error_code::bad_request, "subscribe");
  }
  SUBCASE("a non-string or invalid room in rooms") {
    check_refused(R"({"type":"subscribe","rooms":["lobby",3]})", error_code::bad_request, "subscribe");
    check_refused(R"({"type":"subscribe","rooms":["lobby",""]})", error_code::bad_request, "subscribe");
    check_refused(R"({"type":"subscribe","rooms":["lob by"]})", error_code::bad_request, "subscribe");
    check_refused(R"({"type":"subscribe","rooms":["a/b"]})", error_code::bad_request, "subscribe");
    check_refused(json{{"type", "subscribe"}, {"rooms", {std::string(65, 'r')}}}.dump(), error_code::bad_request,
                  "subscribe");
  }
  SUBCASE("since maps rooms to ids") {
    auto s = accepted_as<subscribe_req>(R"({"type":"subscribe","rooms":["a","b"],"since":{"a":"id-1","b":"id-2"}})");
    CHECK(s.since == std::map<std::string, std::string>{{"a", "id-1"}, {"b", "id-2"}});
  }
  SUBCASE("a null since counts as none") {
    auto s = accepted_as<subscribe_req>(R"({"type":"subscribe","rooms":["a"],"since":null})");
    CHECK(s.since.empty());
  }
  SUBCASE("since that is not an object") {
    check_refused(R"({"type":"subscribe","rooms":["a"],"since":"id-1"})", error_code::bad_request, "subscribe");
    check_refused(R"({"type":"subscribe","rooms":["a"],"since":["a","id-1"]})", error_code::bad_request, "subscribe");
    check_refused(R"({"type":"subscribe","rooms":["a"],"since":1})", error_code::bad_request, "subscribe");
  }
  SUBCASE("since with an invalid room or a non-string id") {
    check_refused(R"({"type":"subscribe","rooms":["a"],"since":{"a b":"id-1"}})", error_code::bad_request, "subscribe");
    check_refused(R"({"type":"subscribe","rooms":["a"],"since":{"":"id-1"}})", error_code::bad_request, "subscribe");
    check_refused(R"({"type":"subscribe","rooms":["a"],"since":{"a":1}})", error_code::bad_request, "subscribe");
    check_refused(R"({"type":"subscribe","rooms":["a"],"since":{"a":null}})", error_code::bad_request, "subscribe");
  }
}

TEST_CASE("unsubscribe: rooms") {
  auto u = accepted_as<unsubscribe_req>(R"({"type":"unsubscribe","rooms":["x","y","x"]})");
  CHECK(u.rooms == std::vector<std::string>{"x", "y"});
  check_refused(R"({"type":"unsubscribe"})", error_code::bad_request, "unsubscribe");
  check_refused(R"({"type":"unsubscribe","rooms":"x"})", error_code::bad_request, "unsubscribe");
  check_refused(R"({"type":"unsubscribe","rooms":["x y"]})", error_code::bad_request, "unsubscribe");
}

TEST_CASE("typing: room and state") {
  CHECK(accepted_as<typing_req>(R"({"type":"typing","room":"lobby","state":"start"})").start);
  auto stop = accepted_as<typing_req>(R"({"type":"typing","room":"lobby","state":"stop"})");
  CHECK_FALSE(stop.start);
  CHECK(stop.room == "lobby");
  check_refused(R"({"type":"typing","room":"lobby"})", error_code::bad_request, "typing");
  check_refused(R"({"type":"typing","room":"lobby","state":true})", error_code::bad_request, "typing");
  check_refused(R"({"type":"typing","room":"lobby","state":"Start"})", error_code::bad_request, "typing");
  check_refused(R"({"type":"typing","room":"lobby","state":""})", error_code::bad_request, "typing");
  check_refused(R"({"type":"typing","state":"start"})", error_code::bad_request, "typing");
  check_refused(R"({"type":"typing","room":"no room","state":"start"})", error_code::bad_request, "typing");
}

TEST_CASE("read: room and id") {
  auto r = accepted_as<read_req>(R"({"type":"read","room":"lobby","id":"m-1"})");
  CHECK(r.room == "lobby");
  CHECK(r.id == "m-1");
  check_refused(R"({"type":"read","room":"lobby"})", error_code::bad_request, "read");
  check_refused(R"({"type":"read","room":"lobby","id":""})", error_code::bad_request, "read");
  check_refused(R"({"type":"read","room":"lobby","id":12})", error_code::bad_request, "read");
  check_refused(R"({"type":"read","id":"m-1"})", error_code::bad_request, "read");
  check_refused(R"({"type":"read","room":"","id":"m-1"})", error_code::bad_request, "read");
}

TEST_CASE("history (scrollback): room, before, limit 1 to 100, default 50") {
  auto r = accepted_as<history_req>(R"({"type":"history","room":"lobby","before":"m-1"})");
  CHECK(r.room == "lobby");
  CHECK(r.before == "m-1");
  CHECK(r.limit == 50);
  CHECK(accepted_as<history_req>(R"({"type":"history","room":"lobby","before":"m-1","limit":1})").limit == 1);
  CHECK(accepted_as<history_req>(R"({"type":"history","room":"lobby","before":"m-1","limit":100})").limit == 100);
  CHECK(accepted_as<history_req>(R"({"type":"history","room":"lobby","before":"m-1","limit":null})").limit == 50);
  for (const char* bad : {R"({"type":"history","room":"lobby"})", R"({"type":"history","room":"lobby","before":""})",
                          R"({"type":"history","room":"lobby","before":7})", R"({"type":"history","before":"m-1"})",
                          R"({"type":"history","room":"lobby","before":"m-1","limit":0})",
                          R"({"type":"history","room":"lobby","before":"m-1","limit":101})",
                          R"({"type":"history","room":"lobby","before":"m-1","limit":-1})",
                          R"({"type":"history","room":"lobby","before":"m-1","limit":2.5})",
                          R"({"type":"history","room":"lobby","before":"m-1","limit":"5"})",
                          R"({"type":"history","room":"lobby","before":"m-1","limit":1e400})"})
    check_refused(bad, error_code::bad_request, "history");
  check_refused(json{{"type", "history"}, {"room", "lobby"}, {"before", std::string(129, 'x')}}.dump(),
                error_code::bad_request, "history");
  CHECK(ref_of(history_req{}) == json("history"));
}

TEST_CASE("ping: t is any JSON value, echoed as is") {
  SUBCASE("number") { CHECK(accepted_as<ping_req>(R"({"type":"ping","t":123})").t == json(123)); }
  SUBCASE("string") { CHECK(accepted_as<ping_req>(R"({"type":"ping","t":"x"})").t == json("x")); }
  SUBCASE("object") {
    CHECK(accepted_as<ping_req>(R"({"type":"ping","t":{"a":[1,2,{"b":null}]}})").t
          == json::parse(R"({"a":[1,2,{"b":null}]})"));
  }
  SUBCASE("explicit null") { CHECK(accepted_as<ping_req>(R"({"type":"ping","t":null})").t.is_null()); }
  SUBCASE("missing is null") { CHECK(accepted_as<ping_req>(R"({"type":"ping"})").t.is_null()); }
}

TEST_CASE("ref_of names the client_id, else the type") {
  CHECK(ref_of(subscribe_req{}) == json("subscribe"));
  CHECK(ref_of(unsubscribe_req{}) == json("unsubscribe"));
  CHECK(ref_of(message_req{"r", "t", std::nullopt}) == json("message"));
  CHECK(ref_of(message_req{"r", "t", std::string("cid")}) == json("cid"));
  CHECK(ref_of(typing_req{}) == json("typing"));
  CHECK(ref_of(read_req{}) == json("read"));
  CHECK(ref_of(ping_req{}) == json("ping"));
}

TEST_CASE("deep nesting is refused without exhausting the stack") {
  const std::size_t deep = 10000;
  SUBCASE("balanced deep arrays are bad_request") {
    check_refused(std::string(deep, '[') + std::string(deep, ']'), error_code::bad_request, nullptr);
  }
  SUBCASE("unbalanced deep arrays are not JSON") {
    check_refused(std::string(deep, '['), error_code::bad_json, nullptr);
  }
  SUBCASE("deep objects inside a valid request") {
    std::string t;
    for (std::size_t i = 0; i < deep; ++i)
      t += R"({"a":)";
    t += "1" + std::string(deep, '}');
    check_refused(R"({"type":"ping","t":)" + t + "}", error_code::bad_request, nullptr);
  }
  SUBCASE("moderate nesting in ping.t is fine") {
    // The frame's object is one level; 30 more stay under the limit.
    auto t = std::string(30, '[') + std::string(30, ']');
    auto p = accepted_as<ping_req>(R"({"type":"ping","t":)" + t + "}");
    CHECK(p.t.is_array());
  }
  SUBCASE("32 levels are accepted, 33 refused") {
    auto at = [](std::size_t arrays) {
      return R"({"type":"ping","t":)" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
    };
    accepted_as<ping_req>(at(31)); // the frame's object plus 31 arrays
    check_refused(at(32), error_code::bad_request, nullptr);
  }
  SUBCASE("brackets inside strings do not count as nesting") {
    auto text = std::string(200, '[') + std::string(100, '{') + "\\\"" + std::string(50, '[');
    auto m = accepted_as<message_req>(R"({"type":"message","room":"lobby","text":")" + text + "\"}");
    CHECK(m.text == std::string(200, '[') + std::string(100, '{') + "\"" + std::string(50, '['));
  }
  SUBCASE("an escaped backslash ends before the closing quote") {
    // "\\" is one backslash; the quote after it closes the string, so the
    // brackets that follow are real nesting.
    std::string frame = R"({"type":"ping","x":"\\","t":)" + std::string(100, '[') + std::string(100, ']') + "}";
    check_refused(frame, error_code::bad_request, nullptr);
  }
}

TEST_CASE("message: client_id length is counted in characters") {
  std::string id;
  for (int i = 0; i < 64; ++i)
    id += "\xC3\xA9";
  auto r = parse(json{{"type", "message"}, {"room", "lobby"}, {"text", "x"}, {"client_id", id}}.dump());
  CHECK(std::holds_alternative<request>(r));
}

TEST_CASE("message ids a client names are bounded") {
  auto id128 = std::string(max_id_bytes, 'i');
  auto id129 = std::string(max_id_bytes + 1, 'i');
  CHECK(accepted_as<read_req>(json{{"type", "read"}, {"room", "lobby"}, {"id", id128}}.dump()).id == id128);
  check_refused(json{{"type", "read"}, {"room", "lobby"}, {"id", id129}}.dump(), error_code::bad_request, "read");
  CHECK(accepted_as<subscribe_req>(json{{"type", "subscribe"}, {"rooms", {"a"}}, {"since", {{"a", id128}}}}.dump())
          .since.at("a")
        == id128);
  check_refused(json{{"type", "subscribe"}, {"rooms", {"a"}}, {"since", {{"a", id129}}}}.dump(),
                error_code::bad_request, "subscribe");
  check_refused(json{{"type", "subscribe"}, {"rooms", {"a"}}, {"since", {{"a", ""}}}}.dump(), error_code::bad_request,
                "subscribe");
}

TEST_CASE("numbers beyond a double are valid JSON: they saturate") {
  SUBCASE("positive and negative overflow") {
    auto p = accepted_as<ping_req>(R"({"type":"ping","t":1e400})");
    CHECK(p.t.is_number_float());
    CHECK(p.t.get<double>() == std::numeric_limits<double>::max());
    auto n = accepted_as<ping_req>(R"({"type":"ping","t":[-1E+999999, 2, "1e400"]})");
    CHECK(n.t[0].get<double>() == -std::numeric_limits<double>::max());
    CHECK(n.t[1] == 2);
    CHECK(n.t[2] == "1e400"); // inside a string: untouched
  }
  SUBCASE("underflow is just zero, as before") {
    CHECK(accepted_as<ping_req>(R"({"type":"ping","t":1e-400})").t.get<double>() == 0.0);
  }
  SUBCASE("a huge number where a string belongs is still bad_request") {
    check_refused(R"({"type":"message","room":"lobby","text":"x","client_id":1e400})", error_code::bad_request,
                  "message");
  }
  SUBCASE("a frame broken elsewhere stays bad_json") {
    for (const char* bad :
         {R"({"type":"ping","t":1e400)", R"({"type":"ping","t":01e400})", R"({"type":"ping","t":1e400,})",
          R"({"type":"ping","t":1e})", R"({"type":"ping","t":-})", R"({"type":"ping","t":1e400 1})"}) {
      CAPTURE(bad);
      check_refused(bad, error_code::bad_json, nullptr);
    }
  }
}
