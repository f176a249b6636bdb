// chat/token_bucket: the per-connection publish limit.

#include <doctest/doctest.h>

#include "chat/token_bucket.hpp"

using chat::token_bucket;
using namespace std::chrono_literals;

namespace {

const token_bucket::clock::time_point t0{std::chrono::seconds(1000)};

int take_all(token_bucket& b, token_bucket::clock::time_point at) {
  int n = 0;
  while (b.try_take(at) && n < 1'000'000)
    ++n;
  return n;
}

} // namespace

TEST_CASE("token_bucket starts full") {
  token_bucket b{20, 40, t0};
  CHECK(b.tokens(t0) == doctest::Approx(40));
}

TEST_CASE("token_bucket gives exactly burst tokens at one instant, then refuses") {
  token_bucket b{20, 40, t0};
  CHECK(take_all(b, t0) == 40);
  CHECK_FALSE(b.try_take(t0));
  CHECK(b.tokens(t0) == doctest::Approx(0));
}

TEST_CASE("token_bucket refills at its rate") {
  token_bucket b{20, 40, t0};
  REQUIRE(take_all(b, t0) == 40);
  SUBCASE("one token every 50 ms at 20/s") {
    CHECK_FALSE(b.try_take(t0 + 49ms)); // 0.98
    CHECK(b.try_take(t0 + 51ms));       // 1.02 -> 0.02
    CHECK_FALSE(b.try_take(t0 + 51ms));
    CHECK_FALSE(b.try_take(t0 + 99ms)); // 0.98
    CHECK(b.try_take(t0 + 102ms));
  }
  SUBCASE("half a second gives ten") { CHECK(take_all(b, t0 + 500ms) == 10); }
  SUBCASE("partial tokens accumulate across calls") {
    CHECK_FALSE(b.try_take(t0 + 30ms)); // 0.6
    CHECK(b.try_take(t0 + 60ms));       // 1.2 -> 0.2
    CHECK(b.tokens(t0 + 60ms) == doctest::Approx(0.2));
  }
  SUBCASE("never more than burst, however long the pause") {
    CHECK(b.tokens(t0 + 1h) == doctest::Approx(40));
    CHECK(take_all(b, t0 + 1h) == 40);
  }
  SUBCASE("time going backwards neither adds nor removes") {
    CHECK(b.tokens(t0 + 100ms) == doctest::Approx(2));
    CHECK(b.tokens(t0) == doctest::Approx(2));
    CHECK(b.tokens(t0 + 150ms) == doctest::Approx(3));
  }
}

TEST_CASE("token_bucket::refund gives one back, never above burst") {
  token_bucket b{20, 3, t0};
  REQUIRE(take_all(b, t0) == 3);
  b.refund();
  CHECK(b.tokens(t0) == doctest::Approx(1));
  CHECK(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0));
  SUBCASE("a full bucket stays at burst") {
    token_bucket full{20, 3, t0};
    full.refund();
    full.refund();
    CHECK(full.tokens(t0) == doctest::Approx(3));
    CHECK(take_all(full, t0) == 3);
  }
}

TEST_CASE("token_bucket with fractional rates") {
  SUBCASE("half a token per second") {
    token_bucket b{0.5, 1, t0};
    CHECK(b.try_take(t0));
    CHECK_FALSE(b.try_take(t0 + 1s));
    CHECK_FALSE(b.try_take(t0 + 1990ms));
    CHECK(b.try_take(t0 + 2010ms));
  }
  SUBCASE("a fractional burst gives whole tokens only") {
    token_bucket b{1, 2.5, t0};
    CHECK(take_all(b, t0) == 2);
    CHECK(b.tokens(t0) == doctest::Approx(0.5));
    CHECK(b.try_take(t0 + 500ms));
    CHECK(b.tokens(t0 + 10s) == doctest::Approx(2.5));
  }
}

TEST_CASE("token_bucket takes n tokens at once, or none") {
  token_bucket b{20, 40, t0};
  CHECK(b.try_take(t0, 30));
  CHECK_FALSE(b.try_take(t0, 11));
  CHECK(b.tokens(t0) == doctest::Approx(10));
  CHECK(b.try_take(t0, 10));
  CHECK_FALSE(b.try_take(t0));
}
