#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <caf/io/typed_broker.hpp>

#include "base/node_stats.hpp"
#include "chat/clock.hpp"
#include "chat/fanout_shard.hpp"
#include "chat/history_store.hpp"
#include "chat/local_connections.hpp"
#include "chat/messages.hpp"
#include "chat/room_members.hpp"
#include "chat/unfinished_publishes.hpp"

namespace chat {

struct chat_server_config {
  std::string node_name;
  /// How long after a local join a connection may still be unknown to a
  /// message's originating node (the join is on its way there).
  std::chrono::milliseconds join_settle{5000};
  /// Longest wait for peers' history before the node reports ready anyway.
  std::chrono::milliseconds ready_timeout{10000};
  /// Longest wait for a peer to confirm a replicated message before the ack
  /// goes out without it (about the time a silent peer is declared down).
  std::chrono::milliseconds replicate_timeout{4000};
  /// Actors that share the local fan-out (about one per scheduler thread).
  std::size_t fanout_shards = 2;
  /// Longest message text a peer may replicate, in bytes (4 per code point).
  std::size_t max_text_bytes = 4 * 4000;
  /// How far ahead of this node's clock a peer's timestamp may be: beyond
  /// it, one message would drag every later timestamp into the future.
  std::chrono::microseconds max_clock_skew{std::chrono::seconds(60)};
  /// Rooms whose history is held in memory; beyond, rooms nobody is in are
  /// forgotten here, least recently used first, every sweep_interval.
  std::size_t max_rooms = 10000;
  std::chrono::milliseconds sweep_interval{5000};
  /// Most messages in one answer to a peer's pull.
  std::size_t pull_page = 2000;
  /// Most messages in one replicate batch, sent or accepted.
  std::size_t max_batch = 1024;
  /// How often unanswered batches are looked at (the replicate timeout's
  /// resolution).
  std::chrono::milliseconds expiry_check{250};
  /// Most bytes of replicates one peer may leave unanswered; beyond it, or
  /// when a batch goes unanswered for replicate_timeout while the peer is
  /// still connected, the peer is dropped (drop_peer), since CAF would
  /// otherwise buffer for it without bound.
  std::size_t peer_backlog_bytes = std::size_t{64} << 20;
  /// Closes the connection to a node; CAF then reports it down.
  std::function<void(caf::actor_system&, const caf::node_id&)> drop_peer;
};

/// A published message waiting for its first peer to confirm it stored it.
struct pending_publish {
  message msg;
  std::string frame;
  caf::actor sender;
  std::uint64_t seq = 0; ///< the sender's number for it, in the answer
  std::size_t unanswered = 0;
  bool acked = false;
  bool starts_conversation = false; ///< its DM room held nothing here before
  /// Acked once both hold: a peer confirmed (or none can), and the local
  /// copy is synced (always, without --fsync).
  bool confirmed = false;
  bool synced = true;
  /// A peer's different copy of the same retry, acked and delivered instead
  /// of msg (see on_replicated); empty id: msg itself.
  message kept;
  std::string kept_frame;
};

/// What one peer's chat server gets in its next batch, and who waits for
/// each item's confirmation (same index).
struct replicate_batch {
  std::vector<replicate_item> items;
  std::vector<std::shared_ptr<pending_publish>> waiting;
  chat_server_actor to; ///< the peer chat server, the only one whose answer counts
  std::chrono::steady_clock::time_point sent;
  std::chrono::steady_clock::time_point deadline;
  std::size_t bytes = 0; ///< about what the items take on the wire
};

struct chat_server_state {
  chat_server_config cfg;
  std::shared_ptr<history_store> store;
  std::shared_ptr<unfinished_publishes> unfinished;
  std::shared_ptr<node_stats> stats;
  hlc clock;
  std::unique_ptr<id_generator> ids;

  pg_scope_actor scope;
  /// Who is in which room: the scope's notices for other nodes' members;
  /// this node's connections as they join through us (this node is the only
  /// authority for them, so they are not taken from notices).
  room_members rooms;
  /// This node's connections: by user (who gets a user's inbox_update
  /// frames), and their sinks (where local deliveries go).
  std::shared_ptr<local_connections> connections;
  /// Local deliveries go through these; a connection always through the
  /// same one, so that it gets frames in the order they were sent.
  struct shard {
    fanout_shard_actor actor;
    std::shared_ptr<shard_progress> done;
    std::uint64_t sent = 0;
    /// Nothing sent to it is left to do.
    bool idle() const { return done->load(std::memory_order_acquire) == sent; }
  };
  std::vector<shard> shards;
  /// The chat server of every other node.
  std::map<caf::node_id, chat_server_actor> peers;
  /// Replicates not sent yet, by peer chat server: all that one mailbox
  /// drain produced goes as one request per peer, confirmed by one answer.
  std::map<chat_server_actor, replicate_batch> outbox;
  bool batches_scheduled = false;
  /// Sent batches by sequence number, so in the order sent and by deadline.
  /// They go as plain messages answered by plain messages, not as CAF
  /// requests: CAF 0.17 hands each request timeout to its clock thread (a
  /// wake-up) and delivers it later even when answered (another one), and an
  /// unanswered request without a timeout is never forgotten. One check
  /// every expiry_check expires them instead.
  std::map<std::uint64_t, replicate_batch> in_flight;
  std::uint64_t next_batch = 1;
  bool expiry_scheduled = false;
  /// Bytes of sent batches each peer has not answered yet.
  std::map<caf::node_id, std::size_t> unanswered_bytes;
  /// Peers being dropped, and when we asked: asked again only if the node
  /// is still up a replicate timeout later.
  std::map<caf::node_id, std::chrono::steady_clock::time_point> dropping;
  /// Nodes whose scope is a peer of ours. A peer's chat server may ask us
  /// before its join reached us; its node is known by then, because our
  /// scope registers a peer before telling it our members.
  std::set<caf::node_id> peer_nodes;

  /// --fsync: what waits for the store's next fsync, requested once per
  /// mailbox drain, and what waits for the fsync running, by its number.
  std::vector<std::function<void(bool)>> sync_waiting;
  bool sync_scheduled = false;
  std::uint64_t next_sync = 1;
  std::map<std::uint64_t, std::vector<std::function<void(bool)>>> syncing;

  /// Readiness: nodes reached by discovery's first round whose history is not pulled yet.
  std::set<caf::node_id> awaiting_pull;
  std::set<caf::node_id> pulled;

  /// Refused peer messages not yet logged (the log is rate-limited).
  std::int64_t refused_since_log = 0;
  std::chrono::steady_clock::time_point last_refusal_log;

#ifdef CHAT_FAULT_HOOKS
  bool crash_on_publish = false;
#endif

  static inline const char* name = "chat_server";
};

namespace detail {
template <class Handle>
struct broker_of;
template <class... Sigs>
struct broker_of<caf::typed_actor<Sigs...>> {
  using type = caf::io::typed_broker<Sigs...>;
};
} // namespace detail

/// The chat server is a broker without connections: CAF runs a broker on
/// its multiplexer, the thread that reads and writes the cluster sockets,
/// so a peer's replicate is read, stored, delivered and confirmed on the
/// thread that received it, with no hand-off to a scheduler thread and
/// back (docs/architecture.md, "Threads"). Its interface is still
/// chat_server_actor (chat/messages.hpp).
class chat_server_self final
  : public caf::stateful_actor<chat_server_state, detail::broker_of<chat_server_actor>::type> {
public:
  using stateful_actor::stateful_actor;

  /// CAF 0.17's brokers skip scheduled_actor's cleanup, which closes the
  /// mailbox and drops what is left in it (bouncing requests): a stopped
  /// chat server would keep every message that reached it after it stopped,
  /// and with them the connections they name (a publish carries its
  /// connection's handle), which hold the chat server in turn: a cycle
  /// that never frees (LeakSanitizer found it after a chat server crash).
  /// This broker has no connections for the broker's own cleanup to close.
  bool cleanup(caf::error&& reason, caf::execution_unit* host) override {
    return caf::scheduled_actor::cleanup(std::move(reason), host);
  }
};

/// The chat server of one node: rooms, history, presence and fan-out.
/// See docs/architecture.md for the message flow. Spawned with
/// caf::io::middleman::spawn_broker.
chat_server_actor::behavior_type chat_server(chat_server_self* self, chat_server_config cfg,
                                             std::shared_ptr<history_store> store,
                                             std::shared_ptr<unfinished_publishes> unfinished,
                                             std::shared_ptr<local_connections> connections,
                                             std::shared_ptr<node_stats> stats);

} // namespace chat
