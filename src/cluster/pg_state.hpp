#pragma once

// The bookkeeping of a process-group scope, after Erlang/OTP's pg.erl, free of
// actors and messaging so that every rule can be unit tested:
//
// - Only local actors join or leave here; each node is the sole authority for
//   its own members and nothing is relayed on behalf of another node.
// - A peer's memberships arrive whole in a `sync` (on discovery, both ways)
//   which replaces everything known about that peer, then as single
//   join/leave updates.
// - A local member that exits leaves every group; a peer scope that goes down
//   takes all its members with it.
//
// Every mutation returns the membership changes it caused, so the scope can
// tell its subscribers exactly what moved.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "cluster/group_view.hpp"

namespace chat::cluster {

struct change {
  std::string group;
  member who;
  bool joined = false;
};

using changes = std::vector<change>;

class pg_state {
public:
  // -- local members ---------------------------------------------------------

  /// `monitor_needed` is set when this is the actor's first group.
  changes join_local(const std::string& group, const member& m, bool& monitor_needed);

  /// `demonitor_needed` is set when the actor has no group left.
  changes leave_local(const std::string& group, const caf::actor& a, bool& demonitor_needed);

  /// A local member exited: it leaves every group.
  changes local_down(const caf::actor& a);

  /// All local memberships, as sent in a `sync`.
  group_map local_groups() const;

  /// The groups a local actor is in.
  std::vector<std::string> groups_of(const caf::actor& a) const;

  // -- peers -----------------------------------------------------------------

  bool known_peer(const caf::actor& scope) const { return peers_.count(scope) > 0; }

  /// Replaces everything known about `scope`; also registers it as a peer.
  changes peer_sync(const caf::actor& scope, const group_map& groups);

  changes peer_join(const caf::actor& scope, const std::string& group, const std::vector<member>& ms);

  changes peer_leave(const caf::actor& scope, const std::string& group, const std::vector<caf::actor>& as);

  changes peer_down(const caf::actor& scope);

  std::vector<caf::actor> peers() const;

  // -- reading ---------------------------------------------------------------

  const group_view& view() const { return view_; }

private:
  void view_add(const std::string& group, const member& m, changes& out);
  void view_remove(const std::string& group, const caf::actor& a, changes& out);

  std::map<caf::actor, std::set<std::string>> local_;
  group_view local_view_;
  std::map<caf::actor, group_view> peers_;
  group_view view_;
};

} // namespace chat::cluster
