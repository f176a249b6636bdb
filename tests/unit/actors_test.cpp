// Actors on a real actor system: the supervisor (app/supervisor) and the
// process-group scope (cluster/pg_scope).

#include <doctest/doctest.h>

#include <optional>

#include <atomic>

#include "actor_fixture.hpp"
#include "app/supervisor.hpp"
#include "base/node_stats.hpp"
#include "cluster/pg_scope.hpp"

using namespace std::chrono_literals;
using chat::cluster::change;
using chat::cluster::changes;
using chat::cluster::group_map;
using chat::cluster::member;
using chat::test::actor_fixture;
using chat::test::eventually;

namespace {

const auto timeout = 3s;

// -- supervisor ---------------------------------------------------------------

/// A child that answers get with 42 and throws on crash. The exception
/// handler only keeps CAF from printing the exception; the child still ends
/// with an error, as with the default handler.
caf::behavior crashy(caf::event_based_actor* self) {
  self->set_exception_handler(
    [](caf::scheduled_actor*, std::exception_ptr&) -> caf::error { return caf::sec::runtime_error; });
  return {
    [](caf::get_atom) { return 42; },
    [](chat::crash_atom) -> caf::result<void> { throw std::runtime_error("crash requested by the test"); },
  };
}

const caf::atom_value child_a = caf::atom("child_a");
const caf::atom_value child_b = caf::atom("child_b");

struct supervisor_fixture : actor_fixture {
  std::shared_ptr<chat::node_stats> stats = std::make_shared<chat::node_stats>();
  std::shared_ptr<std::atomic<int>> starts_a = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> starts_b = std::make_shared<std::atomic<int>>(0);
  caf::actor sup;

  std::vector<chat::child_spec> specs(caf::atom_value name_a = child_a) {
    auto sa = starts_a;
    auto sb = starts_b;
    return {
      {name_a,
       [sa](caf::local_actor* self) {
         ++*sa;
         return self->spawn(crashy);
       }},
      {child_b,
       [sb](caf::local_actor* self) {
         ++*sb;
         return self->spawn(crashy);
       }},
    };
  }

  void start(chat::restart_intensity ri, caf::atom_value name_a = child_a) {
    sup = sys.spawn(chat::supervisor, specs(name_a), ri, stats);
    REQUIRE(eventually([&] { return lookup(name_a) && lookup(child_b); }));
  }

  caf::actor lookup(caf::atom_value name) { return chat::lookup(sys, name); }

  /// Waits until `name` is registered under a handle other than `old`.
  caf::actor replaced(caf::atom_value name, const caf::actor& old) {
    caf::actor now;
    bool ok = eventually([&] {
      now = lookup(name);
      return now && now != old;
    });
    CHECK_MESSAGE(ok, "child " << to_string(name) << " was not restarted");
    return now;
  }

  ~supervisor_fixture() {
    if (sup)
      caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    // Should the supervisor fail to stop its children, kill them anyway so
    // that a failing test does not hang the actor system's shutdown.
    for (auto name : {child_a, child_b, chat::registry_name::chat_server}) {
      if (auto child = lookup(name)) {
        if (eventually([&] { return !lookup(name); }, std::chrono::milliseconds(500)))
          continue;
        caf::anon_send_exit(child, caf::exit_reason::kill);
        sys.registry().erase(name);
      }
    }
  }
};

int ask(caf::scoped_actor& self, const caf::actor& a) {
  int answer = -1;
  self->request(a, timeout, caf::get_atom::value)
    .receive([&](int x) { answer = x; }, [&](const caf::error& e) { FAIL_CHECK("request failed: " << to_string(e)); });
  return answer;
}

/// The next down message, or a default one after the timeout.
caf::down_msg next_down(caf::scoped_actor& self) {
  caf::down_msg out;
  bool got = false;
  self->receive(
    [&](caf::down_msg& dm) {
      out = dm;
      got = true;
    },
    caf::after(timeout) >> [] {});
  CHECK_MESSAGE(got, "no down message");
  return out;
}

} // namespace

TEST_CASE_FIXTURE(supervisor_fixture, "supervisor starts and registers every child") {
  start({5, 10s});
  caf::scoped_actor self{sys};
  CHECK(ask(self, lookup(child_a)) == 42);
  CHECK(ask(self, lookup(child_b)) == 42);
  CHECK(*starts_a == 1);
  CHECK(*starts_b == 1);
  CHECK(stats->restarts == 0);
}

TEST_CASE_FIXTURE(supervisor_fixture, "supervisor restarts a child that throws, under the same name") {
  start({5, 10s});
  caf::scoped_actor self{sys};
  auto old_a = lookup(child_a);
  auto old_b = lookup(child_b);
  self->monitor(old_a);
  caf::anon_send(old_a, chat::crash_atom::value);
  auto dm = next_down(self);
  CHECK(dm.source == old_a.address());
  CHECK(dm.reason); // an error, not a normal exit
  auto new_a = replaced(child_a, old_a);
  CHECK(ask(self, new_a) == 42);
  CHECK(eventually([&] { return stats->restarts == 1; }));
  CHECK(*starts_a == 2);
  SUBCASE("one for one: the sibling is left alone") {
    CHECK(lookup(child_b) == old_b);
    CHECK(*starts_b == 1);
    CHECK(ask(self, old_b) == 42);
  }
  SUBCASE("only the chat server's restarts count as chat restarts") { CHECK(stats->chat_restarts == 0); }
}

TEST_CASE_FIXTURE(supervisor_fixture, "supervisor restarts a killed child") {
  start({5, 10s});
  caf::scoped_actor self{sys};
  auto first = lookup(child_a);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  auto second = replaced(child_a, first);
  CHECK(eventually([&] { return stats->restarts == 1; }));
  caf::anon_send_exit(second, caf::exit_reason::kill);
  auto third = replaced(child_a, second);
  CHECK(third != first);
  CHECK(eventually([&] { return stats->restarts == 2; }));
  CHECK(*starts_a == 3);
  CHECK(ask(self, third) == 42);
}

TEST_CASE_FIXTURE(supervisor_fixture, "supervisor counts chat server restarts apart") {
  start({5, 10s}, chat::registry_name::chat_server);
  auto old = lookup(chat::registry_name::chat_server);
  caf::anon_send_exit(old, caf::exit_reason::kill);
  replaced(chat::registry_name::chat_server, old);
  CHECK(eventually([&] { return stats->restarts == 1 && stats->chat_restarts == 1; }));
}

TEST_CASE_FIXTURE(supervisor_fixture, "supervisor gives up past the restart intensity") {
  start({2, 10s});
  caf::scoped_actor self{sys};
  self->monitor(sup);
  auto a = lookup(child_a);
  for (int i = 0; i < 2; ++i) {
    caf::anon_send(a, chat::crash_atom::value);
    a = replaced(child_a, a);
  }
  CHECK(eventually([&] { return stats->restarts == 2; }));
  auto b = lookup(child_b);
  self->monitor(b);
  // The third failure within 10 s is one too many.
  caf::anon_send(a, chat::crash_atom::value);
  bool sup_down = false;
  bool b_down = false;
  for (int i = 0; i < 2; ++i) {
    auto dm = next_down(self);
    if (dm.source == sup.address()) {
      sup_down = true;
      CHECK(dm.reason == caf::sec::runtime_error);
    } else if (dm.source == b.address()) {
      b_down = true;
      CHECK(dm.reason == caf::exit_reason::user_shutdown);
    }
  }
  CHECK(sup_down);
  CHECK(b_down); // the surviving children are stopped
  CHECK(stats->restarts == 2);
  CHECK(*starts_a == 3);
  CHECK_FALSE(lookup(child_a));
  CHECK_FALSE(lookup(child_b));
}

TEST_CASE_FIXTURE(supervisor_fixture, "supervisor stops its children when told to exit") {
  start({5, 10s});
  caf::scoped_actor self{sys};
  auto a = lookup(child_a);
  auto b = lookup(child_b);
  self->monitor(a);
  self->monitor(b);
  self->monitor(sup);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  std::map<caf::actor_addr, caf::error> downs;
  for (int i = 0; i < 3; ++i) {
    auto dm = next_down(self);
    downs[dm.source] = dm.reason;
  }
  REQUIRE(downs.size() == 3);
  CHECK(downs[a.address()] == caf::exit_reason::user_shutdown);
  CHECK(downs[b.address()] == caf::exit_reason::user_shutdown);
  CHECK(downs[sup.address()] == caf::exit_reason::user_shutdown);
  CHECK_FALSE(lookup(child_a));
  CHECK_FALSE(lookup(child_b));
  CHECK(*starts_a == 1); // nothing was restarted
  CHECK(*starts_b == 1);
  CHECK(stats->restarts == 0);
}

// -- pg_scope -----------------------------------------------------------------

namespace {

struct scope_fixture : actor_fixture {
  caf::actor spawn_scope() {
    chat::cluster::pg_limits lim;
    lim.valid_group = chat::valid_group;
    return keep(sys.spawn(chat::cluster::pg_scope, lim));
  }
};

/// Registers `self` as a watcher of `scope` and returns the view it had.
group_map watch(caf::scoped_actor& self, const caf::actor& scope) {
  group_map view;
  self->request(scope, timeout, chat::pg_watch_atom::value, caf::actor_cast<caf::actor>(self))
    .receive([&](const group_map& g, const std::vector<caf::node_id>&) { view = g; },
             [&](const caf::error& e) { FAIL_CHECK("pg_watch failed: " << to_string(e)); });
  return view;
}

/// The next (pg_changes, changes) sent to `self`; empty after the timeout.
changes next_changes(caf::scoped_actor& self) {
  changes out;
  bool got = false;
  self->receive(
    [&](chat::pg_changes_atom, const changes& cs) {
      out = cs;
      got = true;
    },
    caf::after(timeout) >> [] {});
  CHECK_MESSAGE(got, "no pg_changes");
  return out;
}

/// True when no pg_changes arrives within `wait`.
bool quiet_for(caf::scoped_actor& self, std::chrono::milliseconds wait) {
  bool got = false;
  self->receive([&](chat::pg_changes_atom, const changes&) { got = true; }, caf::after(wait) >> [] {});
  return !got;
}

bool is(const changes& cs, const std::string& group, const std::string& user, bool joined) {
  return cs.size() == 1 && cs[0].group == group && cs[0].who.user == user && cs[0].joined == joined;
}

std::vector<std::string> users_in(const group_map& g, const std::string& group) {
  std::vector<std::string> out;
  if (auto it = g.find(group); it != g.end())
    for (const auto& m : it->second)
      out.push_back(m.user);
  std::sort(out.begin(), out.end());
  return out;
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE_FIXTURE(scope_fixture, "pg_scope: local join, leave and watcher notifications") {
  auto scope = spawn_scope();
  auto ann = dummy(), bob = dummy();
  caf::scoped_actor self{sys};
  CHECK(watch(self, scope).empty());

  self->send(scope, chat::pg_join_atom::value, std::string("room:a"), member{ann, "ann"});
  auto cs = next_changes(self);
  CHECK(is(cs, "room:a", "ann", true));
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].who.actor == ann);

  SUBCASE("a duplicate join notifies nothing") {
    self->send(scope, chat::pg_join_atom::value, std::string("room:a"), member{ann, "ann"});
    CHECK(quiet_for(self, 100ms));
  }
  SUBCASE("a leave of a non-member notifies nothing") {
    self->send(scope, chat::pg_leave_atom::value, std::string("room:a"), bob);
    self->send(scope, chat::pg_leave_atom::value, std::string("room:b"), ann);
    self->send(scope, chat::pg_join_atom::value, std::string("room:b"), member{bob, "bob"});
    CHECK(is(next_changes(self), "room:b", "bob", true)); // the first notification is the join
  }
  SUBCASE("a leave notifies the leave") {
    self->send(scope, chat::pg_leave_atom::value, std::string("room:a"), ann);
    CHECK(is(next_changes(self), "room:a", "ann", false));
    caf::scoped_actor late{sys};
    CHECK(watch(late, scope).empty());
  }
  SUBCASE("a late watcher gets the current view") {
    self->send(scope, chat::pg_join_atom::value, std::string("room:a"), member{bob, "bob"});
    CHECK(is(next_changes(self), "room:a", "bob", true));
    caf::scoped_actor late{sys};
    auto view = watch(late, scope);
    CHECK(users_in(view, "room:a") == strings{"ann", "bob"});
  }
}

TEST_CASE_FIXTURE(scope_fixture, "pg_scope: a member that exits leaves every group") {
  auto scope = spawn_scope();
  auto ann = dummy(), bob = dummy();
  caf::scoped_actor self{sys};
  watch(self, scope);
  self->send(scope, chat::pg_join_atom::value, std::string("g1"), member{ann, "ann"});
  self->send(scope, chat::pg_join_atom::value, std::string("g2"), member{ann, "ann"});
  self->send(scope, chat::pg_join_atom::value, std::string("g1"), member{bob, "bob"});
  for (int i = 0; i < 3; ++i)
    CHECK(next_changes(self).size() == 1);

  caf::anon_send_exit(ann, caf::exit_reason::kill);
  auto cs = next_changes(self);
  REQUIRE(cs.size() == 2);
  std::vector<std::pair<std::string, bool>> got;
  for (const auto& c : cs) {
    CHECK(c.who.user == "ann");
    got.emplace_back(c.group, c.joined);
  }
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::pair<std::string, bool>>{{"g1", false}, {"g2", false}});

  caf::scoped_actor late{sys};
  auto view = watch(late, scope);
  CHECK(users_in(view, "g1") == strings{"bob"});
  CHECK(view.count("g2") == 0);
}

TEST_CASE_FIXTURE(scope_fixture, "pg_scope: pg_peer ignores the scope itself") {
  auto b = spawn_scope();
  auto ann = dummy();
  caf::scoped_actor self{sys};
  watch(self, b);
  self->send(b, chat::pg_peer_atom::value, b);
  self->send(b, chat::pg_join_atom::value, std::string("room:g"), member{ann, "ann"});
  CHECK(is(next_changes(self), "room:g", "ann", true));
  CHECK(quiet_for(self, 200ms)); // no echo of its own sync
}

TEST_CASE_FIXTURE(scope_fixture, "pg_scope: two peered scopes share their members") {
  auto a = spawn_scope(), b = spawn_scope();
  auto ann = dummy(), bob = dummy(), cat = dummy();
  caf::scoped_actor wa{sys}, wb{sys};
  watch(wa, a);
  CHECK(watch(wb, b).empty());

  wa->send(a, chat::pg_join_atom::value, std::string("room:g"), member{ann, "ann"});
  CHECK(is(next_changes(wa), "room:g", "ann", true));

  // Discovery hands b to a: a discovers b, both sync, both register the other.
  wa->send(a, chat::pg_peer_atom::value, b);
  bool up = false;
  wb->receive([&](chat::node_up_atom, const caf::node_id& n) { up = n == a.node(); }, caf::after(timeout) >> [] {});
  CHECK(up);
  CHECK(is(next_changes(wb), "room:g", "ann", true)); // from a's sync

  SUBCASE("joins and leaves on one scope reach the other") {
    wa->send(a, chat::pg_join_atom::value, std::string("room:g"), member{bob, "bob"});
    CHECK(is(next_changes(wb), "room:g", "bob", true));
    wa->send(a, chat::pg_leave_atom::value, std::string("room:g"), bob);
    CHECK(is(next_changes(wb), "room:g", "bob", false));
  }
  SUBCASE("and the other way round") {
    wb->send(b, chat::pg_join_atom::value, std::string("room:h"), member{cat, "cat"});
    CHECK(is(next_changes(wb), "room:h", "cat", true));
    // a's watcher saw b come up, then gets b's member.
    CHECK(is(next_changes(wa), "room:h", "cat", true));
    caf::scoped_actor reader{sys};
    auto view = watch(reader, a);
    CHECK(users_in(view, "room:g") == strings{"ann"});
    CHECK(users_in(view, "room:h") == strings{"cat"});
  }
  SUBCASE("a member that exits on one scope leaves on the other") {
    caf::anon_send_exit(ann, caf::exit_reason::kill);
    CHECK(is(next_changes(wb), "room:g", "ann", false));
  }
  SUBCASE("a scope that goes down takes its members from the other's view") {
    wa->send(a, chat::pg_join_atom::value, std::string("room:g2"), member{bob, "bob"});
    CHECK(is(next_changes(wb), "room:g2", "bob", true));
    caf::anon_send_exit(a, caf::exit_reason::kill);
    auto cs = next_changes(wb);
    std::vector<std::string> gone;
    for (const auto& c : cs) {
      CHECK_FALSE(c.joined);
      gone.push_back(c.group + "/" + c.who.user);
    }
    std::sort(gone.begin(), gone.end());
    CHECK(gone == strings{"room:g/ann", "room:g2/bob"});
    bool down = false;
    wb->receive([&](chat::node_down_atom, const caf::node_id&) { down = true; }, caf::after(timeout) >> [] {});
    CHECK(down);
    caf::scoped_actor reader{sys};
    CHECK(watch(reader, b).empty());
  }
}

TEST_CASE_FIXTURE(scope_fixture, "pg_scope: the peer protocol by hand") {
  auto scope = spawn_scope();
  auto rex = dummy(), ron = dummy();
  caf::scoped_actor self{sys};
  std::optional<caf::scoped_actor> peer_box{std::in_place, sys}; // stands in for a remote scope
  auto& peer = *peer_box;
  auto peer_h = caf::actor_cast<caf::actor>(peer);
  watch(self, scope);

  SUBCASE("joins from an unknown peer are dropped") {
    peer->send(scope, chat::pg_rjoin_atom::value, peer_h, std::string("room:g"), std::vector<member>{{rex, "rex"}});
    CHECK(quiet_for(self, 100ms));
    caf::scoped_actor reader{sys};
    CHECK(watch(reader, scope).empty());
  }
  SUBCASE("a sync from a peer that neither discovered us nor was discovered is dropped") {
    peer->send(scope, chat::pg_sync_atom::value, peer_h, group_map{{"room:g", {{rex, "rex"}}}});
    CHECK(quiet_for(self, 100ms));
  }
  SUBCASE("a discover registers the peer; a sync replaces what it had") {
    peer->send(scope, chat::pg_discover_atom::value, peer_h);
    peer->send(scope, chat::pg_sync_atom::value, peer_h, group_map{{"room:g", {{rex, "rex"}}}});
    CHECK(is(next_changes(self), "room:g", "rex", true));
    peer->send(scope, chat::pg_sync_atom::value, peer_h, group_map{{"room:g", {{ron, "ron"}}}});
    auto cs = next_changes(self);
    REQUIRE(cs.size() == 2);
    std::vector<std::string> got;
    for (const auto& c : cs)
      got.push_back(c.who.user + (c.joined ? "+" : "-"));
    std::sort(got.begin(), got.end());
    CHECK(got == strings{"rex-", "ron+"});
    SUBCASE("then its joins count") {
      peer->send(scope, chat::pg_rjoin_atom::value, peer_h, std::string("room:h"), std::vector<member>{{rex, "rex"}});
      CHECK(is(next_changes(self), "room:h", "rex", true));
    }
    SUBCASE("but not joins to an invalid group or of an invalid user") {
      peer->send(scope, chat::pg_rjoin_atom::value, peer_h, std::string("lobby"), std::vector<member>{{rex, "rex"}});
      peer->send(scope, chat::pg_rjoin_atom::value, peer_h, std::string("room:h"), std::vector<member>{{rex, "r x"}});
      peer->send(scope, chat::pg_rjoin_atom::value, peer_h, std::string("room:bad name"),
                 std::vector<member>{{rex, "rex"}});
      CHECK(quiet_for(self, 100ms));
    }
    SUBCASE("nor messages that name it but come from someone else") {
      caf::scoped_actor rogue{sys};
      rogue->send(scope, chat::pg_rjoin_atom::value, peer_h, std::string("room:h"), std::vector<member>{{rex, "rex"}});
      rogue->send(scope, chat::pg_sync_atom::value, peer_h, group_map{});
      rogue->send(scope, chat::pg_rleave_atom::value, peer_h, std::string("room:g"), std::vector<caf::actor>{ron});
      caf::anon_send(scope, chat::pg_rleave_atom::value, peer_h, std::string("room:g"), std::vector<caf::actor>{ron});
      CHECK(quiet_for(self, 100ms));
    }
    SUBCASE("nor a forged down message naming it") {
      caf::anon_send(scope, caf::down_msg{peer_h.address(), caf::exit_reason::kill});
      caf::scoped_actor rogue{sys};
      rogue->send(scope, caf::down_msg{peer_h.address(), caf::exit_reason::kill});
      CHECK(quiet_for(self, 100ms));
      caf::scoped_actor reader{sys};
      CHECK(users_in(watch(reader, scope), "room:g") == strings{"ron"});
    }
    SUBCASE("and it going down removes its members") {
      peer_box.reset();
      CHECK(is(next_changes(self), "room:g", "ron", false));
    }
  }
}

TEST_CASE_FIXTURE(scope_fixture, "pg_scope: the local API serves actors of this node only") {
  auto scope = spawn_scope();
  auto ann = dummy();
  caf::scoped_actor self{sys};
  watch(self, scope);
  // An anonymous message is what a peer gets with anon_send: refused.
  caf::anon_send(scope, chat::pg_join_atom::value, std::string("room:g"), member{ann, "ann"});
  CHECK(quiet_for(self, 100ms));
  self->send(scope, chat::pg_join_atom::value, std::string("room:g"), member{ann, "ann"});
  CHECK(is(next_changes(self), "room:g", "ann", true));
}
