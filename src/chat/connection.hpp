#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "base/node_stats.hpp"
#include "chat/frame_sink.hpp"
#include "chat/messages.hpp"
#include "chat/request_budget.hpp"
#include "chat/token_bucket.hpp"
#include "protocol/frames.hpp"
#include "protocol/wire.hpp"

namespace chat {

/// What a connection keeps for its whole life. Each byte here is paid by
/// every idle connection.
struct connection_settings {
  std::string user;
  /// From the token, when it names rooms. A pointer: most connections have
  /// none, and an empty optional set took 56 bytes in every one.
  std::shared_ptr<const std::set<std::string>> allowed_rooms;
  protocol::limits_info limits;
  std::size_t seen_per_room = 200;
};

/// What a connection starts with: its settings, and what its welcome and
/// first subscribe need.
struct connection_config : connection_settings {
  std::string node;
  std::string session;
  std::vector<std::string> rooms; ///< subscribed at connect
};

/// A publish sent to the chat server and not answered yet.
struct publish_in_flight {
  std::string room;
  std::optional<std::string> client_id;
  bool may_publish = false;                      ///< it took a token from the bucket
  caf::actor_addr server;                        ///< the chat server that has it
  std::chrono::steady_clock::time_point started; ///< for chat_publish_ack_seconds
};

/// A subscribe sent to the chat server and not answered yet.
struct subscribe_in_flight {
  std::vector<std::string> rooms;
  nlohmann::json ref; ///< for the error when it fails
  caf::actor_addr server;
};

struct connection_state {
  connection_settings cfg;
  std::weak_ptr<frame_sink> sink;
  std::shared_ptr<node_stats> stats;
  std::optional<token_bucket> bucket; ///< publishes
  /// Every other frame type that costs work. Made with the first such frame
  /// (full, as it would have refilled by then): 200 bytes an idle
  /// connection does not need.
  std::unique_ptr<request_budget> budget;
  /// Publishes by number, until the chat server answers or goes down.
  std::map<std::uint64_t, publish_in_flight> publishing;
  std::map<std::uint64_t, subscribe_in_flight> subscribing;
  caf::actor_addr inbox_from; ///< the chat server asked for the inbox, until it answers
  std::uint64_t next_publish = 1;
  std::uint64_t next_subscribe = 1;
  /// The chat server monitored while anything asked of it is unanswered:
  /// it answers each unless it dies first. Not longer, since every monitor
  /// is kept by the chat server, for each idle connection.
  caf::actor_addr watched;
  static inline const char* name = "connection";
};

/// One actor per WebSocket connection: parses the client's frames, keeps its
/// rate budget, decides which rooms its sink holds (the sink keeps them, so
/// the fan-out can hand it a room's frames directly), and forwards the
/// answers of the chat server.
/// Its interface is connection_actor (chat/messages.hpp).
connection_actor::behavior_type connection(connection_actor::stateful_pointer<connection_state> self,
                                           connection_config cfg, std::weak_ptr<frame_sink> sink,
                                           std::shared_ptr<node_stats> stats);

} // namespace chat
