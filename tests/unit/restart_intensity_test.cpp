// app/restart_intensity: at most N restarts in any window.

#include <doctest/doctest.h>

#include "app/restart_intensity.hpp"

using chat::restart_intensity;
using namespace std::chrono_literals;

namespace {
const restart_intensity::clock::time_point t0{std::chrono::seconds(5000)};
}

TEST_CASE("restart_intensity allows max restarts within the window and refuses the next") {
  restart_intensity ri{3, 10s};
  CHECK(ri.allow(t0));
  CHECK(ri.allow(t0 + 1s));
  CHECK(ri.allow(t0 + 2s));
  CHECK_FALSE(ri.allow(t0 + 3s));
}

TEST_CASE("restart_intensity: all restarts at one instant") {
  restart_intensity ri{2, 10s};
  CHECK(ri.allow(t0));
  CHECK(ri.allow(t0));
  CHECK_FALSE(ri.allow(t0));
}

TEST_CASE("restart_intensity allows again once the window slides past old restarts") {
  restart_intensity ri{2, 10s};
  CHECK(ri.allow(t0));
  CHECK(ri.allow(t0 + 5s));
  SUBCASE("a restart just inside the window is still refused") {
    CHECK_FALSE(ri.allow(t0 + 10s)); // t0 is exactly 10 s old: still counted
  }
  SUBCASE("after the oldest falls out") {
    CHECK(ri.allow(t0 + 10s + 1ms));
    CHECK_FALSE(ri.allow(t0 + 11s)); // t0+5s and t0+10s+1ms are still inside
    CHECK(ri.allow(t0 + 30s));       // everything before has slid out
  }
  SUBCASE("restarts spread wider than the window are always allowed") {
    for (int i = 1; i <= 20; ++i)
      CHECK(ri.allow(t0 + 5s + i * 6s));
  }
}

TEST_CASE("restart_intensity with zero restarts allowed refuses the first") {
  restart_intensity ri{0, 10s};
  CHECK_FALSE(ri.allow(t0));
}
