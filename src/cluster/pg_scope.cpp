#include "cluster/pg_scope.hpp"

#include <spdlog/spdlog.h>

#include "cluster/messages.hpp"
#include "cluster/sender_checks.hpp"

namespace chat::cluster {

namespace {

using self_ptr = pg_scope_actor::stateful_pointer<pg_scope_state>;

/// A peer scope, as the interface it speaks (peers are kept as the plain
/// handles their messages carry).
pg_scope_actor scope_of(const caf::actor& peer) { return caf::actor_cast<pg_scope_actor>(peer); }

caf::actor me(self_ptr self) { return caf::actor_cast<caf::actor>(self); }

constexpr std::size_t max_discovering = 256;

void dropped(self_ptr self, const char* what, const std::string& why) {
  auto& st = self->state;
  ++st.dropped;
  spdlog::debug("pg: dropped {}: {}", what, why);
  auto now = std::chrono::steady_clock::now();
  if (now - st.last_drop_report < std::chrono::seconds(10))
    return;
  const auto& s = self->current_sender();
  spdlog::warn("pg: dropped {} peer message(s); latest: {} from {}: {}", st.dropped, what,
               s ? to_string(s->node()) : std::string{"anonymous"}, why);
  st.dropped = 0;
  st.last_drop_report = now;
}

void notify(self_ptr self, const changes& cs) {
  if (cs.empty())
    return;
  for (const auto& w : self->state.watchers)
    self->send(w, pg_changes_atom::value, cs);
}

template <class... Ts>
void to_peers(self_ptr self, const Ts&... xs) {
  for (const auto& peer : self->state.pg.peers())
    self->send(scope_of(peer), xs...);
}

// First contact with a peer scope, from either side: watch it and announce it.
void add_peer(self_ptr self, const caf::actor& peer) {
  self->monitor(peer);
  spdlog::info("pg: peer scope up node={}", to_string(peer.node()));
  for (const auto& w : self->state.watchers)
    self->send(w, node_up_atom::value, peer.node());
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  // A real down message comes from the actor that went down; one sent by
  // anyone else (a forged down_msg naming a peer scope) is ignored.
  if (!genuine(self, dm)) {
    dropped(self, "down_msg", "not from the actor it names");
    return;
  }
  auto who = caf::actor_cast<caf::actor>(dm.source);
  if (!who) {
    // The handle may no longer resolve; compare by address instead.
    for (const auto& peer : st.pg.peers())
      if (peer.address() == dm.source)
        who = peer;
  }
  if (who && st.pg.known_peer(who)) {
    spdlog::warn("pg: peer scope down node={} reason={}", to_string(who.node()), to_string(dm.reason));
    auto cs = st.pg.peer_down(who);
    notify(self, cs);
    for (const auto& w : st.watchers)
      self->send(w, node_down_atom::value, who.node());
    return;
  }
  auto& ws = st.watchers;
  ws.erase(std::remove_if(ws.begin(), ws.end(), [&](const pg_watcher_actor& w) { return w.address() == dm.source; }),
           ws.end());
  if (!who)
    return;
  auto groups = st.pg.groups_of(who);
  auto cs = st.pg.local_down(who);
  for (const auto& g : groups)
    to_peers(self, pg_rleave_atom::value, me(self), g, std::vector<caf::actor>{who});
  notify(self, cs);
}

} // namespace

pg_scope_actor::behavior_type pg_scope(self_ptr self, pg_limits limits) {
  self->state.limits = std::move(limits);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  // CAF's default prints every unexpected message to stderr: a log flood
  // anyone on the cluster port could cause.
  drop_strays(self);
  return {
    [=](pg_join_atom, const std::string& group, const member& m) {
      if (!from_this_node(self) || !m.actor || m.actor.node() != self->node())
        return dropped(self, "pg_join", "local API from another node");
      bool monitor_needed = false;
      auto cs = self->state.pg.join_local(group, m, monitor_needed);
      if (monitor_needed)
        self->monitor(m.actor);
      if (!cs.empty())
        to_peers(self, pg_rjoin_atom::value, me(self), group, std::vector<member>{m});
      notify(self, cs);
    },
    [=](pg_leave_atom, const std::string& group, const caf::actor& a) {
      if (!from_this_node(self))
        return dropped(self, "pg_leave", "local API from another node");
      bool demonitor_needed = false;
      auto cs = self->state.pg.leave_local(group, a, demonitor_needed);
      if (demonitor_needed)
        self->demonitor(a);
      if (!cs.empty())
        to_peers(self, pg_rleave_atom::value, me(self), group, std::vector<caf::actor>{a});
      notify(self, cs);
    },
    [=](pg_watch_atom, const caf::actor& watcher) -> caf::result<group_map, std::vector<caf::node_id>> {
      if (!from_this_node(self) || !watcher || watcher.node() != self->node()) {
        dropped(self, "pg_watch", "local API from another node");
        return caf::sec::unexpected_message;
      }
      self->monitor(watcher);
      self->state.watchers.push_back(caf::actor_cast<pg_watcher_actor>(watcher));
      std::vector<caf::node_id> nodes;
      for (const auto& p : self->state.pg.peers())
        nodes.push_back(p.node());
      return {self->state.pg.view().groups(), std::move(nodes)};
    },
    [=](pg_peer_atom, const caf::actor& peer) {
      if (!from_this_node(self))
        return dropped(self, "pg_peer", "local API from another node");
      if (!peer || peer == me(self) || self->state.pg.known_peer(peer))
        return;
      auto& disc = self->state.discovering;
      if (disc.size() >= max_discovering)
        disc.clear();
      disc.insert(peer);
      self->send(scope_of(peer), pg_discover_atom::value, me(self));
    },
    [=](pg_discover_atom, const caf::actor& peer) {
      if (!sent_by(self, peer) || peer == me(self))
        return dropped(self, "pg_disc", "sender is not the scope it names");
      bool is_new = !self->state.pg.known_peer(peer);
      if (is_new) {
        // Register before any sync arrives so its joins are not dropped, and
        // before our sync tells the peer our members: the local chat server
        // then knows the node before that node's chat server can ask it.
        auto cs = self->state.pg.peer_sync(peer, {});
        add_peer(self, peer);
        notify(self, cs);
      }
      self->send(scope_of(peer), pg_sync_atom::value, me(self), self->state.pg.local_groups());
      if (is_new)
        self->send(scope_of(peer), pg_discover_atom::value, me(self));
    },
    [=](pg_sync_atom, const caf::actor& peer, const group_map& groups) {
      if (!sent_by(self, peer))
        return dropped(self, "pg_sync", "sender is not the scope it names");
      bool is_new = !self->state.pg.known_peer(peer);
      // pg.erl drops messages from unknown peers; a sync is also the answer
      // to our own discover, which may come before the peer's discover.
      if (is_new && self->state.discovering.count(peer) == 0)
        return dropped(self, "pg_sync", "from an unknown peer");
      if (auto err = check_peer_sync(peer.node(), groups, self->state.limits))
        return dropped(self, "pg_sync", *err);
      self->state.discovering.erase(peer);
      auto cs = self->state.pg.peer_sync(peer, groups);
      if (is_new)
        add_peer(self, peer);
      notify(self, cs);
    },
    [=](pg_rjoin_atom, const caf::actor& peer, const std::string& group, const std::vector<member>& ms) {
      if (!sent_by(self, peer) || !self->state.pg.known_peer(peer))
        return dropped(self, "pg_rjoin", "not from a known peer scope");
      if (auto err = check_peer_join(peer.node(), group, ms, self->state.limits))
        return dropped(self, "pg_rjoin", *err);
      notify(self, self->state.pg.peer_join(peer, group, ms));
    },
    [=](pg_rleave_atom, const caf::actor& peer, const std::string& group, const std::vector<caf::actor>& as) {
      if (!sent_by(self, peer) || !self->state.pg.known_peer(peer))
        return dropped(self, "pg_rleave", "not from a known peer scope");
      if (auto err = check_peer_leave(peer.node(), group, as, self->state.limits))
        return dropped(self, "pg_rleave", *err);
      notify(self, self->state.pg.peer_leave(peer, group, as));
    },
  };
}

} // namespace chat::cluster
