#pragma once

// The node's group scope, for the actors that watch it (the chat server, the
// node monitor): registered by the supervisor once it runs, so at start and
// while it restarts there may be none yet.

#include <chrono>

#include <caf/all.hpp>

#include "cluster/messages.hpp"

namespace chat::cluster {

/// How soon to look again for a scope that is not registered yet.
constexpr auto scope_retry = std::chrono::milliseconds(100);

/// The registered scope; when there is none, a tick_atom to `self` is
/// scheduled so that it tries again.
template <class Self>
pg_scope_actor find_scope(Self* self) {
  auto scope = lookup<pg_scope_actor>(self->system(), registry_name::pg_scope);
  if (!scope)
    self->delayed_send(self, scope_retry, tick_atom::value);
  return scope;
}

} // namespace chat::cluster
