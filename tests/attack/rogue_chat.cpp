// A rogue peer for the regression tests of the chat server's own checks: it
// joins a PLAINTEXT node over CAF's distribution layer the way any process
// that reaches the cluster port could, then sends the messages an attacker
// sent to the build that trusted its peers. Each attack is sent in the
// message shape the old build accepted and, where there is one, in today's
// shape, so a test built on it fails against either build if it is let in.
//
// With mutual TLS on the cluster port (docs/security.md) none of this can
// even connect; these checks are the second line.
//
// usage: rogue_chat HOST PORT ROOM
// Prints one line per step; exits 0 when every message was sent.
//
// usage: rogue_chat HOST PORT ROOM --only CHECK
// One message that breaks exactly one of the chat server's checks on what
// peers send and passes all the others, so that a test built on it fails
// when that one check goes (the full run above breaks several at once):
//   future-ts     a replicate whose id carries its ts, a ts in 2100
//   bad-id        a replicate valid but for an id that does not start with
//                 its ts
//   bad-user      a replicate valid but for its user name
//   bad-room      a replicate valid but for its room name
//   unknown-peer  a valid replicate from a node that never joined the
//                 group protocol (it finds the chat server by its
//                 registered name): only "known peers only" stops it
//   crash-conn    the fault hook's crash atom (bare, as a peer can send it)
//                 to a connection actor of ROOM
// Each replicate goes once alone and once as a batch of one (two refusals
// when refused). Prints "handled" once the chat server answered a request
// sent after them: by then it has handled them.
//
// usage: rogue_chat HOST PORT ROOM --silent SECONDS
// A peer that joins as a chat server, reads everything the node sends it and
// answers nothing (its CAF layer still answers heartbeats, so the connection
// stays up). Exits 0 with "dropped after N ms batches=B" when the node cuts
// it off, 3 if it is still connected after SECONDS.

#include <cstdlib>
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "chat/clock.hpp"
#include "chat/messages.hpp"
#include "rogue_setup.hpp"

using namespace chat;

namespace {

constexpr auto wait = std::chrono::seconds(5);
/// A timestamp in the year 2100: one such message used to drag every later
/// ack into that year.
constexpr std::int64_t year_2100_us = 4102444800LL * 1000000;

/// A message every check of a peer's replicate passes, from a node that is
/// a known peer: a valid room and user, text, and an id that starts with its
/// ts the way the node's own ids do (id_generator).
message valid_message(const std::string& room, std::int64_t ts, const std::string& text) {
  message m{room, "", "mallory", text, "", ts};
  m.id = id_generator{"rogue", 0x5eed}.next(ts);
  return m;
}

/// Sends `m` alone and as a batch of one, today's two replicate shapes.
void replicate_both_ways(caf::scoped_actor& self, const caf::actor& chat_server, const message& m,
                         const std::vector<caf::actor>& recipients) {
  self->send(chat_server, replicate_atom::value, m, recipients);
  self->send(chat_server, replicate_batch_atom::value, std::uint64_t{1}, std::vector<replicate_item>{{m, recipients}});
}

/// Messages from one sender arrive in order: once the chat server answers
/// this, it has handled everything we sent it before.
bool handled(caf::scoped_actor& self, const caf::actor& chat_server) {
  bool ok = false;
  self->request(chat_server, wait, health_atom::value).receive([&](health_atom) { ok = true; }, [](caf::error&) {});
  return ok;
}

caf::actor member_of(const cluster::group_map& groups, const std::string& group, std::size_t i = 0) {
  auto it = groups.find(group);
  if (it == groups.end() || it->second.size() <= i)
    return nullptr;
  return it->second[i].actor;
}

/// Reads and answers nothing until the node drops the connection.
int stay_silent(caf::scoped_actor& self, const caf::actor& scope, int seconds) {
  auto start = std::chrono::steady_clock::now();
  self->monitor(scope);
  std::size_t batches = 0;
  bool dropped = false;
  bool done = false;
  self->receive_while([&] { return !done; })(
    [&](caf::down_msg&) { dropped = done = true; },
    [&](replicate_batch_atom, std::uint64_t, const std::vector<replicate_item>&) { ++batches; }, [&](caf::message&) {},
    caf::after(std::chrono::seconds(seconds)) >> [&] { done = true; });
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  if (!dropped) {
    std::cout << "still connected after " << ms << " ms batches=" << batches << std::endl;
    return 3;
  }
  std::cout << "dropped after " << ms << " ms batches=" << batches << std::endl;
  return 0;
}

/// A valid replicate from a node the target never met in the group
/// protocol: it finds the chat server by its registered name, as any node
/// that reaches the cluster port can.
int as_unknown_peer(caf::actor_system& sys, caf::scoped_actor& self, const caf::actor& portal,
                    const std::string& room) {
  auto chat_server =
    caf::actor_cast<caf::actor>(sys.middleman().remote_lookup(registry_name::chat_server, portal.node()));
  if (!chat_server) {
    std::cerr << "remote lookup of the chat server failed\n";
    return 1;
  }
  replicate_both_ways(self, chat_server, valid_message(room, wall_micros(), "from an unknown node"), {});
  std::cout << "sent unknown-peer" << std::endl;
  if (!handled(self, chat_server))
    return 1;
  std::cout << "handled" << std::endl;
  return 0;
}

/// One message that only `check` refuses (see the usage at the top).
int break_one_check(caf::scoped_actor& self, const caf::actor& chat_server, const caf::actor& victim,
                    const std::string& room, const std::string& check) {
  auto now = wall_micros();
  std::vector<caf::actor> to_victim{victim};
  if (check == "future-ts") {
    replicate_both_ways(self, chat_server, valid_message(room, year_2100_us, "from the year 2100"), to_victim);
  } else if (check == "bad-id") {
    auto m = valid_message(room, now, "with an id that hides its ts");
    m.id = "rogue-" + m.id;
    replicate_both_ways(self, chat_server, m, to_victim);
  } else if (check == "bad-user") {
    auto m = valid_message(room, now, "from a user name the protocol forbids");
    m.user = "mal lory";
    replicate_both_ways(self, chat_server, m, to_victim);
  } else if (check == "bad-room") {
    replicate_both_ways(self, chat_server, valid_message("no spaces allowed", now, "for a bad room"), to_victim);
  } else if (check == "crash-conn") {
    for (int i = 0; i < 10; ++i)
      self->send(victim, crash_atom::value);
  } else {
    std::cerr << "unknown check '" << check << "'\n";
    return 2;
  }
  std::cout << "sent " << check << std::endl;
  if (!handled(self, chat_server))
    return 1;
  std::cout << "handled" << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  bool silent = argc == 6 && std::string{argv[4]} == "--silent";
  std::string only = argc == 6 && std::string{argv[4]} == "--only" ? argv[5] : "";
  if (argc != 4 && !silent && only.empty()) {
    std::cerr << "usage: rogue_chat HOST PORT ROOM [--silent SECONDS | --only CHECK]\n";
    return 2;
  }
  std::string host = argv[1];
  auto port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  std::string room = argv[3];

  caf::actor_system_config cfg;
  chat::rogue::configure(cfg);
  // A node's CAF drops a connection silent for its peer timeout; the silent
  // peer keeps its connection alive the way a node does.
  if (silent)
    cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(250)});
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  auto portal = sys.middleman().remote_actor(host, port);
  if (!portal) {
    std::cerr << "cannot reach the portal: " << sys.render(portal.error()) << "\n";
    return 1;
  }
  if (only == "unknown-peer")
    return as_unknown_peer(sys, self, *portal, room);
  caf::actor scope;
  self->request(*portal, wait, pg_peer_atom::value)
    .receive([&](const caf::actor& s) { scope = s; },
             [&](const caf::error& e) { std::cerr << "no scope: " << sys.render(e) << "\n"; });
  if (!scope)
    return 1;

  // Become a peer scope the normal way, and learn the node's members.
  self->send(scope, pg_discover_atom::value, caf::actor{self});
  cluster::group_map groups;
  bool synced = false;
  self->receive_while([&] { return !synced; })(
    [&](pg_sync_atom, const caf::actor&, const cluster::group_map& gs) {
      groups = gs;
      synced = true;
    },
    [&](pg_discover_atom, const caf::actor&) {}, caf::after(wait) >> [&] { synced = true; });
  auto chat_server = member_of(groups, chat_servers_group);
  auto victim = member_of(groups, room_group(room));
  std::cout << "synced groups=" << groups.size() << " chat_server=" << (chat_server ? "yes" : "no")
            << " victim=" << (victim ? "yes" : "no") << std::endl;
  if (!chat_server || !victim)
    return 1;
  // Our own "chat server" in the group, so that the node sees a full peer.
  self->send(scope, pg_sync_atom::value, caf::actor{self},
             cluster::group_map{{chat_servers_group, {cluster::member{caf::actor{self}, "rogue"}}}});
  if (silent) {
    std::cout << "joined as a silent peer" << std::endl;
    return stay_silent(self, scope, std::atoi(argv[5]));
  }
  if (!only.empty())
    return break_one_check(self, chat_server, victim, room, only);

  message future{room, "rogue-2100", "mallory", "from the year 2100", "", year_2100_us};
  message forged{room, "rogue-bad-room", "mallory", "bad room", "", 0};
  forged.room = "no spaces allowed";
  forged.ts = year_2100_us / 2;

  // 1. A message from the future, in today's replicate shape and the old one.
  self->send(chat_server, replicate_atom::value, future, std::vector<caf::actor>{victim});
  self->send(chat_server, replicate_atom::value, future, protocol::message_frame(future),
             std::vector<caf::actor>{victim});
  std::cout << "sent replicate ts=2100" << std::endl;

  // 2. A message for a room name the protocol forbids.
  self->send(chat_server, replicate_atom::value, forged, std::vector<caf::actor>{victim});
  std::cout << "sent replicate bad room" << std::endl;

  // 2b. Both in one batch (today's node-to-node shape), and an empty batch.
  self->send(chat_server, replicate_batch_atom::value, std::uint64_t{1},
             std::vector<replicate_item>{{future, {victim}}, {forged, {victim}}});
  self->send(chat_server, replicate_batch_atom::value, std::uint64_t{2}, std::vector<replicate_item>{});
  // And an answer to a batch it was never sent.
  self->send(chat_server, replicated_atom::value, std::uint64_t{1}, std::vector<message>{future});
  std::cout << "sent replicate batches" << std::endl;

  // 3. A frame of our choosing relayed as if it came from a peer (old shape),
  //    and a typing relay of an unknown kind (today's shape).
  self->send(chat_server, relay_atom::value, room,
             std::string(R"({"type":"message","room":")") + room
               + R"(","id":"rogue-relay","user":"admin","text":"injected","ts":"2100-01-01T00:00:00.000000Z"})",
             std::vector<caf::actor>{victim});
  self->send(chat_server, relay_atom::value, room, std::string("admin"), std::string("message"),
             std::string("injected"), std::vector<caf::actor>{victim});
  std::cout << "sent relay" << std::endl;

  // 4. The local API, from outside: a publish as someone else, and a
  //    membership change notice.
  message draft{room, "", "alice", "posted by the rogue", "rogue-cid", 0};
  self->send(chat_server, publish_atom::value, std::uint64_t{1}, draft, victim, true);
  self->send(chat_server, pg_changes_atom::value,
             cluster::changes{cluster::change{room_group(room), cluster::member{caf::actor{self}, "ghost"}, true}});
  std::cout << "sent local api" << std::endl;

  // 5. A frame pushed into someone's connection actor: it would post as them.
  self->send(victim, frame_atom::value,
             std::string(R"({"type":"message","room":")") + room + R"(","text":"typed by the rogue"})");
  std::cout << "sent frame to connection" << std::endl;

  // 6. The fault hook that stopped a node in 2.4 s.
  for (int i = 0; i < 10; ++i)
    self->send(chat_server, crash_atom::value);
  std::cout << "sent crash" << std::endl;

  // 7. An error message that answers nothing: CAF's default handler ended
  //    the actor with it. And a forged down message naming the victim, which
  //    would take it out of its rooms.
  self->send(chat_server, caf::make_error(caf::sec::runtime_error));
  self->send(chat_server, caf::down_msg{victim.address(), caf::exit_reason::kill});
  std::cout << "sent stray error and forged down" << std::endl;

  // Stay a moment so the node handles all of it while we are connected.
  self->receive(caf::after(std::chrono::milliseconds(500)) >> [] {});
  std::cout << "done" << std::endl;
  return 0;
}
