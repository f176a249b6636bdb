#include <doctest/doctest.h>

#include "net/queue_admission.hpp"

using chat::net::admission;
using chat::net::admit;

TEST_CASE("queue admission: the per-connection bound") {
  CHECK(admit(100, 0, 0, 100, 1000) == admission::queue); // exactly the bound
  CHECK(admit(101, 0, 0, 100, 1000) == admission::over_own_bound);
  CHECK(admit(50, 60, 60, 100, 1000) == admission::over_own_bound);
}

TEST_CASE("queue admission: on a full node the sessions that are behind go, those keeping up are served") {
  // Node at 990 of 1000: a 20-byte frame would pass the bound.
  CHECK(admit(20, 10, 990, 4096, 1000) == admission::behind_on_full_node);
  CHECK(admit(20, 0, 990, 4096, 1000) == admission::queue);
  // Reaching the node bound exactly is fine.
  CHECK(admit(10, 10, 990, 4096, 1000) == admission::queue);
  // Past the bound already (other sessions' frames in flight): still only the ones behind.
  CHECK(admit(1, 0, 5000, 4096, 1000) == admission::queue);
  CHECK(admit(1, 1, 5000, 4096, 1000) == admission::behind_on_full_node);
}

TEST_CASE("queue admission: the per-connection bound is checked first") {
  CHECK(admit(200, 0, 990, 100, 1000) == admission::over_own_bound);
}
