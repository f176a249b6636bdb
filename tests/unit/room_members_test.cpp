// chat/room_members: who is in which room, presence, and this node's own
// connections, without an actor in the way.

#include <doctest/doctest.h>

#include <set>

#include "actor_fixture.hpp"
#include "chat/room_members.hpp"

using chat::room_members;
using chat::cluster::member;
using chat::test::actor_fixture;

namespace {

using strings = std::vector<std::string>;
using namespace std::chrono_literals;

struct rooms_fixture : actor_fixture {
  room_members rooms;
  caf::actor c1 = dummy(), c2 = dummy(), c3 = dummy(); // this node's connections
  caf::actor r1 = dummy(), r2 = dummy();               // connections on other nodes
  room_members::clock::time_point t0 = room_members::clock::now();

  room_members::outcome join_local(const std::string& room, const member& m, bool* first = nullptr) {
    bool f = false;
    auto out = rooms.join_local(room, m, t0, f);
    if (first)
      *first = f;
    return out;
  }

  room_members::outcome leave_local(const std::string& room, const caf::actor& a, bool* last = nullptr) {
    bool l = false;
    auto out = rooms.leave_local(room, a, l);
    if (last)
      *last = l;
    return out;
  }
};

} // namespace

TEST_CASE_FIXTURE(rooms_fixture, "room_members: presence moves with a user's first and last connection, on any node") {
  auto j = join_local("lobby", {c1, "ann"});
  CHECK(j.moved);
  CHECK(j.presence);
  CHECK(j.user == "ann");
  // ann's second connection, here or elsewhere: no presence change
  CHECK_FALSE(join_local("lobby", {c2, "ann"}).presence);
  auto remote = rooms.join("lobby", {r1, "ann"});
  CHECK(remote.moved);
  CHECK_FALSE(remote.presence);
  CHECK(rooms.join("lobby", {r2, "bob"}).presence);
  CHECK(rooms.users("lobby") == strings{"ann", "bob"});
  CHECK(rooms.count("lobby") == 4);
  // the last of ann's three connections takes her presence with it
  CHECK_FALSE(leave_local("lobby", c1).presence);
  CHECK_FALSE(rooms.leave("lobby", r1).presence);
  auto last = leave_local("lobby", c2);
  CHECK(last.moved);
  CHECK(last.presence);
  CHECK(last.user == "ann");
  CHECK(rooms.users("lobby") == strings{"bob"});
}

TEST_CASE_FIXTURE(rooms_fixture, "room_members: a join is idempotent, and a leave of a non-member moves nothing") {
  CHECK(rooms.join("a", {r1, "rex"}).moved);
  auto again = rooms.join("a", {r1, "rex"});
  CHECK_FALSE(again.moved);
  CHECK_FALSE(again.presence);
  CHECK(rooms.count("a") == 1);
  CHECK_FALSE(rooms.leave("a", r2).moved);
  CHECK_FALSE(rooms.leave("nowhere", r1).moved);
  CHECK(rooms.leave("a", r1).presence);
  CHECK(rooms.empty("a"));
  CHECK(rooms.count("a") == 0);
  CHECK(rooms.users("a").empty());
}

TEST_CASE_FIXTURE(rooms_fixture, "room_members: a local connection is watched from its first room to its last") {
  bool first = false, last = false;
  join_local("a", {c1, "ann"}, &first);
  CHECK(first);
  join_local("b", {c1, "ann"}, &first);
  CHECK_FALSE(first);
  CHECK(rooms.rooms_of(c1) == strings{"a", "b"});
  // a room it does not hold: nothing moves, not even in the room's view
  rooms.join("c", {c1, "ann"});
  CHECK_FALSE(leave_local("c", c1, &last).moved);
  CHECK_FALSE(last);
  CHECK(rooms.count("c") == 1);
  leave_local("a", c1, &last);
  CHECK_FALSE(last);
  CHECK(leave_local("b", c1, &last).moved);
  CHECK(last);
  CHECK(rooms.rooms_of(c1).empty());
}

TEST_CASE_FIXTURE(rooms_fixture, "room_members: join times, for a message's recipients still on their way") {
  join_local("a", {c1, "ann"});
  CHECK(rooms.joined_within(c1, "a", t0 + 1s, 5s));
  CHECK_FALSE(rooms.joined_within(c1, "a", t0 + 5s, 5s));
  CHECK_FALSE(rooms.joined_within(c1, "b", t0, 5s));
  CHECK_FALSE(rooms.joined_within(r1, "a", t0, 5s));
  // a connection adopted from a restarted scope keeps its join time
  bool first = true;
  CHECK_FALSE(rooms.adopt_local("a", {c1, "ann"}, t0 + 10s, first).moved);
  CHECK_FALSE(first);
  CHECK_FALSE(rooms.joined_within(c1, "a", t0 + 11s, 5s));
  // and is watched from its first room on, like any other
  CHECK(rooms.adopt_local("b", {c2, "bob"}, t0 + 10s, first).moved);
  CHECK(first);
  CHECK(rooms.joined_within(c2, "b", t0 + 11s, 5s));
  // a join again restarts the clock
  rooms.join_local("a", {c1, "ann"}, t0 + 10s, first);
  CHECK(rooms.joined_within(c1, "a", t0 + 11s, 5s));
}

TEST_CASE_FIXTURE(rooms_fixture,
                  "room_members: a scope restart keeps this node's connections only, presence recounted") {
  join_local("a", {c1, "ann"});
  join_local("a", {c3, "cat"});
  join_local("b", {c2, "bob"});
  rooms.join("a", {r1, "ann"});
  rooms.join("a", {r2, "rex"});
  rooms.join("z", {r2, "rex"});
  auto mine = rooms.local_memberships();
  CHECK(mine.size() == 3);
  rooms.keep_local_only();
  CHECK(rooms.users("a") == strings{"ann", "cat"});
  CHECK(rooms.count("a") == 2);
  CHECK(rooms.empty("z"));
  CHECK(rooms.local_memberships().size() == 3);
  // ann counted once now: her local connection's leave is her presence leaving
  CHECK(leave_local("a", c1).presence);
}

TEST_CASE_FIXTURE(rooms_fixture, "room_members: a room's local members apart from the others, grouped by node") {
  join_local("lobby", {c1, "ann"});
  join_local("lobby", {c2, "bob"});
  rooms.join("lobby", {r1, "cat"});
  rooms.join("lobby", {r2, "dan"});
  auto actors = [](const std::vector<member>& v) {
    std::set<caf::actor> out;
    for (const auto& m : v)
      out.insert(m.actor);
    return out;
  };
  CHECK(actors(rooms.local("lobby")) == std::set<caf::actor>{c1, c2});
  // The fixture's "other nodes" share one system: one node, both members.
  REQUIRE(rooms.remote("lobby").size() == 1);
  CHECK(rooms.remote("lobby").begin()->first == r1.node());
  CHECK(actors(rooms.remote("lobby").begin()->second) == std::set<caf::actor>{r1, r2});
  // A leave takes a member from its own side only.
  CHECK_FALSE(rooms.leave("lobby", c1).moved);
  CHECK_FALSE(leave_local("lobby", r1).moved);
  CHECK(rooms.leave("lobby", r1).moved);
  CHECK(rooms.leave("lobby", r2).moved);
  CHECK(rooms.remote("lobby").empty());
  CHECK(actors(rooms.local("lobby")) == std::set<caf::actor>{c1, c2});
  CHECK(rooms.count("lobby") == 2);
  SUBCASE("a scope restart drops every remote member, keeps the local ones") {
    rooms.join("lobby", {r1, "cat"});
    rooms.keep_local_only();
    CHECK(rooms.remote("lobby").empty());
    CHECK(rooms.count("lobby") == 2);
  }
}
