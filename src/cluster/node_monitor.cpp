#include "cluster/node_monitor.hpp"

#include <spdlog/spdlog.h>

#include "cluster/messages.hpp"
#include "cluster/scope_lookup.hpp"
#include "cluster/sender_checks.hpp"

namespace chat::cluster {

namespace {

using self_ptr = caf::stateful_actor<node_monitor_state>*;

void publish(self_ptr self) {
  auto& st = self->state;
  cluster_info info;
  for (const auto& [nid, p] : st.peers)
    info.peers.push_back(p);
  for (const auto& [group, members] : st.view.groups())
    info.group_sizes[group] = members.size();
  st.stats->set_cluster(std::move(info));
}

/// How long group changes may wait before /api/cluster shows them: they are
/// published at most this often, however fast clients subscribe.
constexpr auto flush_delay = std::chrono::milliseconds(200);

void publish_soon(self_ptr self) {
  if (self->state.flush_pending)
    return;
  self->state.flush_pending = true;
  self->delayed_send(self, flush_delay, flush_atom::value);
}

void apply(self_ptr self, const change& c) {
  auto& st = self->state;
  if (c.joined)
    st.view.add(c.group, c.who);
  else
    st.view.remove(c.group, c.who.actor);
  if (c.group == st.nodes_group && c.joined && c.who.actor.node() != self->node()) {
    auto it = st.peers.find(c.who.actor.node());
    if (it != st.peers.end())
      it->second.node = c.who.user;
  }
}

/// Returns whether the node is new to us.
bool node_up(self_ptr self, const caf::node_id& nid) {
  bool is_new = self->state.peers.count(nid) == 0;
  auto& p = self->state.peers[nid];
  p.node_id = to_string(nid);
  if (auto a = self->state.addrs.find(nid); a != self->state.addrs.end()) {
    p.addr = a->second.first;
    p.url = a->second.second;
    self->state.addrs.erase(a);
  }
  // The name may have arrived first, with the node's member of nodes_group.
  for (const auto& m : self->state.view.members(self->state.nodes_group))
    if (m.actor.node() == nid)
      p.node = m.user;
  if (is_new)
    spdlog::info("nodeup node={} node_id={} peers={}", p.node, p.node_id, self->state.peers.size());
  return is_new;
}

void bind_scope(self_ptr self) {
  auto scope = find_scope(self);
  if (!scope)
    return;
  self->state.scope = scope;
  self->monitor(scope);
  self->request(scope, caf::infinite, pg_watch_atom::value, caf::actor{self})
    .then([=](const group_map& groups, const std::vector<caf::node_id>& nodes) {
      auto& st = self->state;
      st.view = group_view{};
      st.peers.clear();
      for (const auto& nid : nodes)
        node_up(self, nid);
      for (const auto& [group, members] : groups)
        for (const auto& m : members)
          apply(self, change{group, m, true});
      publish(self);
    });
}

} // namespace

caf::behavior node_monitor(caf::stateful_actor<node_monitor_state>* self, std::shared_ptr<node_stats> stats,
                           std::string nodes_group) {
  self->state.stats = std::move(stats);
  self->state.nodes_group = std::move(nodes_group);
  drop_strays(self);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (!genuine(self, dm))
      return;
    if (self->state.scope && dm.source == self->state.scope.address()) {
      self->state.scope = nullptr;
      bind_scope(self);
    }
  });
  bind_scope(self);
  return {
    [=](pg_changes_atom, const changes& cs) {
      if (!from_this_node(self))
        return;
      bool nodes_moved = false;
      for (const auto& c : cs) {
        apply(self, c);
        nodes_moved = nodes_moved || c.group == self->state.nodes_group;
      }
      // Peers' names show at once; room membership may wait for the flush.
      if (nodes_moved)
        publish(self);
      else
        publish_soon(self);
    },
    [=](flush_atom) {
      self->state.flush_pending = false;
      publish(self);
    },
    [=](node_up_atom, const caf::node_id& nid) {
      if (!from_this_node(self))
        return;
      // Counted here, not when a restarted scope is read again.
      if (node_up(self, nid))
        self->state.stats->metrics.peers_up.Increment();
      publish(self);
    },
    [=](node_down_atom, const caf::node_id& nid) {
      if (!from_this_node(self))
        return;
      auto it = self->state.peers.find(nid);
      if (it != self->state.peers.end()) {
        spdlog::warn("nodedown node={} node_id={} addr={}", it->second.node, it->second.node_id, it->second.addr);
        self->state.stats->metrics.peers_down.Increment();
        self->state.peers.erase(it);
      }
      self->state.addrs.erase(nid);
      publish(self);
      // The chat server hears of it from the scope itself, as a watcher: the
      // one path a node-down takes to it.
    },
    [=](peer_addr_atom, const caf::node_id& nid, const std::string& addr, const std::string& url) {
      if (!from_this_node(self))
        return;
      auto it = self->state.peers.find(nid);
      if (it == self->state.peers.end()) {
        self->state.addrs[nid] = {addr, url};
        return;
      }
      it->second.addr = addr;
      it->second.url = url;
      publish(self);
    },
    [=](tick_atom) {
      if (!from_this_node(self))
        return;
      if (!self->state.scope)
        bind_scope(self);
    },
  };
}

} // namespace chat::cluster
