#include "chat/membership.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "chat/history_sync.hpp"
#include "chat/inbox_updates.hpp"
#include "chat/replication.hpp"
#include "cluster/scope_lookup.hpp"
#include "cluster/sender_checks.hpp"
#include "protocol/frames.hpp"
#include "protocol/names.hpp"

namespace chat::detail {

namespace {

// Presence is computed on every node from its own view, and told only to that
// node's connections: each change reaches each node once, so each connection
// hears of it once.
void tell_presence(self_ptr self, const std::string& room, const room_members::outcome& out, bool joined) {
  if (!out.presence)
    return;
  push_local(self, room, push_msg(room, protocol::presence_frame(room, out.user, joined)),
             [&](const member& m) { return m.user != out.user; });
}

} // namespace

// -- local membership ---------------------------------------------------------

namespace {

void local_join(self_ptr self, const std::string& room, const member& m) {
  auto& st = self->state;
  bool first_room = false;
  auto out = st.rooms.join_local(room, m, steady::now(), first_room);
  if (first_room && !has_inbox(self, m.actor))
    self->monitor(m.actor);
  if (out.moved) {
    self->send(st.scope, pg_join_atom::value, room_group(room), m);
    tell_presence(self, room, out, true);
  }
}

} // namespace

void local_leave(self_ptr self, const std::string& room, const caf::actor& a) {
  auto& st = self->state;
  bool last_room = false;
  auto out = st.rooms.leave_local(room, a, last_room);
  if (!out.moved)
    return;
  self->send(st.scope, pg_leave_atom::value, room_group(room), a);
  tell_presence(self, room, out, false);
  if (last_room && !has_inbox(self, a))
    self->demonitor(a);
}

// -- peers ----------------------------------------------------------------------

namespace {

/// A peer's member joined or left a group (a room, or the chat servers').
void remote_change(self_ptr self, const cluster::change& c) {
  auto& st = self->state;
  if (c.group == chat_servers_group) {
    auto node = c.who.actor.node();
    if (c.joined) {
      auto cs = caf::actor_cast<chat_server_actor>(c.who.actor);
      st.peers[node] = cs;
      pull_from(self, node, cs);
    } else {
      abandon_batches_to(self, caf::actor_cast<chat_server_actor>(c.who.actor));
      auto it = st.peers.find(node);
      if (it != st.peers.end() && it->second == c.who.actor)
        peer_lost(self, node);
    }
    return;
  }
  auto room = room_of(c.group);
  if (room.empty())
    return;
  tell_presence(self, room, c.joined ? st.rooms.join(room, c.who) : st.rooms.leave(room, c.who.actor), c.joined);
}

// The scope's full view, on (re)start: remote members as they are, local ones
// adopted (a restarted chat server finds its node's connections there).
void adopt(self_ptr self, const cluster::group_map& groups) {
  auto& st = self->state;
  for (const auto& [group, members] : groups) {
    for (const auto& m : members) {
      if (!is_local(self, m.actor)) {
        remote_change(self, cluster::change{group, m, true});
        continue;
      }
      auto room = room_of(group);
      if (room.empty())
        continue;
      bool first_room = false;
      st.rooms.adopt_local(room, m, steady::now(), first_room);
      if (first_room && !has_inbox(self, m.actor))
        self->monitor(m.actor);
    }
  }
}

} // namespace

void on_group_changes(self_ptr self, const cluster::changes& cs) {
  for (const auto& c : cs)
    if (!is_local(self, c.who.actor))
      remote_change(self, c);
}

void bind_scope(self_ptr self) {
  auto scope = cluster::find_scope(self);
  if (!scope)
    return;
  auto& st = self->state;
  st.scope = scope;
  self->monitor(scope);
  // After a scope restart our connections are still subscribed: join them again.
  for (const auto& [room, m] : st.rooms.local_memberships())
    self->send(scope, pg_join_atom::value, room_group(room), m);
  self->send(scope, pg_join_atom::value, chat_servers_group, member{me(self), st.cfg.node_name});
  self->request(scope, caf::infinite, pg_watch_atom::value, me(self))
    .then([=](const cluster::group_map& groups, const std::vector<caf::node_id>& nodes) {
      self->state.peer_nodes.insert(nodes.begin(), nodes.end());
      adopt(self, groups);
    });
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  if (!cluster::genuine(self, dm))
    return;
  auto& st = self->state;
  if (st.scope && dm.source == st.scope.address()) {
    spdlog::warn("chat: scope went down, binding the new one");
    st.scope = nullptr;
    // Remote members come back through the new scope's notices.
    st.rooms.keep_local_only();
    st.peers.clear();
    st.peer_nodes.clear();
    bind_scope(self);
    return;
  }
  auto conn = caf::actor_cast<caf::actor>(dm.source);
  if (!conn)
    return;
  close_inbox(self, conn);
  for (const auto& room : st.rooms.rooms_of(conn))
    local_leave(self, room, conn);
}

bool recently_joined(self_ptr self, const caf::actor& a, const std::string& room) {
  return self->state.rooms.joined_within(a, room, steady::now(), self->state.cfg.join_settle);
}

std::vector<room_snapshot> subscribe(self_ptr self, const std::vector<std::string>& rooms,
                                     const std::map<std::string, std::string>& since, const member& conn) {
  std::vector<room_snapshot> out;
  for (const auto& room : rooms) {
    if (!protocol::may_hold(conn.user, room))
      continue; // the connection refused it already: this is only a second check
    local_join(self, room, conn);
    room_snapshot snap{room, self->state.rooms.users(room), {}, false};
    if (auto it = since.find(room); it != since.end()) {
      auto r = self->state.store->since(room, it->second);
      snap.messages = std::move(r.messages);
      snap.gap = r.gap;
    } else {
      snap.messages = self->state.store->window(room);
    }
    out.push_back(std::move(snap));
  }
  return out;
}

} // namespace chat::detail
