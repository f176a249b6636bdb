// A rogue cluster member for the regression test of the peer-protocol checks
// (tests/integration/rogue.test.mjs). It speaks CAF like a node, with the
// node's own message types, to two nodes A and B of a plaintext cluster:
//
//   rogue_node A_HOST A_PORT B_HOST B_PORT
//
// In plaintext mode anyone reaching the cluster port can become a peer by the
// normal protocol (that is what cluster TLS is for); these checks limit what
// such a peer can do beyond that: speak for its own members only, under valid
// names, and never through the local API or in another scope's name.
//
// It sends every attack to A from one actor, then one legitimate join as a
// control, then asks A's portal a question: when the answer arrives, A has
// received everything before it. Prints one JSON line with the node ids, then
// stays connected until its stdin closes (at most 60 s), so that the test can
// look while the rogue is still a peer.

#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "chat/messages.hpp"
#include "rogue_setup.hpp"

using namespace chat;
using chat::cluster::group_map;
using chat::cluster::member;

namespace {

struct targets {
  caf::actor a_portal, a_scope, b_scope;
  caf::actor a_nodemon, b_chat;
};

caf::behavior attack(caf::event_based_actor* self, targets t, caf::actor done) {
  self->set_default_handler(caf::drop);
  caf::actor me{self};
  // 1. Impersonation: messages naming B's scope, sent by us.
  self->send(t.a_scope, pg_rjoin_atom::value, t.b_scope, std::string("room:lobby"),
             std::vector<member>{{me, "mallory"}});
  self->send(t.a_scope, pg_rleave_atom::value, t.b_scope, chat_servers_group, std::vector<caf::actor>{t.b_chat});
  self->send(t.a_scope, pg_sync_atom::value, t.b_scope, group_map{});
  self->send(t.a_scope, caf::down_msg{t.b_scope.address(), caf::exit_reason::remote_link_unreachable});
  // 2. The local API, from another node.
  self->send(t.a_scope, pg_join_atom::value, std::string("room:lobby"), member{me, "mallory"});
  self->send(t.a_scope, pg_peer_atom::value, me);
  caf::node_id fake = *caf::make_node_id(4242, "0123456789ABCDEF0123456789ABCDEF01234567");
  self->send(t.a_nodemon, node_up_atom::value, fake);
  self->send(t.a_nodemon, node_down_atom::value, t.b_scope.node());
  // 3. Become a peer by the protocol (possible in plaintext mode)...
  self->send(t.a_scope, pg_discover_atom::value, me);
  // ...then claim members of another node, invalid groups, invalid users.
  self->send(t.a_scope, pg_sync_atom::value, me, group_map{{"room:lobby", {{t.b_chat, "eve"}}}});
  self->send(t.a_scope, pg_rjoin_atom::value, me, std::string("room:lobby"), std::vector<member>{{t.b_chat, "eve"}});
  self->send(t.a_scope, pg_rjoin_atom::value, me, std::string("lobby"), std::vector<member>{{me, "mallory"}});
  self->send(t.a_scope, pg_rjoin_atom::value, me, std::string("room:bad name"), std::vector<member>{{me, "mallory"}});
  self->send(t.a_scope, pg_rjoin_atom::value, me, std::string("room:lobby"), std::vector<member>{{me, "bad user"}});
  self->send(t.a_scope, pg_rleave_atom::value, me, chat_servers_group, std::vector<caf::actor>{t.b_chat});
  // 4. Control: what a peer may do, join its own member under a valid name.
  self->send(t.a_scope, pg_rjoin_atom::value, me, std::string("room:rogue-control"),
             std::vector<member>{{me, "rogue"}});
  self->request(t.a_portal, std::chrono::seconds(10), peer_addr_atom::value)
    .then([=](const std::string&) { self->send(done, true); }, [=](const caf::error&) { self->send(done, false); });
  // Stay up as A's peer until main() has seen the answer and printed.
  return {[](int) {}};
}

caf::actor remote(caf::actor_system& sys, const char* host, const char* port) {
  auto p = sys.middleman().remote_actor(host, static_cast<std::uint16_t>(std::atoi(port)));
  if (!p) {
    std::cerr << "rogue: cannot connect to " << host << ":" << port << ": " << sys.render(p.error()) << "\n";
    std::exit(2);
  }
  return *p;
}

caf::actor scope_of(caf::scoped_actor& self, const caf::actor& portal) {
  caf::actor scope;
  self->request(portal, std::chrono::seconds(10), pg_peer_atom::value)
    .receive([&](const caf::actor& s) { scope = s; },
             [&](const caf::error& e) { std::cerr << "rogue: pg_peer failed: " << to_string(e) << "\n"; });
  if (!scope)
    std::exit(2);
  return scope;
}

caf::actor named(caf::actor_system& sys, caf::atom_value name, const caf::node_id& nid) {
  auto a = caf::actor_cast<caf::actor>(sys.middleman().remote_lookup(name, nid));
  if (!a) {
    std::cerr << "rogue: remote lookup of " << to_string(name) << " failed\n";
    std::exit(2);
  }
  return a;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: rogue_node A_HOST A_PORT B_HOST B_PORT\n";
    return 2;
  }
  caf::actor_system_config cfg;
  chat::rogue::configure(cfg);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  targets t;
  t.a_portal = remote(sys, argv[1], argv[2]);
  auto b_portal = remote(sys, argv[3], argv[4]);
  t.a_scope = scope_of(self, t.a_portal);
  t.b_scope = scope_of(self, b_portal);
  t.a_nodemon = named(sys, registry_name::node_monitor, t.a_scope.node());
  t.b_chat = named(sys, registry_name::chat_server, t.b_scope.node());
  auto fake_scope = sys.spawn(attack, t, caf::actor{self});
  bool ok = false;
  self->receive([&](bool b) { ok = b; }, caf::after(std::chrono::seconds(15)) >> [] {});
  std::cout << "{\"ok\":" << (ok ? "true" : "false") << ",\"rogue_node\":\"" << to_string(sys.node())
            << "\",\"a_node\":\"" << to_string(t.a_scope.node()) << "\",\"b_node\":\"" << to_string(t.b_scope.node())
            << "\"}" << std::endl;
  // Stay A's peer while the test looks: until stdin closes, at most 60 s.
  std::thread{[] {
    std::this_thread::sleep_for(std::chrono::seconds(60));
    std::_Exit(3);
  }}.detach();
  while (std::cin.get() != EOF) {}
  caf::anon_send_exit(fake_scope, caf::exit_reason::user_shutdown);
  return ok ? 0 : 1;
}
