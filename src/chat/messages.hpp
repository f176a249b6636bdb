#pragma once

// The messages of the chat layer (chat server, connections, history reader,
// and what the HTTP side sends them), registered with the actor system by
// add_message_types(); the cluster layer's are in cluster/messages.hpp.

#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "chat/frame_sink.hpp"
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

// chat server -> connection: the answer to its publish, subscribe with that
// number, and to its inbox request
using published_atom = caf::atom_constant<caf::atom("c_publd")>;
using subscribed_atom = caf::atom_constant<caf::atom("c_subd")>;
using inboxed_atom = caf::atom_constant<caf::atom("c_inboxed")>;
// chat server -> connection: a frame for it whatever rooms it holds (inbox
// updates, an error for a request that went to the chat server)
using notify_atom = caf::atom_constant<caf::atom("c_notify")>;

// chat server -> its fan-out shards
using fanout_atom = caf::atom_constant<caf::atom("cs_fanout")>;

// connection -> chat server
using subscribe_atom = caf::atom_constant<caf::atom("cs_sub")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("cs_unsub")>;
using publish_atom = caf::atom_constant<caf::atom("cs_pub")>;
using typing_atom = caf::atom_constant<caf::atom("cs_typing")>;
using read_atom = caf::atom_constant<caf::atom("cs_read")>;
using inbox_atom = caf::atom_constant<caf::atom("cs_inbox")>;

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
using read_mark_atom = caf::atom_constant<caf::atom("cs_mark")>;
using read_marks_atom = caf::atom_constant<caf::atom("cs_marks")>;

// the HTTP side -> profile store: a profile this node wrote, to replicate
using profile_put_atom = caf::atom_constant<caf::atom("ps_put")>;
// profile store <-> profile store
using profile_merge_atom = caf::atom_constant<caf::atom("ps_merge")>;
using profile_pull_atom = caf::atom_constant<caf::atom("ps_pull")>;

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
constexpr caf::atom_value profile_store = caf::atom("profiles");
} // namespace registry_name

/// Group names.
inline const std::string room_group_prefix = "room:";
inline std::string room_group(const std::string& room) { return room_group_prefix + room; }
/// The room whose group `group` is; empty for the groups that are not rooms'.
inline std::string room_of(const std::string& group) {
  return group.rfind(room_group_prefix, 0) == 0 ? group.substr(room_group_prefix.size()) : std::string{};
}
/// Groups whose names say who writes to whom (DM rooms): in no public view
/// (/api/cluster, /metrics).
bool private_group(const std::string& group);
/// Every profile store joins it: how they find each other.
inline const std::string profile_stores_group = "profile_stores";
/// Every chat server joins it under its node's name: the node monitor names
/// peers by it.
inline const std::string chat_servers_group = "chat_servers";

/// The groups a peer may name: "chat_servers", "profile_stores" or
/// "room:NAME" with a valid room name (the scope's group rule).
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
  /// The chat server handed the ack to the connection's sink itself, with
  /// the message's local deliveries: the connection only keeps count.
  bool ack_sent = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_result& x) {
  return f(x.id, x.ts, x.duplicate, x.refused, x.failed, x.ack_sent);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scrollback& x) {
  return f(x.found, x.messages, x.more);
}

/// The chat server: what this node's connections, HTTP side and scope, the
/// discovery actor and the other nodes' chat servers may send it
/// (chat/chat_server.cpp checks who actually sent each).
using chat_server_base = pg_watcher_actor::extend<
  // connections
  caf::reacts_to<subscribe_atom, std::uint64_t, std::vector<std::string>, std::map<std::string, std::string>,
                 cluster::member>,
  caf::reacts_to<unsubscribe_atom, std::vector<std::string>, caf::actor>,
  caf::reacts_to<publish_atom, std::uint64_t, message, caf::actor, bool>,
  caf::reacts_to<typing_atom, std::string, std::string, bool>,
  caf::reacts_to<read_atom, std::string, std::string, std::string, caf::actor>,
  caf::reacts_to<inbox_atom, cluster::member, std::weak_ptr<frame_sink>>,
  // the other nodes' chat servers
  caf::reacts_to<replicate_atom, message, std::vector<caf::actor>>,
  caf::reacts_to<replicate_batch_atom, std::uint64_t, std::vector<replicate_item>>,
  caf::reacts_to<replicated_atom, std::uint64_t, std::vector<message>>,
  caf::reacts_to<relay_atom, std::string, std::string, std::string, std::string, std::vector<caf::actor>>,
  caf::replies_to<pull_atom, room_marks, std::string, std::string>::with<pull_page>,
  caf::reacts_to<read_mark_atom, read_mark>,
  caf::replies_to<read_marks_atom, std::string, std::string>::with<std::vector<read_mark>>,
  // discovery, once its first round is over
  caf::reacts_to<resolved_atom, std::vector<caf::node_id>>,
  // /healthz
  caf::replies_to<health_atom>::with<health_atom>,
  // itself: timers and the store's fsync
  caf::reacts_to<resolved_atom>, caf::reacts_to<tick_atom>, caf::reacts_to<sweep_atom>, caf::reacts_to<sync_atom>,
  caf::reacts_to<synced_atom, std::uint64_t, bool, local_proof>, caf::reacts_to<expire_atom>,
  caf::reacts_to<send_batches_atom>>;

/// A connection actor: what its session, the chat server and the fan-out
/// shards send it.
using connection_base = caf::typed_actor<
  // its session (local_proof: nobody else can)
  caf::reacts_to<frame_atom, protocol::frame_ptr, local_proof>, caf::reacts_to<closed_atom, local_proof>,
  // the chat server, directly or through a fan-out shard
  caf::reacts_to<deliver_atom, std::string, std::string, protocol::frame_ptr>,
  caf::reacts_to<push_atom, std::string, protocol::frame_ptr>,
  caf::reacts_to<published_atom, std::uint64_t, publish_result>,
  caf::reacts_to<subscribed_atom, std::uint64_t, std::vector<room_snapshot>>,
  caf::reacts_to<inboxed_atom, protocol::frame_ptr>, caf::reacts_to<notify_atom, protocol::frame_ptr>>;

/// The profile store: what this node's HTTP side and the other nodes'
/// profile stores send it, and the scope's notices.
using profile_store_actor = pg_watcher_actor::extend<
  caf::reacts_to<profile_put_atom, profile, local_proof>, caf::reacts_to<profile_merge_atom, profile>,
  caf::replies_to<profile_pull_atom, std::string>::with<std::vector<profile>>, caf::reacts_to<tick_atom>>;

/// The sinks of this node's connections, as the fan-out shards get them.
using sink_ptr = std::shared_ptr<frame_sink>;

/// A fan-out shard: hands one prebuilt message (deliver, push, notify or a
/// subscribe's answer) to each sink in the list, and sends it to each
/// connection actor in the list (those whose sink the chat server does not
/// know). The message is a caf::message built once for all recipients.
using fanout_shard_actor =
  caf::typed_actor<caf::reacts_to<fanout_atom, std::vector<caf::actor>, std::vector<sink_ptr>, caf::message>>;

// The test-only fault hooks are part of the interfaces in test builds only.
#ifdef CHAT_FAULT_HOOKS
using chat_server_actor =
  chat_server_base::extend<caf::reacts_to<crash_atom, local_proof>, caf::reacts_to<crash_on_publish_atom, local_proof>>;
using connection_actor = connection_base::extend<caf::reacts_to<crash_atom, local_proof>>;
#else
using chat_server_actor = chat_server_base;
using connection_actor = connection_base;
#endif

/// Registers the chat layer's message types and the cluster layer's.
void add_message_types(caf::actor_system_config& cfg);

} // namespace chat

// A shared frame buffer only ever travels between actors of one node (across
// nodes the frame goes as a string, once per node), so it needs no serializer.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chat::protocol::frame_ptr)
// A connection's sink, handed to its node's chat server and fan-out shards:
// local only, like the frame buffers.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::weak_ptr<chat::frame_sink>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<chat::sink_ptr>)
