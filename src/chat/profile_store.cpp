#include "chat/profile_store.hpp"

#include <spdlog/spdlog.h>

#include "chat/clock.hpp"
#include "cluster/scope_lookup.hpp"
#include "cluster/sender_checks.hpp"
#include "protocol/names.hpp"

namespace chat {

namespace {

using self_ptr = profile_store_actor::stateful_pointer<profile_store_state>;

/// Profiles in one answer to a peer's pull.
constexpr std::size_t profiles_per_page = 1000;
/// A page that takes longer means trouble: the pull ends there (the rest
/// comes with the peer's next arrival).
constexpr auto pull_timeout = std::chrono::seconds(10);
/// How far ahead of this node's clock a peer's stamp may be: beyond it, a
/// profile could never be overwritten again here.
constexpr auto max_clock_skew = std::chrono::seconds(60);

/// A profile a peer could have written: a user, fields within bounds, a
/// stamp not in the future.
bool valid_from_peer(const profile& p) {
  auto horizon = wall_micros() + std::chrono::duration_cast<std::chrono::microseconds>(max_clock_skew).count();
  return protocol::valid_user(p.user) && profile_fault(p.name, p.status).empty() && p.ts > 0 && p.ts <= horizon
    && !p.node.empty() && p.node.size() <= 256;
}

bool from_peer(self_ptr self) {
  const auto& sender = self->current_sender();
  if (!sender)
    return false;
  auto it = self->state.peers.find(sender->node());
  return it != self->state.peers.end() && caf::actor_cast<caf::strong_actor_ptr>(it->second) == sender;
}

void merge(self_ptr self, const profile& p) {
  if (!valid_from_peer(p)) {
    spdlog::warn("profiles: refused a profile from a peer (user '{}')", p.user.substr(0, 64));
    return;
  }
  if (self->state.store->merge_profile(p) == history_store::mark_result::failed)
    spdlog::warn("profiles: could not store the profile of {}", p.user);
}

void pull(self_ptr self, const caf::actor& peer, std::string after) {
  self->request(peer, pull_timeout, profile_pull_atom::value, after)
    .then(
      [=](const std::vector<profile>& page) {
        for (const auto& p : page)
          merge(self, p);
        // An empty page ends the pull, and so does one that does not move on.
        if (page.empty() || page.back().user <= after)
          return;
        pull(self, peer, page.back().user);
      },
      [=](const caf::error& err) {
        spdlog::warn("profiles: pull from {} failed: {}", to_string(peer.node()), self->system().render(err));
      });
}

void peer_joined(self_ptr self, const cluster::member& m) {
  if (m.actor.node() == self->node())
    return;
  auto& slot = self->state.peers[m.actor.node()];
  if (slot == m.actor)
    return;
  slot = m.actor;
  pull(self, m.actor, {});
}

void peer_left(self_ptr self, const caf::actor& a) {
  auto it = self->state.peers.find(a.node());
  if (it != self->state.peers.end() && it->second == a)
    self->state.peers.erase(it);
}

void bind_scope(self_ptr self) {
  auto scope = cluster::find_scope(self);
  if (!scope)
    return;
  auto& st = self->state;
  st.scope = scope;
  self->monitor(scope);
  auto me = caf::actor_cast<caf::actor>(self);
  self->send(scope, pg_join_atom::value, profile_stores_group, cluster::member{me, st.node_name});
  self->request(scope, caf::infinite, pg_watch_atom::value, me)
    .then([=](const cluster::group_map& groups, const std::vector<caf::node_id>&) {
      if (auto it = groups.find(profile_stores_group); it != groups.end())
        for (const auto& m : it->second)
          peer_joined(self, m);
    });
}

} // namespace

profile_store_actor::behavior_type profile_store(self_ptr self, std::shared_ptr<history_store> store,
                                                 std::string node_name) {
  self->state.store = std::move(store);
  self->state.node_name = std::move(node_name);
  cluster::drop_strays(self);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (cluster::genuine(self, dm) && self->state.scope && dm.source == self->state.scope.address()) {
      self->state.scope = nullptr;
      self->state.peers.clear();
      bind_scope(self);
    }
  });
  bind_scope(self);
  return {
    // this node's HTTP side: stored already, to every peer
    [=](profile_put_atom, const profile& p, local_proof) {
      for (const auto& [_, peer] : self->state.peers)
        self->send(caf::actor_cast<profile_store_actor>(peer), profile_merge_atom::value, p);
    },
    // the other nodes' profile stores
    [=](profile_merge_atom, const profile& p) {
      if (from_peer(self))
        merge(self, p);
    },
    [=](profile_pull_atom, const std::string& after) -> caf::result<std::vector<profile>> {
      if (!from_peer(self))
        return caf::sec::request_receiver_down;
      return self->state.store->profiles(after, profiles_per_page);
    },
    // the scope
    [=](pg_changes_atom, const cluster::changes& cs) {
      if (!cluster::from_this_node(self))
        return;
      for (const auto& c : cs) {
        if (c.group != profile_stores_group)
          continue;
        if (c.joined)
          peer_joined(self, c.who);
        else
          peer_left(self, c.who.actor);
      }
    },
    [=](node_up_atom, const caf::node_id&) {},
    [=](node_down_atom, const caf::node_id& node) {
      if (cluster::from_this_node(self))
        self->state.peers.erase(node);
    },
    [=](tick_atom) {
      if (!self->state.scope)
        bind_scope(self);
    },
  };
}

} // namespace chat
