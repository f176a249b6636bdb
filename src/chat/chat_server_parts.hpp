#pragma once

// What the chat server's parts share: chat_server.cpp (the actor, publish,
// room sweeps), membership.cpp (who is in which room, presence, the group
// scope), relay.cpp (typing and read receipts), replication.cpp (storing each
// new message on the other nodes) and history_sync.cpp (catch-up and
// readiness). The actor's type, the checks on what peers send, and the local
// fan-out.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "chat/chat_server.hpp"
#include "chat/messages.hpp"

namespace chat::detail {

using self_ptr = chat_server_self*;

/// The chat server as a plain handle: what group memberships and the
/// messages to peers carry.
inline caf::actor me(self_ptr self) { return caf::actor_cast<caf::actor>(self); }
using steady = std::chrono::steady_clock;
using cluster::member;

bool is_local(self_ptr self, const caf::actor& a);

/// The recipients a peer named for a message, as a set of this node's actor
/// ids: a room's local members are checked against it one by one (a search
/// of the list per member was quadratic in a big room).
class recipient_ids {
public:
  recipient_ids(self_ptr self, const std::vector<caf::actor>& recipients);
  bool contains(const caf::actor& a) const;

private:
  std::vector<caf::actor_id> ids_; ///< sorted
};

/// Replication is taken only from nodes our scope knows as peers: anything
/// else did not come through the cluster's own discovery.
bool from_peer(self_ptr self);

/// Logs a refused peer message, at most once a second with a count: a
/// misbehaving peer must not be able to flood the log.
void refuse(self_ptr self, const char* what);

/// What a peer replicates must be a message this protocol could have made.
bool valid_from_peer(self_ptr self, const message& m);

/// Passes a store insert's result on, noting in the node's stats whether the
/// store takes writes (/readyz, /metrics).
room_history::insert_result stored(self_ptr self, room_history::insert_result r);

/// Runs `fn` once what the store wrote so far survives a power cut (with
/// --fsync; at once otherwise), with whether it does.
void after_sync(self_ptr self, std::function<void(bool)> fn);

caf::message deliver_msg(const message& m, const std::string& frame);

/// A live message reaches this node's connections now: its delivery lag.
void observe_lag(self_ptr self, const message& m);
caf::message push_msg(const std::string& room, const std::string& frame);

/// Publishes are plain messages answered by plain messages, not CAF
/// requests: a request's timeout costs a clock-thread wake-up and a timeout
/// message later even when answered. A connection learns of a chat server
/// that died with its publish through its monitor.
void answer(self_ptr self, const caf::actor& conn, std::uint64_t seq, const publish_result& r);

/// What one fan-out shard gets of a fan-out: the sinks of the connections
/// whose sink is known here, and the other connections' actors.
struct shard_batch {
  std::vector<caf::actor> actors;
  std::vector<sink_ptr> sinks;
  void add(self_ptr self, const caf::actor& conn);
};

/// The fan-out shard that carries everything the chat server sends `conn`
/// by shard: always the same one, so those frames keep their order.
std::size_t shard_of(self_ptr self, const caf::actor& conn);

/// Hands `msg` to a batch of shard `i`'s connections: through the shard,
/// or at once here when the batch is small and the shard holds nothing
/// (so that it overtakes nothing sent to those connections before).
void hand_over(self_ptr self, std::size_t i, shard_batch&& b, const caf::message& msg);

/// Sends `msg` (a frame for one connection) through its shard.
void send_through_shard(self_ptr self, const caf::actor& conn, const caf::message& msg);

/// Sends `msg` through `conn`'s shard to its `sink`, known to the caller.
void to_sink(self_ptr self, const caf::actor& conn, sink_ptr sink, const caf::message& msg);

/// The answer to a subscribe: its rooms' frames go through the connection's
/// shard, ahead of the rooms' messages sent after it the same way; the
/// connection itself learns only that it was answered. Without a known sink,
/// all of it goes to the connection.
void answer_subscribe(self_ptr self, const caf::actor& conn, std::uint64_t seq, std::vector<room_snapshot> snaps);

/// Hands one shared frame to the local members of a room that `want` picks,
/// by fan-out shard: one message per shard, not per recipient (or none,
/// see hand_over).
template <class Pred>
void push_local(self_ptr self, const std::string& room, const caf::message& msg, Pred want) {
  auto& st = self->state;
  std::vector<shard_batch> to(st.shards.size());
  std::int64_t n = 0;
  for (const auto& m : st.rooms.local(room)) {
    if (want(m)) {
      to[shard_of(self, m.actor)].add(self, m.actor);
      ++n;
    }
  }
  for (std::size_t i = 0; i < to.size(); ++i)
    if (!to[i].actors.empty() || !to[i].sinks.empty())
      hand_over(self, i, std::move(to[i]), msg);
  st.stats->deliveries += n;
}

/// Each other node's members of a room that `want` picks, by node.
template <class Pred>
std::map<caf::node_id, std::vector<caf::actor>> remote_members(self_ptr self, const std::string& room, Pred want) {
  std::map<caf::node_id, std::vector<caf::actor>> remote;
  for (const auto& [node, members] : self->state.rooms.remote(room)) {
    std::vector<caf::actor> picked;
    picked.reserve(members.size());
    for (const auto& mem : members)
      if (want(mem))
        picked.push_back(mem.actor);
    if (!picked.empty())
      remote.emplace_hint(remote.end(), node, std::move(picked));
  }
  return remote;
}

} // namespace chat::detail
