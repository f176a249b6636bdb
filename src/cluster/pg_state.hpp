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

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
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

// -- checks on what a peer sends -------------------------------------------
//
// A peer's messages are checked before they touch the state; one bad part
// drops the whole message (an honest peer never sends one). What CAF already
// did (deserializing the message) is not bounded here; what we keep is.

/// Any non-empty name of printable ASCII characters other than space: the
/// rule when the scope's user gives none.
bool printable_group(const std::string& group);

/// Bounds on one peer message. A node holds at most max_node_rooms rooms (one
/// group each) and max_connections members per room; these leave room above
/// the defaults (docs/config.md) without letting one message fill the memory.
struct pg_limits {
  std::size_t max_groups = 20'000;      ///< groups in one sync
  std::size_t max_members = 200'000;    ///< members in one message, all groups together
  std::size_t max_group_chars = 5 + 68; ///< "room:" + the longest room name (a DM room's)
  /// The group names a peer may use. The scope knows nothing of what the
  /// groups are for: its user (the chat layer) names them.
  std::function<bool(const std::string&)> valid_group = printable_group;
};

/// Why a sync from the scope on node `from` must be dropped, or nullopt:
/// a bad group name, a member with a bad user name, a member that is not an
/// actor on `from` (each node is the only authority for its own members), or
/// more than the limits allow.
std::optional<std::string> check_peer_sync(const caf::node_id& from, const group_map& groups,
                                           const pg_limits& lim = {});

/// The same for a join of `ms` to `group`.
std::optional<std::string> check_peer_join(const caf::node_id& from, const std::string& group,
                                           const std::vector<member>& ms, const pg_limits& lim = {});

/// The same for a leave: only actors of `from` can leave through it.
std::optional<std::string> check_peer_leave(const caf::node_id& from, const std::string& group,
                                            const std::vector<caf::actor>& as, const pg_limits& lim = {});

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
