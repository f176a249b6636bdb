// protocol/names: user and room names, code points, comma lists.

#include <doctest/doctest.h>

#include "protocol/names.hpp"

using namespace chat::protocol;

TEST_CASE("valid_user: 1 to 32 characters from [A-Za-z0-9_.-]") {
  SUBCASE("lengths") {
    CHECK_FALSE(valid_user(""));
    CHECK(valid_user("a"));
    CHECK(valid_user(std::string(32, 'u')));
    CHECK_FALSE(valid_user(std::string(33, 'u')));
  }
  SUBCASE("every allowed character") {
    CHECK(valid_user("abcdefghijklmnopqrstuvwxyz"));
    CHECK(valid_user("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
    CHECK(valid_user("0123456789"));
    CHECK(valid_user("_.-"));
    CHECK(valid_user("Ann_B.c-9"));
  }
  SUBCASE("disallowed characters") {
    for (const char* s : {"a:b", "a b", "a/b", "a@b", "a,b", "a+b", "a%b", "a\"b", "a\tb", "caf\xC3\xA9", "a\nb"}) {
      CAPTURE(s);
      CHECK_FALSE(valid_user(s));
    }
    CHECK_FALSE(valid_user(std::string("a\0b", 3)));
  }
}

TEST_CASE("valid_room: 1 to 64 characters from [A-Za-z0-9_.:-]") {
  SUBCASE("lengths") {
    CHECK_FALSE(valid_room(""));
    CHECK(valid_room("r"));
    CHECK(valid_room(std::string(64, 'r')));
    CHECK_FALSE(valid_room(std::string(65, 'r')));
  }
  SUBCASE("allowed characters, ':' included") {
    CHECK(valid_room("team:dev.ops-1_x"));
    CHECK(valid_room(":"));
    CHECK(valid_room("AZaz09_.:-"));
  }
  SUBCASE("disallowed characters") {
    for (const char* s : {"a b", "a/b", "a,b", "a#b", "a?b", "a&b", "a=b", "\xE6\xBC\xA2"}) {
      CAPTURE(s);
      CHECK_FALSE(valid_room(s));
    }
  }
}

TEST_CASE("code_points counts Unicode characters, not bytes") {
  CHECK(code_points("") == 0);
  CHECK(code_points("abc") == 3);
  CHECK(code_points("\xC3\xA9") == 1);         // é, 2 bytes
  CHECK(code_points("\xE6\xBC\xA2") == 1);     // 漢, 3 bytes
  CHECK(code_points("\xF0\x9F\x98\x80") == 1); // 😀, 4 bytes
  CHECK(code_points("a\xC3\xA9\xE6\xBC\xA2\xF0\x9F\x98\x80z") == 5);
  CHECK(code_points(std::string("a\0b", 3)) == 3);
}

TEST_CASE("split_commas") {
  using v = std::vector<std::string>;
  CHECK(split_commas("").empty());
  CHECK(split_commas("a") == v{"a"});
  CHECK(split_commas("a,b,c") == v{"a", "b", "c"});
  CHECK(split_commas("a,,b") == v{"a", "", "b"});
  CHECK(split_commas(",") == v{"", ""});
  CHECK(split_commas("a,") == v{"a", ""});
  CHECK(split_commas(",a") == v{"", "a"});
}

TEST_CASE("direct-message rooms: dm:A:B with A < B byte-wise, and nothing else in dm:") {
  CHECK(dm_room("bob", "ann") == "dm:ann:bob");
  CHECK(dm_room("ann", "bob") == "dm:ann:bob");
  CHECK(dm_room("Bob", "ann") == "dm:Bob:ann"); // byte order: uppercase first
  auto p = dm_parties("dm:ann:bob");
  REQUIRE(p);
  CHECK(p->first == "ann");
  CHECK(p->second == "bob");
  for (const char* bad : {"dm:bob:ann", "dm:ann:ann", "dm:ann", "dm:ann:", "dm::ann", "dm:", "dm:ann:bob:x", "dm:a b:c",
                          "dm:ann:b\xc3\xa9"}) {
    CAPTURE(bad);
    CHECK(is_dm_room(bad));
    CHECK_FALSE(dm_parties(bad));
    CHECK_FALSE(valid_room(bad));
  }
  // Two names of 32 characters: 68 in all, beyond the 64 of other rooms.
  auto longest = dm_room(std::string(32, 'x'), std::string(32, 'y'));
  CHECK(longest.size() == max_dm_room_chars);
  CHECK(valid_room(longest));
  CHECK_FALSE(valid_room(std::string(65, 'r')));
  CHECK_FALSE(valid_room("dm:" + std::string(33, 'x') + ":y"));
  // Not in the namespace: ordinary rooms, colons and all.
  CHECK_FALSE(is_dm_room("dmx:a:b"));
  CHECK_FALSE(is_dm_room("DM:a:b"));
  CHECK(valid_room("DM:bob:ann"));
}

TEST_CASE("may_hold and own_dm_room: a DM room is for its two users only") {
  CHECK(may_hold("ann", "dm:ann:bob"));
  CHECK(may_hold("bob", "dm:ann:bob"));
  CHECK_FALSE(may_hold("cat", "dm:ann:bob"));
  CHECK_FALSE(may_hold("an", "dm:ann:bob"));
  CHECK(may_hold("cat", "lobby"));
  CHECK(own_dm_room("ann", "dm:ann:bob"));
  CHECK_FALSE(own_dm_room("cat", "dm:ann:bob"));
  CHECK_FALSE(own_dm_room("ann", "lobby"));
  CHECK_FALSE(own_dm_room("ann", "dm:bob:ann")); // not canonical: nobody's
}
