#include <doctest/doctest.h>

#include "cluster/discovery.hpp"

using chat::cluster::parse_endpoint;

TEST_CASE("parse_endpoint: host, host:port, [v6]:port and bare IPv6") {
  auto a = parse_endpoint("node-1.chat:9200", 9100);
  CHECK(a.host == "node-1.chat");
  CHECK(a.port == 9200);
  CHECK(parse_endpoint("node-2", 9100).port == 9100);
  auto v6 = parse_endpoint("[fd00::1]:9300", 9100);
  CHECK(v6.host == "fd00::1");
  CHECK(v6.port == 9300);
  CHECK(parse_endpoint("[fd00::1]", 9100).port == 9100);
  auto bare = parse_endpoint("fd00::1", 9100);
  CHECK(bare.host == "fd00::1");
  CHECK(bare.port == 9100);
}

// Found by tests/fuzz/endpoint_fuzz: std::stoul took "9no0" as port 9.
TEST_CASE("parse_endpoint: a port that is not only digits is malformed") {
  CHECK(parse_endpoint("node-1.chat:9no0", 9100).host.empty());
  CHECK(parse_endpoint("a: 80", 9100).host.empty());
  CHECK(parse_endpoint("a:+80", 9100).host.empty());
  CHECK(parse_endpoint("a:-18446744073709551615", 9100).host.empty());
  CHECK(parse_endpoint("a:", 9100).host.empty());
  CHECK(parse_endpoint("a:0", 9100).host.empty());
  CHECK(parse_endpoint("a:65536", 9100).host.empty());
  CHECK(parse_endpoint("[::1]x", 9100).host.empty());
  CHECK(parse_endpoint("[::1]:", 9100).host.empty());
  CHECK(parse_endpoint("[::1", 9100).host.empty());
}
