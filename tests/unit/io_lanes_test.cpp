#include <doctest/doctest.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>

#include "net/io_lanes.hpp"

using chat::net::io_lanes;
using chat::net::outbox_target;

namespace {

/// Records what it is handed and on which thread.
struct recorder : outbox_target {
  std::vector<std::string> got;
  std::vector<std::thread::id> threads;
  std::uint16_t closed_with = 0;
  std::atomic<std::size_t> events{0}; ///< what other threads may watch

  void deliver(chat::protocol::frame_ptr frame) override {
    got.push_back(*frame);
    threads.push_back(std::this_thread::get_id());
    ++events;
  }
  void end(std::uint16_t code, std::string) override {
    closed_with = code;
    threads.push_back(std::this_thread::get_id());
    ++events;
  }
};

chat::protocol::frame_ptr frame(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

/// Blocks the lane's thread until released, so that pushes pile up.
std::promise<void> block(boost::asio::io_context& ioc, std::thread::id& lane_thread) {
  std::promise<void> release;
  std::promise<void> entered;
  auto gate = release.get_future().share();
  boost::asio::post(ioc, [gate, &entered, &lane_thread] {
    lane_thread = std::this_thread::get_id();
    entered.set_value();
    gate.wait();
  });
  entered.get_future().wait();
  return release;
}

void wait_for(const recorder& r, std::size_t events) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (r.events < events && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

} // namespace

TEST_CASE("io lanes: a batch of frames wakes the lane once, each target gets its frames in order") {
  io_lanes lanes{2};
  lanes.start();
  auto& ioc = lanes.next();
  auto& box = lanes.outbox_of(ioc);
  std::thread::id lane_thread;
  auto release = block(ioc, lane_thread);

  auto a = std::make_shared<recorder>();
  auto b = std::make_shared<recorder>();
  std::size_t before = box.drains();
  for (int i = 0; i < 500; ++i) {
    box.push(a, frame("a" + std::to_string(i)));
    box.push(b, frame("b" + std::to_string(i)));
  }
  box.push_close(a, 1001, "bye");
  release.set_value();
  wait_for(*a, 501);
  wait_for(*b, 500);
  lanes.stop(); // joins: what the targets recorded is complete and visible

  CHECK(box.drains() - before == 1);
  REQUIRE(a->got.size() == 500);
  REQUIRE(b->got.size() == 500);
  for (int i = 0; i < 500; ++i) {
    CHECK(a->got[i] == "a" + std::to_string(i));
    CHECK(b->got[i] == "b" + std::to_string(i));
  }
  CHECK(a->closed_with == 1001);
  for (auto id : a->threads)
    CHECK(id == lane_thread);
}

TEST_CASE("io lanes: frames pushed from many threads all arrive, each producer's in its order") {
  io_lanes lanes{1};
  lanes.start();
  auto& ioc = lanes.next();
  auto& box = lanes.outbox_of(ioc);
  auto t = std::make_shared<recorder>();
  constexpr int producers = 4;
  constexpr int per_producer = 2000;
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i)
        box.push(t, frame(std::to_string(p) + ":" + std::to_string(i)));
    });
  for (auto& th : threads)
    th.join();
  wait_for(*t, producers * per_producer);
  lanes.stop();

  REQUIRE(t->got.size() == producers * per_producer);
  std::map<int, int> next;
  for (std::size_t k = 0; k < t->got.size(); ++k) {
    auto& s = t->got[k];
    int p = std::stoi(s.substr(0, s.find(':')));
    int i = std::stoi(s.substr(s.find(':') + 1));
    CHECK(i == next[p]);
    next[p] = i + 1;
  }
  CHECK(box.drains() < static_cast<std::size_t>(producers * per_producer));
}

TEST_CASE("io lanes: connections are spread round robin, the main lane is the first") {
  io_lanes lanes{3};
  auto* first = &lanes.next();
  auto* second = &lanes.next();
  auto* third = &lanes.next();
  CHECK(first == &lanes.main());
  CHECK(first != second);
  CHECK(second != third);
  CHECK(&lanes.next() == first);
  CHECK(&lanes.outbox_of(*second) != &lanes.outbox_of(*third));
}

TEST_CASE("io lanes: each lane's thread is named for it") {
  io_lanes lanes{2};
  lanes.start();
  std::vector<std::string> names;
  for (int i = 0; i < 2; ++i) {
    std::promise<std::string> name;
    boost::asio::post(lanes.next(), [&name] {
      char buf[16] = {};
      pthread_getname_np(pthread_self(), buf, sizeof buf);
      name.set_value(buf);
    });
    names.push_back(name.get_future().get());
  }
  lanes.stop();
  CHECK(names == std::vector<std::string>{"chat.io0", "chat.io1"});
}

TEST_CASE("io lanes: frames pushed under a wake batch reach the lane when the outermost batch closes, in one drain") {
  io_lanes lanes{1};
  lanes.start();
  auto& ioc = lanes.next();
  auto& box = lanes.outbox_of(ioc);
  auto t = std::make_shared<recorder>();
  std::size_t before = box.drains();
  {
    chat::wake_batch outer;
    box.push(t, frame("first"));
    {
      chat::wake_batch inner;
      box.push(t, frame("second"));
    }
    // An idle lane would have taken "first" long before this.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(t->events == 0);
    box.push(t, frame("third"));
  }
  wait_for(*t, 3);
  lanes.stop();
  CHECK(t->got == std::vector<std::string>{"first", "second", "third"});
  CHECK(box.drains() - before == 1);
}
