#pragma once

// Every message type and atom the actors exchange, declared in one place and
// registered with the actor system by add_message_types().

#include <string>
#include <vector>

#include <caf/all.hpp>

#include "chat/history_store.hpp"
#include "chat/message.hpp"
#include "cluster/group_view.hpp"
#include "cluster/member.hpp"
#include "cluster/pg_state.hpp"
#include "protocol/frames.hpp"

namespace chat {

// CAF 0.17 atoms: at most 10 characters.

// session -> connection (each carries a local_proof: peers cannot send them)
using frame_atom = caf::atom_constant<caf::atom("c_frame")>;
using closed_atom = caf::atom_constant<caf::atom("c_closed")>;

// anyone -> connection
using deliver_atom = caf::atom_constant<caf::atom("c_deliver")>;
using push_atom = caf::atom_constant<caf::atom("c_push")>;

// chat server -> connection: the answer to its publish with that number
using published_atom = caf::atom_constant<caf::atom("c_publd")>;

// chat server -> its fan-out shards
using fanout_atom = caf::atom_constant<caf::atom("cs_fanout")>;

// connection -> chat server
using subscribe_atom = caf::atom_constant<caf::atom("cs_sub")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("cs_unsub")>;
using publish_atom = caf::atom_constant<caf::atom("cs_pub")>;
using typing_atom = caf::atom_constant<caf::atom("cs_typing")>;
using read_atom = caf::atom_constant<caf::atom("cs_read")>;

// connection -> history reader: scrollback
using history_atom = caf::atom_constant<caf::atom("hr_before")>;
// chat server -> history reader: what this node holds (for its pulls), and a
// page of a peer's pull (scans of the whole store stay off the chat server)
using marks_atom = caf::atom_constant<caf::atom("hr_marks")>;

// chat server <-> chat server
using replicate_atom = caf::atom_constant<caf::atom("cs_repl")>;
using replicate_batch_atom = caf::atom_constant<caf::atom("cs_repls")>;
using replicated_atom = caf::atom_constant<caf::atom("cs_repld")>;
using relay_atom = caf::atom_constant<caf::atom("cs_relay")>;
using pull_atom = caf::atom_constant<caf::atom("cs_pull")>;

// chat server -> itself
using sweep_atom = caf::atom_constant<caf::atom("cs_sweep")>;
using send_batches_atom = caf::atom_constant<caf::atom("cs_sendb")>;
using expire_atom = caf::atom_constant<caf::atom("cs_expire")>;
using sync_atom = caf::atom_constant<caf::atom("cs_sync")>;
using synced_atom = caf::atom_constant<caf::atom("cs_synced")>;

// process-group scope, local API
using pg_join_atom = caf::atom_constant<caf::atom("pg_join")>;
using pg_leave_atom = caf::atom_constant<caf::atom("pg_leave")>;
using pg_watch_atom = caf::atom_constant<caf::atom("pg_watch")>;
using pg_changes_atom = caf::atom_constant<caf::atom("pg_changes")>;
using pg_peer_atom = caf::atom_constant<caf::atom("pg_peer")>;

// process-group scope <-> peer scope (the pg.erl protocol)
using pg_discover_atom = caf::atom_constant<caf::atom("pg_disc")>;
using pg_sync_atom = caf::atom_constant<caf::atom("pg_sync")>;
using pg_rjoin_atom = caf::atom_constant<caf::atom("pg_rjoin")>;
using pg_rleave_atom = caf::atom_constant<caf::atom("pg_rleave")>;

// node monitor and discovery
using node_up_atom = caf::atom_constant<caf::atom("node_up")>;
using node_down_atom = caf::atom_constant<caf::atom("node_down")>;
using peer_addr_atom = caf::atom_constant<caf::atom("peer_addr")>;
using resolved_atom = caf::atom_constant<caf::atom("resolved")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using flush_atom = caf::atom_constant<caf::atom("nm_flush")>;

// supervision and tests
using crash_atom = caf::atom_constant<caf::atom("crash")>;
/// The chat server dies right after storing the next new message, before
/// replicating or delivering it.
using crash_on_publish_atom = caf::atom_constant<caf::atom("crashpub")>;

// /healthz -> chat server: answered with itself, proving the actor runs
using health_atom = caf::atom_constant<caf::atom("health")>;

/// Carried by every message that only this process may send (a session's
/// frames, fault hooks). It has no serializer, so no peer node can build a
/// message that holds one: such a message from the network never matches.
struct local_proof {};

/// Registry names of a node's supervised actors (CAF atoms: 10 characters).
namespace registry_name {
constexpr caf::atom_value pg_scope = caf::atom("pg_scope");
constexpr caf::atom_value chat_server = caf::atom("chatserver");
constexpr caf::atom_value node_monitor = caf::atom("nodemon");
constexpr caf::atom_value discovery = caf::atom("discovery");
constexpr caf::atom_value history_reader = caf::atom("histreader");
} // namespace registry_name

/// The actor registered under `name` now, or an invalid handle.
inline caf::actor lookup(caf::actor_system& sys, caf::atom_value name) {
  return caf::actor_cast<caf::actor>(sys.registry().get(name));
}

/// Group names.
inline const std::string room_group_prefix = "room:";
inline std::string room_group(const std::string& room) { return room_group_prefix + room; }
/// The room whose group `group` is; empty for the groups that are not rooms'.
inline std::string room_of(const std::string& group) {
  return group.rfind(room_group_prefix, 0) == 0 ? group.substr(room_group_prefix.size()) : std::string{};
}
inline const std::string chat_servers_group = "chat_servers";

/// What a subscriber gets per room.
struct room_snapshot {
  std::string room;
  std::vector<std::string> members;
  std::vector<message> messages;
  bool gap = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, room_snapshot& x) {
  return f(x.room, x.members, x.messages, x.gap);
}

/// One new message for a peer's chat server and exactly the recipients it
/// has there; peers get these in batches (replicate_batch_atom).
struct replicate_item {
  message msg;
  std::vector<caf::actor> recipients;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replicate_item& x) {
  return f(x.msg, x.recipients);
}

/// The chat server's answer to a publish.
struct publish_result {
  std::string id;
  std::int64_t ts = 0;
  bool duplicate = false; ///< a retry: acked with the original id, not delivered again
  bool refused = false;   ///< new message but the sender had no rate budget left
  bool failed = false;    ///< not stored (the disk): not acked, the client retries
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_result& x) {
  return f(x.id, x.ts, x.duplicate, x.refused, x.failed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scrollback& x) {
  return f(x.found, x.messages, x.more);
}

void add_message_types(caf::actor_system_config& cfg);

} // namespace chat

namespace chat::cluster {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change& x) {
  return f(x.group, x.who, x.joined);
}

} // namespace chat::cluster

// A shared frame buffer only ever travels between actors of one node (across
// nodes the frame goes as a string, once per node), so it needs no serializer.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chat::protocol::frame_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chat::local_proof)
