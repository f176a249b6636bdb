#pragma once

#include "chat/messages.hpp"

namespace chat {

/// Hands one shared message to many of this node's connections for the chat
/// server, so that a large room's fan-out runs beside the chat server, not
/// inside it: straight to each connection's sink where the chat server
/// knows it (one hand-off per delivery less than through the connection
/// actor), else to the connection actor. Stateless; linked to its chat
/// server, it lives and dies with it. Untyped, since what it forwards to a
/// connection actor is any prebuilt caf::message (fanout_shard_actor is
/// what the chat server sees of it).
caf::behavior fanout_shard(caf::event_based_actor* self);

} // namespace chat
