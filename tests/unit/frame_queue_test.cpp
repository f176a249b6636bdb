#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "net/frame_queue.hpp"

using chat::net::frame_queue;

namespace {

chat::protocol::frame_ptr frame(int i) { return std::make_shared<const std::string>(std::to_string(i)); }

} // namespace

TEST_CASE("frame_queue: first in, first out; nothing held while empty") {
  frame_queue q;
  CHECK(q.empty());
  CHECK(q.capacity() == 0);
  for (int i = 0; i < 5; ++i)
    q.push_back(frame(i));
  CHECK(q.size() == 5);
  CHECK(*q.back() == "4");
  for (int i = 0; i < 5; ++i) {
    CHECK(*q.front() == std::to_string(i));
    q.pop_front();
  }
  CHECK(q.empty());
}

TEST_CASE("frame_queue: a written frame is released at once, not when the queue drains") {
  frame_queue q;
  auto f = frame(1);
  q.push_back(f);
  q.push_back(frame(2));
  CHECK(f.use_count() == 2);
  q.pop_front();
  CHECK(f.use_count() == 1);
}

TEST_CASE("frame_queue: a burst's room is given back once drained") {
  frame_queue q;
  for (int i = 0; i < 1000; ++i)
    q.push_back(frame(i));
  CHECK(q.capacity() >= 1000);
  while (!q.empty())
    q.pop_front();
  CHECK(q.capacity() == 0);
  // A small queue keeps its room: the next frames need no allocation.
  for (int i = 0; i < 3; ++i)
    q.push_back(frame(i));
  q.pop_front();
  q.pop_front();
  q.pop_front();
  CHECK(q.capacity() > 0);
  CHECK(q.capacity() <= frame_queue::kept_capacity);
}

TEST_CASE("frame_queue: a queue that never empties stays as large as what waits in it") {
  frame_queue q;
  int next = 0, expect = 0;
  for (int i = 0; i < 8; ++i)
    q.push_back(frame(next++));
  for (int round = 0; round < 10000; ++round) {
    q.push_back(frame(next++));
    CHECK_MESSAGE(*q.front() == std::to_string(expect), "order kept at round " << round);
    q.pop_front();
    ++expect;
    if (q.capacity() > 64)
      break;
  }
  CHECK(q.size() == 8);
  CHECK(q.capacity() <= 64);
}

TEST_CASE("frame_queue: taking from the back (a close drops what is not written)") {
  frame_queue q;
  for (int i = 0; i < 4; ++i)
    q.push_back(frame(i));
  q.pop_front();
  q.pop_back();
  q.pop_back();
  CHECK(q.size() == 1);
  CHECK(*q.front() == "1");
  q.pop_back();
  CHECK(q.empty());
  CHECK(q.capacity() <= frame_queue::kept_capacity);
}
