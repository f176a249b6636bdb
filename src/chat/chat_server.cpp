#include "chat/chat_server.hpp"

#include <algorithm>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "app/messages.hpp"
#include "chat/chat_server_parts.hpp"
#include "chat/fanout_shard.hpp"
#include "chat/history_sync.hpp"
#include "chat/replication.hpp"
#include "cluster/sender_checks.hpp"
#include "protocol/frames.hpp"
#include "protocol/names.hpp"

namespace chat {

using namespace detail;
using cluster::from_this_node;

namespace {

std::string room_of(const std::string& group) {
  return group.rfind("room:", 0) == 0 ? group.substr(5) : std::string{};
}

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

/// A typing (`value` "start"/"stop") or read (`value` the id) frame; each
/// node builds it from these fields, so a peer cannot slip in another frame.
std::optional<std::string> relay_frame(const std::string& room, const std::string& user, const std::string& kind,
                                       const std::string& value) {
  if (!protocol::valid_room(room) || !protocol::valid_user(user))
    return std::nullopt;
  if (kind == "typing" && (value == "start" || value == "stop"))
    return protocol::typing_frame(room, user, value == "start");
  if (kind == "read" && !value.empty() && value.size() <= protocol::max_id_bytes)
    return protocol::read_receipt_frame(room, user, value);
  return std::nullopt;
}

/// Sends a typing or read frame to every member of the room but the user's
/// own connections, on every node: local ones directly, each other node's
/// through one message to its chat server naming exactly those recipients.
void fan_out(self_ptr self, const std::string& room, const std::string& user, const std::string& kind,
             const std::string& value) {
  auto& st = self->state;
  auto frame = relay_frame(room, user, kind, value);
  if (!frame)
    return;
  auto want = [&](const member& m) { return m.user != user; };
  auto remote = remote_members(self, room, want);
  push_local(self, room, push_msg(room, *frame), want);
  for (const auto& [node, cs] : st.peers) {
    auto it = remote.find(node);
    if (it == remote.end())
      continue;
    self->send(cs, relay_atom::value, room, user, kind, value, it->second);
    ++st.stats->node_msgs_out;
  }
}


// -- local membership ---------------------------------------------------------

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
      st.peers[node] = c.who.actor;
      pull_from(self, node, c.who.actor);
    } else {
      st.view.remove(c.group, c.who.actor);
      abandon_batches_to(self, c.who.actor);
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

void bind_scope(self_ptr self) {
  auto scope = lookup(self->system(), registry_name::pg_scope);
  if (!scope) {
    self->delayed_send(self, std::chrono::milliseconds(100), tick_atom::value);
    return;
  }
  auto& st = self->state;
  st.scope = scope;
  self->monitor(scope);
  // After a scope restart our connections are still subscribed: join them again.
  for (const auto& [conn, rooms] : st.local)
    for (const auto& [room, _] : rooms)
      for (const auto& m : st.view.members(room_group(room)))
        if (m.actor == conn)
          self->send(scope, pg_join_atom::value, room_group(room), m);
  self->send(scope, pg_join_atom::value, chat_servers_group, member{self, st.cfg.node_name});
  self->request(scope, caf::infinite, pg_watch_atom::value, caf::actor{self})
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

void publish(self_ptr self, std::uint64_t seq, message& draft, const caf::actor& conn, bool may_publish) {
  auto& st = self->state;
  if (auto prev = st.store->find_retry(draft.room, draft.user, draft.client_id)) {
    if (st.unfinished->contains(prev->id))
      replicate(self, *prev, conn, seq); // its first attempt died with a chat server
    else
      answer(self, conn, seq, publish_result{prev->id, prev->ts, true, false});
    return;
  }
  if (!may_publish) {
    answer(self, conn, seq, publish_result{{}, 0, false, true});
    return;
  }
  draft.ts = st.clock.now();
  draft.id = st.ids->next(draft.ts);
  if (stored(self, st.store->insert(draft)) == room_history::insert_result::failed) {
    answer(self, conn, seq, publish_result{{}, 0, false, false, true});
    return;
  }
  st.unfinished->add(draft.id);
  ++st.stats->published;
#ifdef CHAT_FAULT_HOOKS
  if (st.crash_on_publish)
    throw std::runtime_error("chat server crash after storing a message, as requested");
#endif
  replicate(self, draft, conn, seq);
}

/// A peer's new message: stored, and delivered to the recipients the
/// originator chose. A connection that joined here so recently that the
/// originator cannot have known it yet is added, so that a subscriber never
/// misses a message between its history and its first live one.
std::optional<message> on_replicate(self_ptr self, const message& m, const std::vector<caf::actor>& recipients) {
  auto& st = self->state;
  st.clock.observe(m.ts);
  auto r = stored(self, st.store->insert(m));
  if (r == room_history::insert_result::failed)
    return std::nullopt;
  if (r != room_history::insert_result::added) {
    auto kept = st.store->find_retry(m.room, m.user, m.client_id);
    return kept ? *kept : m;
  }
  observe_lag(self, m);
  push_local(self, m.room, deliver_msg(m, protocol::message_frame(m)), [&](const member& mem) {
    return std::find(recipients.begin(), recipients.end(), mem.actor) != recipients.end()
           || recently_joined(self, mem.actor, m.room);
  });
  return m;
}

/// Forgets the history of rooms nobody in the cluster is in, least recently
/// used first, until at most max_rooms are held: rooms are user-made, so
/// without this a script could fill the node's memory with them.
void sweep_rooms(self_ptr self) {
  auto& st = self->state;
  auto count = st.store->room_count();
  if (count <= st.cfg.max_rooms)
    return;
  std::size_t evicted = 0;
  for (const auto& room : st.store->rooms_by_last_use()) {
    if (count - evicted <= st.cfg.max_rooms)
      break;
    if (!st.view.members(room_group(room)).empty())
      continue;
    st.store->evict(room);
    ++evicted;
  }
  st.stats->rooms_evicted += static_cast<std::int64_t>(evicted);
  spdlog::info("chat: {} room(s) held, over the bound of {}: forgot {} idle room(s)", count, st.cfg.max_rooms,
               evicted);
}
} // namespace

caf::behavior chat_server(caf::stateful_actor<chat_server_state>* self, chat_server_config cfg,
                          std::shared_ptr<history_store> store, std::shared_ptr<unfinished_publishes> unfinished,
                          std::shared_ptr<node_stats> stats) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.store = std::move(store);
  st.unfinished = std::move(unfinished);
  st.stats = std::move(stats);
  // A restarted chat server never hands out a timestamp below what it stored.
  st.clock.observe(st.store->max_ts());
  st.ids = std::make_unique<id_generator>(st.cfg.node_name, random_nonce());
  cluster::drop_strays(self);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  for (std::size_t i = 0; i < std::max<std::size_t>(1, st.cfg.fanout_shards); ++i)
    st.shards.push_back(self->spawn<caf::linked>(fanout_shard));
  bind_scope(self);
  self->delayed_send(self, st.cfg.sweep_interval, sweep_atom::value);
  return {
    [=](subscribe_atom, const std::vector<std::string>& rooms, const std::map<std::string, std::string>& since,
        const member& conn) -> caf::result<std::vector<room_snapshot>> {
      if (!from_this_node(self))
        return caf::sec::request_receiver_down;
      return subscribe(self, rooms, since, conn);
    },
    [=](unsubscribe_atom, const std::vector<std::string>& rooms, const caf::actor& conn) {
      if (from_this_node(self))
        for (const auto& room : rooms)
          local_leave(self, room, conn);
    },
    [=](publish_atom, std::uint64_t seq, message& draft, const caf::actor& conn, bool may_publish) {
      if (from_this_node(self) && conn)
        publish(self, seq, draft, conn, may_publish);
    },
    [=](typing_atom, const std::string& room, const std::string& user, bool start, const caf::actor&) {
      if (from_this_node(self))
        fan_out(self, room, user, "typing", start ? "start" : "stop");
    },
    [=](read_atom, const std::string& room, const std::string& user, const std::string& id, const caf::actor&) {
      if (from_this_node(self))
        fan_out(self, room, user, "read", id);
    },
    [=](replicate_atom, const message& m, const std::vector<caf::actor>& recipients) -> caf::result<message> {
      if (!from_peer(self) || !valid_from_peer(self, m)) {
        refuse(self, "replicate");
        return caf::sec::request_receiver_down;
      }
      ++self->state.stats->node_msgs_in;
      if (auto kept = on_replicate(self, m, recipients))
        return *kept;
      return caf::sec::runtime_error;
    },
    [=](replicate_batch_atom, std::uint64_t seq, const std::vector<replicate_item>& items) {
      auto& st = self->state;
      if (!from_peer(self)) {
        refuse(self, "replicate batch");
        return;
      }
      auto answer_to = caf::actor_cast<caf::actor>(self->current_sender());
      bool valid = !items.empty() && items.size() <= st.cfg.max_batch
                   && std::all_of(items.begin(), items.end(),
                                  [&](const replicate_item& it) { return valid_from_peer(self, it.msg); });
      std::vector<message> kept;
      if (valid) {
        ++st.stats->node_msgs_in;
        kept.reserve(items.size());
        for (const auto& it : items) {
          auto one = on_replicate(self, it.msg, it.recipients);
          if (!one) { // not stored here: confirm none of them
            kept.clear();
            break;
          }
          kept.push_back(std::move(*one));
        }
      } else {
        refuse(self, "replicate batch");
      }
      // An empty answer refuses the batch at once, so no one waits for it.
      // A confirmation means stored here: with --fsync, synced too.
      after_sync(self, [self, answer_to, seq, kept = std::move(kept)](bool ok) mutable {
        self->send(answer_to, replicated_atom::value, seq, ok ? std::move(kept) : std::vector<message>{});
      });
    },
    [=](sync_atom) {
      if (self->current_sender().get() == self->ctrl())
        start_sync(self);
    },
    [=](synced_atom, std::uint64_t n, bool ok, local_proof) { on_synced(self, n, ok); },
    [=](replicated_atom, std::uint64_t seq, const std::vector<message>& kept) {
      on_batch_answer(self, seq, kept);
    },
    [=](expire_atom) {
      if (self->current_sender().get() == self->ctrl())
        expire_batches(self);
    },
    [=](send_batches_atom) {
      auto& st = self->state;
      if (self->current_sender().get() != self->ctrl())
        return;
      st.batches_scheduled = false;
      while (!st.outbox.empty())
        send_batch(self, st.outbox.begin()->first);
    },
    [=](relay_atom, const std::string& room, const std::string& user, const std::string& kind,
        const std::string& value, const std::vector<caf::actor>& recipients) {
      auto frame = relay_frame(room, user, kind, value);
      if (!from_peer(self) || !frame) {
        refuse(self, "relay");
        return;
      }
      ++self->state.stats->node_msgs_in;
      push_local(self, room, push_msg(room, *frame), [&](const member& mem) {
        return std::find(recipients.begin(), recipients.end(), mem.actor) != recipients.end();
      });
    },
    [=](pull_atom, const room_marks& theirs, const std::string& from_room,
        const std::string& after_id) -> caf::result<pull_page> {
      if (!from_peer(self)) {
        refuse(self, "pull");
        return caf::sec::request_receiver_down;
      }
      return serve_pull(self, theirs, from_room, after_id);
    },
    [=](pg_changes_atom, const cluster::changes& cs) {
      if (!from_this_node(self))
        return;
      for (const auto& c : cs)
        if (!is_local(self, c.who.actor))
          remote_change(self, c);
    },
    [=](node_up_atom, const caf::node_id& node) {
      if (from_this_node(self))
        self->state.peer_nodes.insert(node);
    },
    [=](node_down_atom, const caf::node_id& node) {
      if (!from_this_node(self))
        return;
      self->state.peer_nodes.erase(node);
      abandon_batches_to(self, node);
      peer_lost(self, node);
      self->state.awaiting_pull.erase(node);
      check_ready(self);
    },
    [=](resolved_atom, const std::vector<caf::node_id>& reached) {
      if (!from_this_node(self))
        return;
      auto& st = self->state;
      for (const auto& n : reached)
        if (!st.pulled.count(n))
          st.awaiting_pull.insert(n);
      check_ready(self);
      self->delayed_send(self, st.cfg.ready_timeout, resolved_atom::value);
    },
    [=](resolved_atom) {
      if (!self->state.stats->ready) {
        spdlog::warn("chat: peers' history not pulled in time, serving anyway");
        self->state.awaiting_pull.clear();
        check_ready(self);
      }
    },
    [=](tick_atom) {
      if (!self->state.scope)
        bind_scope(self);
    },
    [=](sweep_atom) {
      auto& st = self->state;
      st.store->recover();
      st.stats->store_writable = st.store->writable();
      sweep_rooms(self);
      // A sender that has not retried in this long is gone (clients retry
      // within seconds); its message was pulled by the peers meanwhile.
      self->state.unfinished->forget_older_than(std::chrono::minutes(10));
      self->delayed_send(self, self->state.cfg.sweep_interval, sweep_atom::value);
    },
    [=](health_atom) { return health_atom::value; },
#ifdef CHAT_FAULT_HOOKS
    [=](crash_atom, local_proof) -> caf::result<void> { throw std::runtime_error("chat server crash requested"); },
    [=](crash_on_publish_atom, local_proof) { self->state.crash_on_publish = true; },
#endif
  };
}

} // namespace chat
