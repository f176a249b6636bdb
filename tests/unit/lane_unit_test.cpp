// net/lane_unit: the actors a lane's sessions wake run on that lane's thread,
// what they wake in turn runs on CAF's scheduler, and an actor left waiting
// on a stopped lane still runs.

#include <doctest/doctest.h>

#include <future>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/post.hpp>

#include "actor_fixture.hpp"
#include "net/io_lanes.hpp"

using chat::net::io_lanes;
using chat::test::actor_fixture;

namespace {

/// Says on which thread it handled an int, then passes it on to `next`.
caf::behavior reporter(caf::event_based_actor* self, std::shared_ptr<std::promise<std::thread::id>> ran,
                       caf::actor next) {
  return {
    [=](int x) {
      ran->set_value(std::this_thread::get_id());
      if (next)
        self->send(next, x);
    },
    [](const std::string& ping) { return ping; },
  };
}

/// Once `a` has answered a ping and had time to go idle: a message wakes it
/// from then on (a message that finds it running is simply handled in that run).
caf::actor idle(caf::actor_system& sys, caf::actor a) {
  caf::scoped_actor self{sys};
  self->request(a, std::chrono::seconds(10), std::string("ping"))
    .receive([](const std::string&) {}, [](caf::error&) {});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return a;
}

std::thread::id within(std::future<std::thread::id> f) {
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return f.get();
}

} // namespace

TEST_CASE_FIXTURE(actor_fixture, "lane unit: the actor told runs on the lane, what it wakes on the scheduler") {
  io_lanes lanes{1, &sys};
  lanes.start();
  auto& ioc = lanes.next();
  auto* unit = lanes.actors_of(ioc);
  REQUIRE(unit != nullptr);
  auto ran_second = std::make_shared<std::promise<std::thread::id>>();
  auto ran_first = std::make_shared<std::promise<std::thread::id>>();
  auto second = idle(sys, keep(sys.spawn(reporter, ran_second, caf::actor{})));
  auto first = idle(sys, keep(sys.spawn(reporter, ran_first, second)));
  std::promise<std::thread::id> lane;
  boost::asio::post(ioc, [&] {
    lane.set_value(std::this_thread::get_id());
    unit->tell(*caf::actor_cast<caf::abstract_actor*>(first), caf::make_message(1));
  });
  auto lane_thread = within(lane.get_future());
  CHECK(within(ran_first->get_future()) == lane_thread);
  CHECK(within(ran_second->get_future()) != lane_thread);
  lanes.stop();
}

TEST_CASE_FIXTURE(actor_fixture, "lane unit: an actor still waiting on a lane that stops runs on the scheduler") {
  io_lanes lanes{1, &sys};
  lanes.start();
  auto& ioc = lanes.next();
  auto* unit = lanes.actors_of(ioc);
  auto ran = std::make_shared<std::promise<std::thread::id>>();
  auto a = idle(sys, keep(sys.spawn(reporter, ran, caf::actor{})));
  std::promise<std::thread::id> lane;
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  boost::asio::post(ioc, [&, opened] {
    // Told, then held here: its run is queued behind this handler, and the
    // lane is stopped before it gets to it.
    unit->tell(*caf::actor_cast<caf::abstract_actor*>(a), caf::make_message(1));
    lane.set_value(std::this_thread::get_id());
    opened.wait();
  });
  auto lane_thread = within(lane.get_future());
  ioc.stop();
  gate.set_value();
  lanes.stop();
  CHECK(within(ran->get_future()) != lane_thread);
}
