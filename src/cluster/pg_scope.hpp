#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "cluster/messages.hpp"
#include "cluster/pg_state.hpp"

namespace chat::cluster {

struct pg_scope_state {
  pg_state pg;
  /// What a peer message may hold (group names, sizes).
  pg_limits limits;
  /// Local actors told of every membership change and of peers coming and going.
  std::vector<pg_watcher_actor> watchers;
  /// Peer scopes we sent a discover to: their sync is the answer, accepted
  /// although they are not registered yet. Bounded: discovery names few.
  std::set<caf::actor> discovering;
  /// Peer messages dropped since the last report (reported at most every 10 s).
  std::size_t dropped = 0;
  std::chrono::steady_clock::time_point last_drop_report{};
  static inline const char* name = "pg_scope";
};

/// The process-group scope of this node (see docs/architecture.md); its
/// interface is pg_scope_actor (cluster/messages.hpp).
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
///
/// Whoever reaches a node's cluster port can send anything to any actor
/// (CAF addresses actors by id and by registered name), so: the local API is
/// served to actors of this node only; a peer message counts only when its
/// real sender is the scope it names, sync/join/leave only from a peer we
/// know (or asked), and only for valid groups and members of the sender's
/// own node (check_peer_* in pg_state.hpp). Anything else is dropped silently
/// but counted, and the count is logged at most every 10 s.
pg_scope_actor::behavior_type pg_scope(pg_scope_actor::stateful_pointer<pg_scope_state> self, pg_limits limits = {});

} // namespace chat::cluster
