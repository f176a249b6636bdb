#pragma once

// The messages of the cluster layer (the process-group scope, the node
// monitor, discovery), registered with the actor system by
// cluster::add_message_types(). The chat layer declares its own beside it.

#include <string>
#include <vector>

#include <caf/all.hpp>

#include "cluster/group_view.hpp"
#include "cluster/member.hpp"
#include "cluster/pg_state.hpp"

namespace chat {

// CAF 0.17 atoms: at most 10 characters.

// process-group scope, local API
using pg_join_atom = caf::atom_constant<caf::atom("pg_join")>;
using pg_leave_atom = caf::atom_constant<caf::atom("pg_leave")>;
using pg_watch_atom = caf::atom_constant<caf::atom("pg_watch")>;
using pg_changes_atom = caf::atom_constant<caf::atom("pg_changes")>;
using pg_peer_atom = caf::atom_constant<caf::atom("pg_peer")>;

// process-group scope <-> peer scope (the pg.erl protocol)
using pg_discover_atom = caf::atom_constant<caf::atom("pg_disc")>;
using pg_sync_atom = caf::atom_constant<caf::atom("pg_sync")>;
using pg_rjoin_atom = caf::atom_constant<caf::atom("pg_rjoin")>;
using pg_rleave_atom = caf::atom_constant<caf::atom("pg_rleave")>;

// node monitor and discovery
using node_up_atom = caf::atom_constant<caf::atom("node_up")>;
using node_down_atom = caf::atom_constant<caf::atom("node_down")>;
using peer_addr_atom = caf::atom_constant<caf::atom("peer_addr")>;
/// discovery -> whoever it was told to tell: its first round is over.
using resolved_atom = caf::atom_constant<caf::atom("resolved")>;
/// a timer an actor sets for itself
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using flush_atom = caf::atom_constant<caf::atom("nm_flush")>;

/// What a scope tells its watchers (pg_watch): the chat server and the node
/// monitor speak at least this.
using pg_watcher_actor =
  caf::typed_actor<caf::reacts_to<pg_changes_atom, cluster::changes>, caf::reacts_to<node_up_atom, caf::node_id>,
                   caf::reacts_to<node_down_atom, caf::node_id>>;

/// The process-group scope (cluster/pg_scope.hpp says who may send what).
using pg_scope_actor = caf::typed_actor<
  // local API
  caf::reacts_to<pg_join_atom, std::string, cluster::member>, caf::reacts_to<pg_leave_atom, std::string, caf::actor>,
  caf::replies_to<pg_watch_atom, caf::actor>::with<cluster::group_map, std::vector<caf::node_id>>,
  caf::reacts_to<pg_peer_atom, caf::actor>,
  // peer protocol: every message names the sending scope
  caf::reacts_to<pg_discover_atom, caf::actor>, caf::reacts_to<pg_sync_atom, caf::actor, cluster::group_map>,
  caf::reacts_to<pg_rjoin_atom, caf::actor, std::string, std::vector<cluster::member>>,
  caf::reacts_to<pg_rleave_atom, caf::actor, std::string, std::vector<caf::actor>>>;

/// Registry names of a node's supervised actors (CAF atoms: 10 characters);
/// the chat layer adds its own in chat/messages.hpp.
namespace registry_name {
constexpr caf::atom_value pg_scope = caf::atom("pg_scope");
constexpr caf::atom_value node_monitor = caf::atom("nodemon");
constexpr caf::atom_value discovery = caf::atom("discovery");
} // namespace registry_name

/// The actor registered under `name` now, or an invalid handle; `Handle`
/// is the interface it is registered with (the supervisor registers each
/// child under the name its interface goes with).
template <class Handle = caf::actor>
Handle lookup(caf::actor_system& sys, caf::atom_value name) {
  return caf::actor_cast<Handle>(sys.registry().get(name));
}

} // namespace chat

namespace chat::cluster {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change& x) {
  return f(x.group, x.who, x.joined);
}

void add_message_types(caf::actor_system_config& cfg);

} // namespace chat::cluster
