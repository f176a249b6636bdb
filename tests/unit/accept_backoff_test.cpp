// net/accept_backoff: how long the accept loop waits and when it reports.

#include <doctest/doctest.h>

#include "net/accept_backoff.hpp"

using namespace chat::net;
using namespace std::chrono_literals;

TEST_CASE("accept_backoff: a shortage waits 50 ms, doubling to 1 s, and starts over after a success") {
  accept_backoff b;
  auto t = accept_backoff::clock::time_point{} + 1h;
  std::chrono::milliseconds waits[] = {50ms, 100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms};
  for (auto w : waits) {
    CHECK(b.failed(t, true).wait == w);
    t += w;
  }
  CHECK(b.succeeded());
  CHECK_FALSE(b.succeeded());
  CHECK(b.failed(t, true).wait == 50ms);
}

TEST_CASE("accept_backoff: one bad connection does not wait") {
  accept_backoff b;
  auto t = accept_backoff::clock::time_point{} + 1h;
  CHECK(b.failed(t, false).wait == 0ms);
  CHECK_FALSE(b.succeeded());
}

TEST_CASE("accept_backoff: reports the first failure, then at most once a second with the count") {
  accept_backoff b;
  auto t = accept_backoff::clock::time_point{} + 1h;
  auto first = b.failed(t, false);
  CHECK(first.log);
  CHECK(first.count == 1);
  int logs = 0;
  std::uint64_t counted = 0;
  // 10000 failures over 5 s (a spinning loop would make millions).
  for (int i = 1; i <= 10000; ++i) {
    auto s = b.failed(t + std::chrono::microseconds(i * 500), false);
    if (s.log) {
      ++logs;
      counted += s.count;
    }
  }
  CHECK(logs == 5);
  CHECK(counted == 10000); // each failure counted once, in the report that followed it
}
