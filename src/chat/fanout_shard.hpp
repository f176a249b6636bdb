#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "chat/messages.hpp"

namespace chat {

/// How many fan-outs a shard has finished. Only the shard adds to it; the
/// chat server compares it with how many it sent: when they match, nothing
/// is queued in the shard, and a fan-out the chat server does itself cannot
/// overtake one the shard still holds.
using shard_progress = std::atomic<std::uint64_t>;

/// What a connection actor would do with `msg` (deliver, push, notify,
/// subscribed), done on each sink: the message is read once, whatever the
/// number of sinks.
void hand_to(const std::vector<sink_ptr>& sinks, const caf::message& msg);

/// Hands one shared message to many of this node's connections for the chat
/// server, so that a large room's fan-out runs beside the chat server, not
/// inside it: straight to each connection's sink where the chat server
/// knows it (one hand-off per delivery less than through the connection
/// actor), else to the connection actor. Stateless but for `done`; linked
/// to its chat server, it lives and dies with it. Untyped, since what it
/// forwards to a connection actor is any prebuilt caf::message
/// (fanout_shard_actor is what the chat server sees of it).
caf::behavior fanout_shard(caf::event_based_actor* self, std::shared_ptr<shard_progress> done);

} // namespace chat
