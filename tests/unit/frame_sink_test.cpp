// chat/frame_sink and chat/fanout_shard: a connection's rooms and seen ids
// kept beside its socket's queue, so that the fan-out hands frames to the
// sink without a hop through the connection actor, and the checks that make
// that safe (no id twice, nothing for a room after it was released).

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "actor_fixture.hpp"
#include "chat/fanout_shard.hpp"
#include "chat/frame_sink.hpp"
#include "recording_sink.hpp"

using chat::test::actor_fixture;
using chat::test::eventually;
using chat::test::recording_sink;

namespace {

chat::protocol::frame_ptr frame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

chat::message msg(std::string id) { return chat::message{"r", std::move(id), "ann", "hi", "", 1}; }

} // namespace

TEST_CASE("frame_sink: a room's messages only while it is held, each id once") {
  recording_sink s;
  s.deliver("r", "1", frame("m1"));
  CHECK(s.frames().empty()); // not held
  CHECK(s.hold("r", 10));
  CHECK_FALSE(s.hold("r", 10));
  CHECK(s.holds("r"));
  CHECK(s.rooms_held() == 1);
  s.deliver("r", "1", frame("m1"));
  s.deliver("r", "1", frame("m1 again"));
  s.deliver("other", "2", frame("elsewhere"));
  s.mark_sent("r", "3"); // the connection's own message, acked
  s.deliver("r", "3", frame("own echo"));
  s.push("r", frame("typing"));
  s.push("other", frame("typing elsewhere"));
  CHECK(s.release("r"));
  CHECK_FALSE(s.release("r"));
  s.deliver("r", "4", frame("after release"));
  s.push("r", frame("typing after release"));
  CHECK(s.frames() == std::vector<std::string>{"m1", "typing"});
  CHECK(s.rooms_held() == 0);
}

TEST_CASE("frame_sink: a subscribe's answer opens a held room with its history marked sent") {
  recording_sink s;
  s.open("r", {msg("1")}, frame("subscribed"), frame("history"));
  CHECK(s.frames().empty()); // released before the answer came
  s.hold("r", 10);
  s.open("r", {msg("1"), msg("2")}, frame("subscribed"), frame("history"));
  s.deliver("r", "2", frame("m2, in the history"));
  s.deliver("r", "5", frame("m5"));
  CHECK(s.frames() == std::vector<std::string>{"subscribed", "history", "m5"});
}

TEST_CASE("frame_sink: nothing of a room is sent after its release, whatever thread delivers") {
  // One thread delivers a stream of ids while another releases the room and
  // then sends its `unsubscribed`: no message may follow that frame.
  for (int round = 0; round < 20; ++round) {
    recording_sink s;
    s.hold("r", 100000);
    std::atomic<bool> go{false};
    std::thread deliverer([&] {
      while (!go)
        std::this_thread::yield();
      for (int i = 0; i < 2000; ++i)
        s.deliver("r", std::to_string(i), frame("m"));
    });
    go = true;
    std::this_thread::sleep_for(std::chrono::microseconds(50 * round));
    s.release("r");
    s.send(frame("unsubscribed"));
    deliverer.join();
    auto got = s.frames();
    auto it = std::find(got.begin(), got.end(), "unsubscribed");
    REQUIRE(it != got.end());
    CHECK(std::count(it, got.end(), "m") == 0);
  }
}

TEST_CASE("fanout_shard: straight to the sinks it is given, through the actor for the others") {
  actor_fixture f;
  auto shard = f.keep(f.sys.spawn(chat::fanout_shard, std::make_shared<chat::shard_progress>(0)));
  auto direct = std::make_shared<recording_sink>();
  direct->hold("r", 10);
  std::vector<std::string> via_actor;
  std::mutex mtx;
  auto conn = f.keep(f.sys.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](chat::deliver_atom, const std::string&, const std::string& id, const chat::protocol::frame_ptr&) {
      std::lock_guard<std::mutex> guard{mtx};
      via_actor.push_back(id);
    }};
  }));
  auto deliver = caf::make_message(chat::deliver_atom::value, std::string("r"), std::string("7"), frame("m7"));
  caf::anon_send(shard, chat::fanout_atom::value, std::vector<caf::actor>{conn}, std::vector<chat::sink_ptr>{direct},
                 deliver);
  CHECK(eventually([&] { return direct->frames() == std::vector<std::string>{"m7"}; }));
  CHECK(eventually([&] {
    std::lock_guard<std::mutex> guard{mtx};
    return via_actor == std::vector<std::string>{"7"};
  }));
  // A subscribe's answer and a notify go the same way, in order.
  direct->hold("s", 10);
  std::vector<chat::room_snapshot> snaps{{"s", {"ann"}, {msg("1")}, false}};
  caf::anon_send(shard, chat::fanout_atom::value, std::vector<caf::actor>{}, std::vector<chat::sink_ptr>{direct},
                 caf::make_message(chat::subscribed_atom::value, std::uint64_t{1}, snaps));
  caf::anon_send(shard, chat::fanout_atom::value, std::vector<caf::actor>{}, std::vector<chat::sink_ptr>{direct},
                 caf::make_message(chat::notify_atom::value, frame("inbox_update")));
  CHECK(eventually([&] { return direct->frames().size() == 4; }));
  auto got = direct->frames();
  CHECK(got[1].find("\"subscribed\"") != std::string::npos);
  CHECK(got[2].find("\"history\"") != std::string::npos);
  CHECK(got[3] == "inbox_update");
}

namespace {

/// A sink whose send() waits until it is opened: a fan-out held in the
/// middle of handing its frame over.
class gated_sink final : public chat::frame_sink {
public:
  void send(chat::protocol::frame_ptr) override {
    entered = true;
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [&] { return open_; });
  }
  void close(std::uint16_t, std::string) override {}
  void frame_done() override {}
  void open() {
    std::lock_guard<std::mutex> guard{mtx_};
    open_ = true;
    cv_.notify_all();
  }
  std::atomic<bool> entered{false};

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
};

} // namespace

// The chat server does a small fan-out itself only when its shard has
// finished all it was sent (chat_server_parts.cpp, hand_over): that is safe
// only if a fan-out counts as finished once its sinks have the frame.
TEST_CASE("fanout_shard: a fan-out counts as done only once its sinks have it") {
  actor_fixture f;
  auto done = std::make_shared<chat::shard_progress>(0);
  auto shard = f.keep(f.sys.spawn(chat::fanout_shard, done));
  auto sink = std::make_shared<gated_sink>();
  sink->hold("r", 10);
  caf::anon_send(shard, chat::fanout_atom::value, std::vector<caf::actor>{}, std::vector<chat::sink_ptr>{sink},
                 caf::make_message(chat::deliver_atom::value, std::string("r"), std::string("1"), frame("m")));
  REQUIRE(eventually([&] { return sink->entered.load(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(done->load() == 0); // handing over, not done
  sink->open();
  CHECK(eventually([&] { return done->load() == 1; }));
}
