// chat/clock: the hybrid logical clock and message ids.

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "chat/clock.hpp"
#include "protocol/message.hpp"

using chat::hlc;
using chat::id_generator;

TEST_CASE("wall_micros is microseconds since the epoch") {
  auto now = chat::wall_micros();
  CHECK(now > 1'600'000'000'000'000); // after 2020
  CHECK(now < 4'102'444'800'000'000); // before 2100
}

TEST_CASE("hlc follows the wall clock while it moves forward") {
  std::int64_t wall = 1000;
  hlc c{[&] { return wall; }};
  CHECK(c.now() == 1000);
  wall = 5000;
  CHECK(c.now() == 5000);
  wall = 5001;
  CHECK(c.now() == 5001);
}

TEST_CASE("hlc is strictly increasing when the wall clock stands still") {
  std::int64_t wall = 1000;
  hlc c{[&] { return wall; }};
  std::int64_t last = c.now();
  for (int i = 0; i < 1000; ++i) {
    auto t = c.now();
    REQUIRE(t > last);
    last = t;
  }
  CHECK(last == 2000);
}

TEST_CASE("hlc is strictly increasing when the wall clock goes backwards") {
  std::int64_t wall = 10'000;
  hlc c{[&] { return wall; }};
  auto a = c.now();
  wall = 5'000;
  auto b = c.now();
  CHECK(b > a);
  CHECK(b == a + 1);
  wall = 9'999;
  CHECK(c.now() == a + 2);
  wall = 20'000;
  CHECK(c.now() == 20'000); // catches up with the wall again
}

TEST_CASE("hlc::observe") {
  std::int64_t wall = 1000;
  hlc c{[&] { return wall; }};
  SUBCASE("a future ts moves the clock past it") {
    c.observe(1'000'000);
    CHECK(c.now() == 1'000'001);
    CHECK(c.now() == 1'000'002);
  }
  SUBCASE("a past ts changes nothing") {
    CHECK(c.now() == 1000);
    c.observe(10);
    wall = 1500;
    CHECK(c.now() == 1500);
  }
  SUBCASE("an observed ts equal to the last one still gives a greater one") {
    auto t = c.now();
    c.observe(t);
    CHECK(c.now() > t);
  }
}

TEST_CASE("hlc with the real wall clock never repeats") {
  hlc c;
  std::int64_t last = 0;
  for (int i = 0; i < 10000; ++i) {
    auto t = c.now();
    REQUIRE(t > last);
    last = t;
  }
}

TEST_CASE("id_generator") {
  id_generator gen{"n1", 0xabcdef};
  SUBCASE("the id is fixed-width hex ts, node and nonce") {
    CHECK(gen.next(0) == "00000000000000-n1-abcdef");
    CHECK(gen.next(0x1234) == "00000000001234-n1-abcdef");
    CHECK(gen.next(1763556074139022) == "0643f1e5572d8e-n1-abcdef");
  }
  SUBCASE("only the low 24 bits of the nonce are used") {
    id_generator g{"n", 0xff000001};
    CHECK(g.next(1) == "00000000000001-n-000001");
  }
  SUBCASE("ids are unique and sort by (ts, id) in generation order") {
    std::int64_t wall = 1'763'556'074'000'000;
    hlc c{[&] { return wall; }};
    std::vector<chat::message> made;
    std::set<std::string> unique;
    for (int i = 0; i < 500; ++i) {
      if (i % 7 == 0)
        wall += 3; // the wall clock moves now and then, and stalls in between
      auto ts = c.now();
      auto id = gen.next(ts);
      unique.insert(id);
      made.push_back(chat::message{"r", id, "u", "t", "", ts});
    }
    CHECK(unique.size() == made.size());
    auto sorted = made;
    std::sort(sorted.begin(), sorted.end(), chat::history_before);
    for (std::size_t i = 0; i < made.size(); ++i)
      REQUIRE(sorted[i].id == made[i].id);
    // The id alone sorts the same way, since its hex ts is fixed-width.
    CHECK(std::is_sorted(made.begin(), made.end(),
                         [](const chat::message& a, const chat::message& b) { return a.id < b.id; }));
  }
  SUBCASE("two generators give different ids for the same ts") {
    id_generator other_node{"n2", 0xabcdef};
    id_generator restarted{"n1", 0x123456};
    auto ts = std::int64_t{1'763'556'074'139'022};
    CHECK(gen.next(ts) != other_node.next(ts));
    CHECK(gen.next(ts) != restarted.next(ts));
    CHECK(other_node.next(ts) != restarted.next(ts));
  }
}

TEST_CASE("random_nonce varies") {
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 16; ++i)
    seen.insert(chat::random_nonce());
  CHECK(seen.size() > 1);
}
