#pragma once

#include <map>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "chat/history_store.hpp"
#include "chat/messages.hpp"

namespace chat {

struct profile_store_state {
  std::shared_ptr<history_store> store;
  std::string node_name;
  pg_scope_actor scope;
  /// The profile store of every other node, from the scope's view of
  /// profile_stores.
  std::map<caf::node_id, caf::actor> peers;
  static inline const char* name = "profile_store";
};

/// The cluster's key-value actor for user profiles, supervised beside the
/// chat server. The HTTP side writes a profile to the store (it stamps it,
/// thread-safe) and hands it here; this actor sends it to every peer's
/// profile store, merges theirs (last writer wins), and pulls every profile
/// a peer holds when that peer appears, so a node that was down catches up.
profile_store_actor::behavior_type profile_store(profile_store_actor::stateful_pointer<profile_store_state> self,
                                                 std::shared_ptr<history_store> store, std::string node_name);

} // namespace chat
