// net/origin_check: which pages may open /ws, which peer URLs pages may use.

#include <doctest/doctest.h>

#include "net/origin_check.hpp"

using namespace chat::net;
using strings = std::vector<std::string>;
using opt = std::optional<std::string_view>;

TEST_CASE("normalize_origin: scheme and host lowercased, default ports explicit, path dropped") {
  CHECK(normalize_origin("http://127.0.0.1:8081") == "http://127.0.0.1:8081");
  CHECK(normalize_origin("HTTP://Chat.Example.COM") == "http://chat.example.com:80");
  CHECK(normalize_origin("https://chat.example.com/") == "https://chat.example.com:443");
  CHECK(normalize_origin("https://chat.example.com:443/room?x=1") == "https://chat.example.com:443");
  CHECK(normalize_origin("ws://a:9") == "ws://a:9");
  CHECK(normalize_origin("wss://a") == "wss://a:443");
  CHECK(normalize_origin("http://[::1]:8080") == "http://[::1]:8080");
  CHECK(normalize_origin("http://[::1]") == "http://[::1]:80");
}

TEST_CASE("normalize_origin: refuses what is not an http(s)/ws(s) origin") {
  for (const char* bad : {"", "null", "*", "127.0.0.1:8080", "file:///etc/passwd", "ftp://a", "http://", "http://:80",
                          "http://a:", "http://a:0", "http://a:65536", "http://a:8o", "http://user@a", "http://[::1",
                          "http://a b", "javascript://a"})
    CHECK_MESSAGE(!normalize_origin(bad), bad);
}

TEST_CASE("origin_allowed: no Origin header is a non-browser client and is allowed") {
  CHECK(origin_allowed(std::nullopt, "127.0.0.1:8081", {}));
  CHECK(origin_allowed(std::nullopt, "127.0.0.1:8081", {"http://a"}));
}

TEST_CASE("origin_allowed: default is same origin: scheme, host and port of the Host header") {
  const strings none;
  CHECK(origin_allowed(opt{"http://127.0.0.1:8081"}, "127.0.0.1:8081", none));
  CHECK(origin_allowed(opt{"http://Chat.Example.com"}, "chat.example.com", none));
  CHECK(origin_allowed(opt{"http://chat.example.com:80"}, "chat.example.com", none));
  CHECK(origin_allowed(opt{"http://chat.example.com"}, "chat.example.com:80", none));
  CHECK(origin_allowed(opt{"ws://127.0.0.1:8081"}, "127.0.0.1:8081", none));
  CHECK(origin_allowed(opt{"http://[::1]:8081"}, "[::1]:8081", none));

  CHECK_FALSE(origin_allowed(opt{"http://evil.example"}, "127.0.0.1:8081", none));
  CHECK_FALSE(origin_allowed(opt{"http://127.0.0.1:8082"}, "127.0.0.1:8081", none)); // another port
  CHECK_FALSE(origin_allowed(opt{"http://127.0.0.1"}, "127.0.0.1:8081", none));
  CHECK_FALSE(origin_allowed(opt{"https://127.0.0.1:8081"}, "127.0.0.1:8081", none)); // another scheme
  CHECK_FALSE(origin_allowed(opt{"http://127.0.0.2:8081"}, "127.0.0.1:8081", none));
  CHECK_FALSE(origin_allowed(opt{"null"}, "127.0.0.1:8081", none));
  CHECK_FALSE(origin_allowed(opt{""}, "127.0.0.1:8081", none));
  CHECK_FALSE(origin_allowed(opt{"http://127.0.0.1:8081"}, "", none)); // no Host
  CHECK_FALSE(origin_allowed(opt{"http://127.0.0.1:8081"}, "127.0.0.1:8081/x", none));
}

TEST_CASE("origin_allowed: a list admits exactly its origins, and not the Host's own") {
  const strings list{"http://127.0.0.1:8081", "https://chat.example.com"};
  CHECK(origin_allowed(opt{"http://127.0.0.1:8081"}, "127.0.0.1:8082", list));
  CHECK(origin_allowed(opt{"https://CHAT.example.com:443"}, "node-1:8080", list));
  CHECK_FALSE(origin_allowed(opt{"http://chat.example.com"}, "node-1:8080", list)); // http is not https
  CHECK_FALSE(origin_allowed(opt{"http://127.0.0.1:8083"}, "127.0.0.1:8081", list));
  // Same origin by Host is what a DNS-rebinding page looks like: the list rules.
  CHECK_FALSE(origin_allowed(opt{"http://rebound.example:8080"}, "rebound.example:8080", list));
  CHECK_FALSE(origin_allowed(opt{"null"}, "127.0.0.1:8081", list));
}

TEST_CASE("origin_allowed: \"*\" admits any origin, even null") {
  CHECK(origin_allowed(opt{"http://evil.example"}, "127.0.0.1:8081", {"*"}));
  CHECK(origin_allowed(opt{"null"}, "127.0.0.1:8081", {"http://a", "*"}));
}

TEST_CASE("peer_url_allowed: only http(s) URLs whose origin is listed, or any with \"*\"") {
  CHECK_FALSE(peer_url_allowed("http://127.0.0.1:8082", {})); // default: none
  const strings list{"http://127.0.0.1:8082", "https://chat.example.com"};
  CHECK(peer_url_allowed("http://127.0.0.1:8082", list));
  CHECK(peer_url_allowed("http://127.0.0.1:8082/", list));
  CHECK(peer_url_allowed("https://chat.example.com:443", list));
  CHECK_FALSE(peer_url_allowed("http://evil.example", list));
  CHECK_FALSE(peer_url_allowed("http://127.0.0.1:8083", list));
  CHECK(peer_url_allowed("http://anything.example:1", {"*"}));
  CHECK_FALSE(peer_url_allowed("ws://127.0.0.1:8082", {"*"}));
  CHECK_FALSE(peer_url_allowed("javascript:alert(1)", {"*"}));
  CHECK_FALSE(peer_url_allowed("", {"*"}));
}
