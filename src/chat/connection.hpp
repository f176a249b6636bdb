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
#include "chat/seen_ids.hpp"
#include "chat/token_bucket.hpp"
#include "protocol/frames.hpp"
#include "protocol/wire.hpp"

namespace chat {

struct connection_config {
  std::string node;
  std::string session;
  std::string user;
  std::vector<std::string> rooms;                     ///< subscribed at connect
  std::optional<std::set<std::string>> allowed_rooms; ///< from the token, when it names rooms
  protocol::limits_info limits;
  std::size_t seen_per_room = 200;
};

/// A publish sent to the chat server and not answered yet.
struct publish_in_flight {
  std::string room;
  std::optional<std::string> client_id;
  bool may_publish = false;                      ///< it took a token from the bucket
  caf::actor_addr server;                        ///< the chat server that has it
  std::chrono::steady_clock::time_point started; ///< for chat_publish_ack_seconds
};

struct connection_state {
  connection_config cfg;
  std::weak_ptr<frame_sink> sink;
  std::shared_ptr<node_stats> stats;
  std::set<std::string> rooms;
  std::map<std::string, seen_ids> seen;
  std::optional<token_bucket> bucket;   ///< publishes
  std::optional<request_budget> budget; ///< every other frame type that costs work
  /// Publishes by number, until the chat server answers or goes down.
  std::map<std::uint64_t, publish_in_flight> publishing;
  std::uint64_t next_publish = 1;
  caf::actor_addr watched; ///< the chat server last monitored
  static inline const char* name = "connection";
};

/// One actor per WebSocket connection: parses the client's frames, keeps its
/// rooms and rate budget, and forwards what the chat servers send it.
/// Its interface is connection_actor (chat/messages.hpp).
connection_actor::behavior_type connection(connection_actor::stateful_pointer<connection_state> self,
                                           connection_config cfg, std::weak_ptr<frame_sink> sink,
                                           std::shared_ptr<node_stats> stats);

} // namespace chat
