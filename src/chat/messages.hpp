#pragma once

// The messages of the chat layer (chat server, connections, history reader,
// and what the HTTP side sends them), registered with the actor system by
// add_message_types(); the cluster layer's are in cluster/messages.hpp.

#include <string>
#include <vector>

#include <caf/all.hpp>

#include "chat/history_store.hpp"
#include "cluster/messages.hpp"
#include "cluster/sender_checks.hpp"
#include "protocol/frames.hpp"
#include "protocol/message.hpp"

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

// supervision and tests
using crash_atom = caf::atom_constant<caf::atom("crash")>;
/// The chat server dies right after storing the next new message, before
/// replicating or delivering it.
using crash_on_publish_atom = caf::atom_constant<caf::atom("crashpub")>;

// /healthz -> chat server: answered with itself, proving the actor runs
using health_atom = caf::atom_constant<caf::atom("health")>;

/// Registry names of the chat layer's supervised actors.
namespace registry_name {
constexpr caf::atom_value chat_server = caf::atom("chatserver");
constexpr caf::atom_value history_reader = caf::atom("histreader");
} // namespace registry_name

/// Group names.
inline const std::string room_group_prefix = "room:";
inline std::string room_group(const std::string& room) { return room_group_prefix + room; }
/// The room whose group `group` is; empty for the groups that are not rooms'.
inline std::string room_of(const std::string& group) {
  return group.rfind(room_group_prefix, 0) == 0 ? group.substr(room_group_prefix.size()) : std::string{};
}
/// Every chat server joins it under its node's name: the node monitor names
/// peers by it.
inline const std::string chat_servers_group = "chat_servers";

/// The groups a peer may name: "chat_servers", or "room:NAME" with a valid
/// room name (the scope's group rule).
bool valid_group(const std::string& group);

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

/// Registers the chat layer's message types and the cluster layer's.
void add_message_types(caf::actor_system_config& cfg);

} // namespace chat

// A shared frame buffer only ever travels between actors of one node (across
// nodes the frame goes as a string, once per node), so it needs no serializer.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chat::protocol::frame_ptr)
