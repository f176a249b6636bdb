#pragma once

#include <map>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "base/node_stats.hpp"
#include "cluster/group_view.hpp"
#include "cluster/messages.hpp"

namespace chat::cluster {

struct node_monitor_state {
  std::shared_ptr<node_stats> stats;
  /// The group in which one actor per node stands for it, under the node's
  /// name (the chat servers): how peers get their names.
  std::string nodes_group;
  pg_scope_actor scope;
  group_view view;
  std::map<caf::node_id, peer_info> peers;
  /// Addresses discovery reported for nodes the scope has not reported up
  /// yet. Kept apart so that a report that arrives after the node went down
  /// cannot bring it back into the view.
  std::map<caf::node_id, std::pair<std::string, std::string>> addrs;
  /// Group changes not yet published: membership moves with every
  /// subscribe, and publishing copies every group's size.
  bool flush_pending = false;
  static inline const char* name = "node_monitor";
};

/// Logs nodes coming and going, keeps the cluster view that /api/cluster and
/// /metrics show.
caf::behavior node_monitor(caf::stateful_actor<node_monitor_state>* self, std::shared_ptr<node_stats> stats,
                           std::string nodes_group);

} // namespace chat::cluster
