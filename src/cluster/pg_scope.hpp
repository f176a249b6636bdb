#pragma once

#include <vector>

#include <caf/all.hpp>

#include "cluster/pg_state.hpp"

namespace chat::cluster {

struct pg_scope_state {
  pg_state pg;
  /// Local actors told of every membership change and of peers coming and going.
  std::vector<caf::actor> watchers;
  static inline const char* name = "pg_scope";
};

/// The process-group scope of this node (see docs/architecture.md).
///
/// Local API:
///   (pg_join, group, member)         a local actor joins
///   (pg_leave, group, actor)         a local actor leaves
///   (pg_watch, watcher) -> (group_map, vector<node_id>)
///                                    full view now, then (pg_changes, changes),
///                                    (node_up, node_id), (node_down, node_id)
///   (pg_peer, scope)                 discovery found a peer's scope
/// Peer protocol, as in pg.erl:
///   (pg_disc, from)                  answer with our sync; discover back if new
///   (pg_sync, from, group_map)       everything `from` has, replacing what we knew
///   (pg_rjoin, from, group, members) / (pg_rleave, from, group, actors)
caf::behavior pg_scope(caf::stateful_actor<pg_scope_state>* self);

} // namespace chat::cluster
