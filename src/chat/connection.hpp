#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "app/node_stats.hpp"
#include "chat/frame_sink.hpp"
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
  std::vector<std::string> rooms; ///< subscribed at connect
  std::optional<std::set<std::string>> allowed_rooms; ///< from the token, when it names rooms
  protocol::limits_info limits;
  std::size_t seen_per_room = 200;
};

struct connection_state {
  connection_config cfg;
  std::weak_ptr<frame_sink> sink;
  std::shared_ptr<node_stats> stats;
  std::set<std::string> rooms;
  std::map<std::string, seen_ids> seen;
  std::optional<token_bucket> bucket;  ///< publishes
  std::optional<request_budget> budget; ///< every other frame type that costs work
  static inline const char* name = "connection";
};

/// One actor per WebSocket connection: parses the client's frames, keeps its
/// rooms and rate budget, and forwards what the chat servers send it.
caf::behavior connection(caf::stateful_actor<connection_state>* self, connection_config cfg,
                         std::weak_ptr<frame_sink> sink, std::shared_ptr<node_stats> stats);

} // namespace chat
