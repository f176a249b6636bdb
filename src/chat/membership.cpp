#include "chat/membership.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "chat/history_sync.hpp"
#include "chat/replication.hpp"
#include "cluster/scope_lookup.hpp"
#include "cluster/sender_checks.hpp"
#include "protocol/frames.hpp"

namespace chat::detail {

namespace {

std::size_t user_count(self_ptr self, const std::string& room, const std::string& user) {
  const auto& ms = self->state.view.members(room_group(room));
  return std::count_if(ms.begin(), ms.end(), [&](const member& m) { return m.user == user; });
}

std::vector<std::string> users_in(self_ptr self, const std::string& room) {
  std::vector<std::string> users;
  for (const auto& m : self->state.view.members(room_group(room)))
    users.push_back(m.user);
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  return users;
}

// Presence is computed on every node from its own view, and told only to that
// node's connections: each change reaches each node once, so each connection
// hears of it once.
void presence_changed(self_ptr self, const std::string& room, const std::string& user, bool joined) {
  auto count = user_count(self, room, user);
  if ((joined && count != 1) || (!joined && count != 0))
    return;
  push_local(self, room, push_msg(room, protocol::presence_frame(room, user, joined)),
             [&](const member& m) { return m.user != user; });
}

} // namespace

// -- local membership ---------------------------------------------------------

namespace {

void local_join(self_ptr self, const std::string& room, const member& m) {
  auto& st = self->state;
  auto& rooms = st.local[m.actor];
  if (rooms.empty())
    self->monitor(m.actor);
  rooms[room] = steady::now();
  if (st.view.add(room_group(room), m)) {
    self->send(st.scope, pg_join_atom::value, room_group(room), m);
    presence_changed(self, room, m.user, true);
  }
}

} // namespace

void local_leave(self_ptr self, const std::string& room, const caf::actor& a) {
  auto& st = self->state;
  auto it = st.local.find(a);
  if (it == st.local.end() || it->second.erase(room) == 0)
    return;
  std::string user;
  for (const auto& m : st.view.members(room_group(room)))
    if (m.actor == a)
      user = m.user;
  st.view.remove(room_group(room), a);
  self->send(st.scope, pg_leave_atom::value, room_group(room), a);
  presence_changed(self, room, user, false);
  if (it->second.empty()) {
    st.local.erase(it);
    self->demonitor(a);
  }
}

// -- peers ----------------------------------------------------------------------

void remote_change(self_ptr self, const cluster::change& c) {
  auto& st = self->state;
  if (c.group == chat_servers_group) {
    auto node = c.who.actor.node();
    if (c.joined) {
      st.view.add(c.group, c.who);
      auto cs = caf::actor_cast<chat_server_actor>(c.who.actor);
      st.peers[node] = cs;
      pull_from(self, node, cs);
    } else {
      st.view.remove(c.group, c.who.actor);
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
  bool moved = c.joined ? st.view.add(c.group, c.who) : st.view.remove(c.group, c.who.actor);
  if (moved)
    presence_changed(self, room, c.who.user, c.joined);
}

namespace {

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
      auto& rooms = st.local[m.actor];
      if (rooms.empty())
        self->monitor(m.actor);
      rooms.emplace(room, steady::now());
      st.view.add(group, m);
    }
  }
}

} // namespace

void bind_scope(self_ptr self) {
  auto scope = cluster::find_scope(self);
  if (!scope)
    return;
  auto& st = self->state;
  st.scope = scope;
  self->monitor(scope);
  // After a scope restart our connections are still subscribed: join them again.
  for (const auto& [conn, rooms] : st.local)
    for (const auto& [room, _] : rooms)
      for (const auto& m : st.view.members(room_group(room)))
        if (m.actor == conn)
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
    cluster::group_view mine;
    for (const auto& [group, members] : st.view.groups())
      for (const auto& m : members)
        if (is_local(self, m.actor))
          mine.add(group, m);
    st.view = std::move(mine);
    st.peers.clear();
    st.peer_nodes.clear();
    bind_scope(self);
    return;
  }
  for (auto it = st.local.begin(); it != st.local.end(); ++it) {
    if (it->first.address() != dm.source)
      continue;
    auto conn = it->first;
    std::vector<std::string> rooms;
    for (const auto& [room, _] : it->second)
      rooms.push_back(room);
    for (const auto& room : rooms)
      local_leave(self, room, conn);
    return;
  }
}

bool recently_joined(self_ptr self, const caf::actor& a, const std::string& room) {
  auto it = self->state.local.find(a);
  if (it == self->state.local.end())
    return false;
  auto r = it->second.find(room);
  return r != it->second.end() && steady::now() - r->second < self->state.cfg.join_settle;
}

std::vector<room_snapshot> subscribe(self_ptr self, const std::vector<std::string>& rooms,
                                     const std::map<std::string, std::string>& since, const member& conn) {
  std::vector<room_snapshot> out;
  for (const auto& room : rooms) {
    local_join(self, room, conn);
    room_snapshot snap{room, users_in(self, room), {}, false};
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
