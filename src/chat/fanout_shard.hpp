#pragma once

#include <caf/all.hpp>

namespace chat {

/// Hands one shared message to a list of local connection actors for the
/// chat server, so that a large room's fan-out runs on every scheduler
/// thread instead of serially inside the chat server. Stateless; linked to
/// its chat server, it lives and dies with it.
caf::behavior fanout_shard(caf::event_based_actor* self);

} // namespace chat
