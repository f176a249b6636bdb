// cluster/group_view and cluster/pg_state: the process-group bookkeeping.

#include <doctest/doctest.h>

#include <algorithm>
#include <tuple>

#include "actor_fixture.hpp"
#include "chat/messages.hpp"
#include "cluster/group_view.hpp"
#include "cluster/pg_state.hpp"

using namespace chat::cluster;
using chat::test::actor_fixture;

namespace {

/// A change as (group, user, joined), for order-free comparison.
using flat = std::tuple<std::string, std::string, bool>;

std::vector<flat> flatten(const changes& cs) {
  std::vector<flat> out;
  for (const auto& c : cs)
    out.emplace_back(c.group, c.who.user, c.joined);
  std::sort(out.begin(), out.end());
  return out;
}

/// The limits with the chat layer's group rule, as the node runs its scope.
pg_limits chat_groups() {
  pg_limits lim;
  lim.valid_group = chat::valid_group;
  return lim;
}

std::vector<std::string> users(const std::vector<member>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms)
    out.push_back(m.user);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> group_names(const group_map& g) {
  std::vector<std::string> out;
  for (const auto& [name, _] : g)
    out.push_back(name);
  return out;
}

using strings = std::vector<std::string>;

struct pg_fixture : actor_fixture {
  caf::actor a = dummy(), b = dummy(), c = dummy();    // local actors
  caf::actor p1 = dummy(), p2 = dummy();               // peer scopes
  caf::actor r1 = dummy(), r2 = dummy(), r3 = dummy(); // remote members
  member ann{a, "ann"}, bob{b, "bob"}, cat{c, "cat"};
  member rex{r1, "rex"}, ron{r2, "ron"}, rod{r3, "rod"};
  pg_state pg;

  changes join(const std::string& g, const member& m) {
    bool monitor = false;
    return pg.join_local(g, m, monitor);
  }
};

} // namespace

TEST_CASE_FIXTURE(actor_fixture, "group_view has set semantics per group") {
  auto x = dummy(), y = dummy();
  group_view v;
  CHECK(v.members("g").empty());
  CHECK(v.add("g", {x, "ann"}));
  CHECK_FALSE(v.add("g", {x, "ann"}));
  CHECK_FALSE(v.add("g", {x, "other name, same actor"}));
  CHECK(v.add("g", {y, "bob"}));
  CHECK(v.add("h", {x, "ann"}));
  CHECK(users(v.members("g")) == strings{"ann", "bob"});
  CHECK(v.contains("g", x));
  CHECK(v.contains("h", x));
  CHECK_FALSE(v.contains("h", y));
  CHECK_FALSE(v.contains("nope", x));

  CHECK(v.remove("g", x));
  CHECK_FALSE(v.remove("g", x));
  CHECK_FALSE(v.remove("nope", x));
  CHECK(users(v.members("g")) == strings{"bob"});
  SUBCASE("a group that becomes empty disappears") {
    CHECK(v.remove("g", y));
    CHECK(group_names(v.groups()) == strings{"h"});
    CHECK(v.members("g").empty());
  }
}

TEST_CASE_FIXTURE(pg_fixture, "pg_state: local join and leave") {
  bool monitor = false;
  auto cs = pg.join_local("g1", ann, monitor);
  CHECK(monitor); // first group: monitor the actor
  CHECK(flatten(cs) == std::vector<flat>{{"g1", "ann", true}});

  cs = pg.join_local("g2", ann, monitor);
  CHECK_FALSE(monitor); // already monitored
  CHECK(flatten(cs) == std::vector<flat>{{"g2", "ann", true}});

  SUBCASE("a duplicate join is idempotent") {
    monitor = true;
    cs = pg.join_local("g1", ann, monitor);
    CHECK_FALSE(monitor);
    CHECK(cs.empty());
    CHECK(pg.view().members("g1").size() == 1);
  }

  CHECK(users(pg.view().members("g1")) == strings{"ann"});
  auto groups = pg.groups_of(a);
  std::sort(groups.begin(), groups.end());
  CHECK(groups == strings{"g1", "g2"});

  bool demonitor = true;
  cs = pg.leave_local("g1", a, demonitor);
  CHECK_FALSE(demonitor); // still in g2
  CHECK(flatten(cs) == std::vector<flat>{{"g1", "ann", false}});
  CHECK(pg.view().members("g1").empty());

  SUBCASE("leaving a group one is not in changes nothing") {
    demonitor = true;
    CHECK(pg.leave_local("g1", a, demonitor).empty());
    CHECK_FALSE(demonitor);
    CHECK(pg.leave_local("g1", b, demonitor).empty());
    CHECK_FALSE(demonitor);
  }

  cs = pg.leave_local("g2", a, demonitor);
  CHECK(demonitor); // no group left
  CHECK(flatten(cs) == std::vector<flat>{{"g2", "ann", false}});
  CHECK(pg.groups_of(a).empty());
  CHECK(pg.local_groups().empty());
  CHECK(pg.view().groups().empty());

  SUBCASE("after leaving everything, the next join monitors again") {
    pg.join_local("g3", ann, monitor);
    CHECK(monitor);
  }
}

TEST_CASE_FIXTURE(pg_fixture, "pg_state: a local member going down leaves every group") {
  join("g1", ann);
  join("g2", ann);
  join("g1", bob);
  auto cs = pg.local_down(a);
  CHECK(flatten(cs) == std::vector<flat>{{"g1", "ann", false}, {"g2", "ann", false}});
  CHECK(users(pg.view().members("g1")) == strings{"bob"});
  CHECK(pg.view().members("g2").empty());
  CHECK(pg.groups_of(a).empty());
  CHECK(group_names(pg.local_groups()) == strings{"g1"});
  SUBCASE("a second down, or a down of a non-member, changes nothing") {
    CHECK(pg.local_down(a).empty());
    CHECK(pg.local_down(c).empty());
  }
  SUBCASE("a down does not touch peers' members") {
    pg.peer_sync(p1, {{"g1", {rex}}});
    CHECK(pg.local_down(b).size() == 1);
    CHECK(users(pg.view().members("g1")) == strings{"rex"});
  }
}

TEST_CASE_FIXTURE(pg_fixture, "pg_state: peer sync replaces everything known about the peer") {
  CHECK_FALSE(pg.known_peer(p1));
  auto cs = pg.peer_sync(p1, {{"g1", {rex, ron}}, {"g2", {rex}}});
  CHECK(pg.known_peer(p1));
  CHECK(pg.peers() == std::vector<caf::actor>{p1});
  CHECK(flatten(cs) == std::vector<flat>{{"g1", "rex", true}, {"g1", "ron", true}, {"g2", "rex", true}});

  SUBCASE("a second sync: missing members leave, new ones join, the rest stay silent") {
    cs = pg.peer_sync(p1, {{"g1", {rex, rod}}, {"g3", {ron}}});
    CHECK(flatten(cs)
          == std::vector<flat>{{"g1", "rod", true}, {"g1", "ron", false}, {"g2", "rex", false}, {"g3", "ron", true}});
    CHECK(users(pg.view().members("g1")) == strings{"rex", "rod"});
    CHECK(pg.view().members("g2").empty());
    CHECK(users(pg.view().members("g3")) == strings{"ron"});
  }
  SUBCASE("an identical sync changes nothing") { CHECK(pg.peer_sync(p1, {{"g1", {ron, rex}}, {"g2", {rex}}}).empty()); }
  SUBCASE("an empty sync removes all of the peer's members but keeps the peer") {
    cs = pg.peer_sync(p1, {});
    CHECK(flatten(cs) == std::vector<flat>{{"g1", "rex", false}, {"g1", "ron", false}, {"g2", "rex", false}});
    CHECK(pg.known_peer(p1));
    CHECK(pg.view().groups().empty());
  }
  SUBCASE("a sync never touches local members or other peers") {
    join("g1", ann);
    pg.peer_sync(p2, {{"g1", {rod}}});
    cs = pg.peer_sync(p1, {});
    CHECK(users(pg.view().members("g1")) == strings{"ann", "rod"});
    CHECK(flatten(cs).size() == 3);
  }
}

TEST_CASE_FIXTURE(pg_fixture, "pg_state: peer join and leave") {
  SUBCASE("from an unknown peer they are ignored") {
    CHECK(pg.peer_join(p1, "g1", {rex}).empty());
    CHECK(pg.peer_leave(p1, "g1", {r1}).empty());
    CHECK(pg.view().groups().empty());
    CHECK_FALSE(pg.known_peer(p1));
  }
  SUBCASE("from a known peer they update the view") {
    pg.peer_sync(p1, {});
    CHECK(flatten(pg.peer_join(p1, "g1", {rex, ron})) == std::vector<flat>{{"g1", "rex", true}, {"g1", "ron", true}});
    CHECK(pg.peer_join(p1, "g1", {rex}).empty()); // already there
    CHECK(users(pg.view().members("g1")) == strings{"rex", "ron"});
    CHECK(flatten(pg.peer_leave(p1, "g1", {r1})) == std::vector<flat>{{"g1", "rex", false}});
    CHECK(pg.peer_leave(p1, "g1", {r1}).empty()); // already gone
    CHECK(pg.peer_leave(p1, "g2", {r2}).empty()); // not in that group
    CHECK(users(pg.view().members("g1")) == strings{"ron"});
  }
  SUBCASE("a peer cannot remove another peer's member") {
    pg.peer_sync(p1, {{"g1", {rex}}});
    pg.peer_sync(p2, {});
    CHECK(pg.peer_leave(p2, "g1", {r1}).empty());
    CHECK(users(pg.view().members("g1")) == strings{"rex"});
  }
  SUBCASE("a peer cannot remove a local member") {
    join("g1", ann);
    pg.peer_sync(p1, {});
    CHECK(pg.peer_leave(p1, "g1", {a}).empty());
    CHECK(users(pg.view().members("g1")) == strings{"ann"});
  }
}

TEST_CASE_FIXTURE(pg_fixture, "pg_state: a peer going down takes all its members") {
  join("g1", ann);
  pg.peer_sync(p1, {{"g1", {rex}}, {"g2", {rex, ron}}});
  pg.peer_sync(p2, {{"g1", {rod}}});
  auto cs = pg.peer_down(p1);
  CHECK(flatten(cs) == std::vector<flat>{{"g1", "rex", false}, {"g2", "rex", false}, {"g2", "ron", false}});
  CHECK_FALSE(pg.known_peer(p1));
  CHECK(pg.peers() == std::vector<caf::actor>{p2});
  CHECK(users(pg.view().members("g1")) == strings{"ann", "rod"});
  CHECK(pg.view().members("g2").empty());
  SUBCASE("a second down changes nothing") { CHECK(pg.peer_down(p1).empty()); }
  SUBCASE("after the down, its joins are ignored until it syncs again") {
    CHECK(pg.peer_join(p1, "g1", {rex}).empty());
  }
  SUBCASE("a resync after reconnecting restores its members") {
    cs = pg.peer_sync(p1, {{"g2", {ron}}});
    CHECK(flatten(cs) == std::vector<flat>{{"g2", "ron", true}});
    CHECK(pg.known_peer(p1));
    CHECK(users(pg.view().members("g2")) == strings{"ron"});
  }
}

TEST_CASE_FIXTURE(pg_fixture, "pg_state: local_groups holds only local members, view() holds all") {
  join("g1", ann);
  join("g1", bob);
  join("g2", cat);
  pg.peer_sync(p1, {{"g1", {rex}}, {"g3", {ron}}});
  pg.peer_sync(p2, {{"g2", {rod}}});

  auto local = pg.local_groups();
  CHECK(group_names(local) == strings{"g1", "g2"});
  CHECK(users(local["g1"]) == strings{"ann", "bob"});
  CHECK(users(local["g2"]) == strings{"cat"});

  CHECK(group_names(pg.view().groups()) == strings{"g1", "g2", "g3"});
  CHECK(users(pg.view().members("g1")) == strings{"ann", "bob", "rex"});
  CHECK(users(pg.view().members("g2")) == strings{"cat", "rod"});
  CHECK(users(pg.view().members("g3")) == strings{"ron"});
  CHECK(pg.view().contains("g1", r1));
  CHECK_FALSE(pg.view().contains("g1", r2));
}

TEST_CASE_FIXTURE(pg_fixture, "pg_state: the user travels with the member in every change") {
  bool monitor = false;
  auto cs = pg.join_local("room:lobby", member{a, "ann"}, monitor);
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].who.actor == a);
  CHECK(cs[0].who.user == "ann");
  CHECK(cs[0].joined);
  cs = pg.local_down(a);
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].who.actor == a);
  CHECK(cs[0].who.user == "ann");
  CHECK_FALSE(cs[0].joined);
}

TEST_CASE_FIXTURE(pg_fixture, "pg_state: a stale scope going down keeps members a newer scope still reports") {
  pg.peer_sync(p1, {{"g", {rex}}});           // the old scope of the remote node
  auto cs = pg.peer_sync(p2, {{"g", {rex}}}); // its restarted scope
  CHECK(cs.empty());
  cs = pg.peer_down(p1);
  CHECK(cs.empty());
  CHECK(pg.view().contains("g", r1));
}

// -- checks on peer messages --------------------------------------------------

namespace {

caf::node_id other_node() {
  auto nid = caf::make_node_id(4242, "0123456789ABCDEF0123456789ABCDEF01234567");
  REQUIRE(nid);
  return *nid;
}

} // namespace

TEST_CASE("printable_group: the scope's own rule when its user gives none") {
  CHECK(printable_group("room:lobby"));
  CHECK(printable_group("x"));
  CHECK_FALSE(printable_group(""));
  CHECK_FALSE(printable_group("with space"));
  CHECK_FALSE(printable_group(std::string("a\0b", 3)));
  CHECK_FALSE(printable_group("caf\xc3\xa9"));
  CHECK_FALSE(check_peer_join(caf::node_id{}, "anything", {}));
  CHECK(check_peer_join(caf::node_id{}, "bad group", {}));
}

TEST_CASE("chat::valid_group, the rule the chat layer gives the scope: chat_servers and room:NAME") {
  using chat::valid_group;
  CHECK(valid_group("chat_servers"));
  CHECK(valid_group("profile_stores"));
  CHECK(valid_group("room:lobby"));
  CHECK(valid_group("room:a.b-c_d:e"));
  CHECK(valid_group("room:" + std::string(64, 'x')));
  CHECK_FALSE(valid_group("room:" + std::string(65, 'x')));
  CHECK_FALSE(valid_group("room:"));
  CHECK_FALSE(valid_group("room:with space"));
  CHECK_FALSE(valid_group("lobby"));
  CHECK_FALSE(valid_group("chat_servers2"));
  CHECK_FALSE(valid_group(""));
  CHECK_FALSE(valid_group(std::string("room:a\0b", 8)));
  // Who listens for a user's inbox is node-local: no peer names such a group.
  CHECK_FALSE(valid_group("inbox:alice"));
}

TEST_CASE_FIXTURE(pg_fixture, "check_peer_sync: a peer speaks only for valid members of its own node") {
  auto self_node = sys.node(); // the dummies live here: the sender's node in these cases
  CHECK_FALSE(check_peer_sync(self_node, {}));
  CHECK_FALSE(check_peer_sync(self_node, {{"room:a", {rex, ron}}, {"chat_servers", {rod}}}));
  SUBCASE("members on another node than the sender's") {
    auto err = check_peer_sync(other_node(), {{"room:a", {rex}}});
    REQUIRE(err);
    CHECK(err->find("another node") != std::string::npos);
  }
  SUBCASE("bad group or user names") {
    CHECK(check_peer_sync(self_node, {{"a", {rex}}}, chat_groups()));
    CHECK(check_peer_sync(self_node, {{"room:a", {member{r1, "no spaces"}}}}));
    CHECK(check_peer_sync(self_node, {{"room:a", {member{r1, std::string(33, 'u')}}}}));
    CHECK(check_peer_sync(self_node, {{"room:a", {member{caf::actor{}, "rex"}}}}));
  }
  SUBCASE("bounds") {
    pg_limits lim;
    lim.max_groups = 2;
    lim.max_members = 3;
    CHECK_FALSE(check_peer_sync(self_node, {{"room:a", {rex}}, {"room:b", {ron, rod}}}, lim));
    CHECK(check_peer_sync(self_node, {{"room:a", {rex}}, {"room:b", {ron}}, {"room:c", {rod}}}, lim));
    CHECK(check_peer_sync(self_node, {{"room:a", {rex, ron}}, {"room:b", {ron, rod}}}, lim));
  }
}

TEST_CASE_FIXTURE(pg_fixture, "check_peer_join and check_peer_leave") {
  auto self_node = sys.node();
  CHECK_FALSE(check_peer_join(self_node, "room:a", {rex}));
  CHECK(check_peer_join(other_node(), "room:a", {rex}));
  CHECK(check_peer_join(self_node, "a", {rex}, chat_groups()));
  CHECK_FALSE(check_peer_join(self_node, "a", {rex}));
  CHECK(check_peer_join(self_node, "room:a", {member{r1, ""}}));
  pg_limits lim;
  lim.max_members = 1;
  CHECK(check_peer_join(self_node, "room:a", {rex, ron}, lim));
  CHECK_FALSE(check_peer_leave(self_node, "room:a", {r1, r2}));
  CHECK(check_peer_leave(other_node(), "room:a", {r1}));
  CHECK(check_peer_leave(self_node, "room:a", {caf::actor{}}));
  CHECK(check_peer_leave(self_node, "bad group", {r1}));
  CHECK(check_peer_leave(self_node, "room:a", {r1, r2}, lim));
}
