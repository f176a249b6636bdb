#include <doctest/doctest.h>

#include "actor_fixture.hpp"
#include "base/node_stats.hpp"
#include "cluster/node_monitor.hpp"

using namespace chat;
using chat::test::actor_fixture;
using chat::test::eventually;

namespace {

caf::node_id remote_node(std::uint32_t pid) {
  auto nid = caf::make_node_id(pid, "0123456789ABCDEF0123456789ABCDEF01234567");
  REQUIRE(nid);
  return *nid;
}

bool has_peer(const node_stats& stats, const caf::node_id& nid, std::string* addr = nullptr) {
  for (const auto& p : stats.cluster().peers) {
    if (p.node_id == to_string(nid)) {
      if (addr)
        *addr = p.addr;
      return true;
    }
  }
  return false;
}

} // namespace

TEST_CASE_FIXTURE(actor_fixture, "node_monitor: an address reported before the node is up is kept for it") {
  auto stats = std::make_shared<node_stats>();
  auto nm = keep(sys.spawn(cluster::node_monitor, stats, chat_servers_group));
  caf::scoped_actor self{sys}; // the monitor serves actors of its own node only
  auto a = remote_node(101);
  self->send(nm, peer_addr_atom::value, a, std::string{"10.0.0.1:9100"}, std::string{"http://10.0.0.1:8080"});
  self->send(nm, node_up_atom::value, a);
  std::string addr;
  REQUIRE(eventually([&] { return has_peer(*stats, a, &addr); }));
  CHECK(addr == "10.0.0.1:9100");
}

TEST_CASE_FIXTURE(actor_fixture, "node_monitor: a late address report does not bring a node that went down back") {
  auto stats = std::make_shared<node_stats>();
  auto nm = keep(sys.spawn(cluster::node_monitor, stats, chat_servers_group));
  caf::scoped_actor self{sys}; // the monitor serves actors of its own node only
  auto dead = remote_node(102);
  auto other = remote_node(103);
  self->send(nm, node_up_atom::value, dead);
  REQUIRE(eventually([&] { return has_peer(*stats, dead); }));
  self->send(nm, node_down_atom::value, dead);
  // Discovery's answer from the dead node's portal, arriving after the down.
  self->send(nm, peer_addr_atom::value, dead, std::string{"10.0.0.2:9100"}, std::string{"http://10.0.0.2:8080"});
  // Messages from one sender arrive in order: once `other` shows, the late
  // report has been handled.
  self->send(nm, node_up_atom::value, other);
  REQUIRE(eventually([&] { return has_peer(*stats, other); }));
  CHECK_FALSE(has_peer(*stats, dead));
  CHECK(stats->cluster().peers.size() == 1);
}

TEST_CASE_FIXTURE(actor_fixture, "node_monitor: serves actors of its own node only (anonymous messages are a peer's)") {
  auto stats = std::make_shared<node_stats>();
  auto nm = keep(sys.spawn(cluster::node_monitor, stats, chat_servers_group));
  caf::scoped_actor self{sys};
  auto forged = remote_node(104);
  auto real = remote_node(105);
  caf::anon_send(nm, node_up_atom::value, forged);
  self->send(nm, node_up_atom::value, real);
  REQUIRE(eventually([&] { return has_peer(*stats, real); }));
  CHECK_FALSE(has_peer(*stats, forged));
}
