#include "cluster/pg_state.hpp"

#include <algorithm>

#include "protocol/names.hpp"

namespace chat::cluster {

namespace {

std::optional<std::string> check_member(const caf::node_id& from, const std::string& group, const member& m) {
  if (!m.actor)
    return "invalid actor in " + group;
  if (m.actor.node() != from)
    return "member of " + group + " is an actor of another node (" + to_string(m.actor.node()) + ")";
  if (!protocol::valid_user(m.user))
    return "invalid user name in " + group;
  return std::nullopt;
}

std::optional<std::string> check_group(const std::string& group, const pg_limits& lim) {
  if (group.size() > lim.max_group_chars || !lim.valid_group(group))
    return std::string{"invalid group name"};
  return std::nullopt;
}

} // namespace

bool printable_group(const std::string& group) {
  return !group.empty() && std::all_of(group.begin(), group.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

std::optional<std::string> check_peer_sync(const caf::node_id& from, const group_map& groups, const pg_limits& lim) {
  if (groups.size() > lim.max_groups)
    return "too many groups (" + std::to_string(groups.size()) + ")";
  std::size_t total = 0;
  for (const auto& [group, ms] : groups) {
    if (auto err = check_group(group, lim))
      return err;
    total += ms.size();
    if (total > lim.max_members)
      return std::string{"too many members"};
    for (const auto& m : ms)
      if (auto err = check_member(from, group, m))
        return err;
  }
  return std::nullopt;
}

std::optional<std::string> check_peer_join(const caf::node_id& from, const std::string& group,
                                           const std::vector<member>& ms, const pg_limits& lim) {
  if (auto err = check_group(group, lim))
    return err;
  if (ms.size() > lim.max_members)
    return std::string{"too many members"};
  for (const auto& m : ms)
    if (auto err = check_member(from, group, m))
      return err;
  return std::nullopt;
}

std::optional<std::string> check_peer_leave(const caf::node_id& from, const std::string& group,
                                            const std::vector<caf::actor>& as, const pg_limits& lim) {
  if (auto err = check_group(group, lim))
    return err;
  if (as.size() > lim.max_members)
    return std::string{"too many members"};
  for (const auto& a : as)
    if (!a || a.node() != from)
      return "leave of " + group + " names an actor of another node";
  return std::nullopt;
}

void pg_state::view_add(const std::string& group, const member& m, changes& out) {
  if (view_.add(group, m))
    out.push_back({group, m, true});
}

void pg_state::view_remove(const std::string& group, const caf::actor& a, changes& out) {
  // The merged view is the union of all sources: a member a stale scope of a
  // node drops may still be reported by that node's restarted scope.
  if (local_view_.contains(group, a))
    return;
  for (const auto& [scope, view] : peers_)
    if (view.contains(group, a))
      return;
  for (const auto& m : view_.members(group)) {
    if (m.actor == a) {
      member gone = m;
      view_.remove(group, a);
      out.push_back({group, std::move(gone), false});
      return;
    }
  }
}

changes pg_state::join_local(const std::string& group, const member& m, bool& monitor_needed) {
  changes out;
  auto& groups = local_[m.actor];
  monitor_needed = groups.empty();
  if (groups.insert(group).second) {
    local_view_.add(group, m);
    view_add(group, m, out);
  }
  return out;
}

changes pg_state::leave_local(const std::string& group, const caf::actor& a, bool& demonitor_needed) {
  changes out;
  demonitor_needed = false;
  auto it = local_.find(a);
  if (it == local_.end() || it->second.erase(group) == 0)
    return out;
  local_view_.remove(group, a);
  view_remove(group, a, out);
  if (it->second.empty()) {
    local_.erase(it);
    demonitor_needed = true;
  }
  return out;
}

changes pg_state::local_down(const caf::actor& a) {
  changes out;
  auto it = local_.find(a);
  if (it == local_.end())
    return out;
  for (const auto& group : it->second) {
    local_view_.remove(group, a);
    view_remove(group, a, out);
  }
  local_.erase(it);
  return out;
}

group_map pg_state::local_groups() const { return local_view_.groups(); }

std::vector<std::string> pg_state::groups_of(const caf::actor& a) const {
  auto it = local_.find(a);
  if (it == local_.end())
    return {};
  return {it->second.begin(), it->second.end()};
}

changes pg_state::peer_sync(const caf::actor& scope, const group_map& groups) {
  changes out;
  auto& known = peers_[scope];
  // Drop what the peer no longer reports, then add what is new.
  for (const auto& [group, members] : group_map{known.groups()}) {
    auto reported = groups.find(group);
    for (const auto& m : members) {
      bool still = reported != groups.end()
        && std::find(reported->second.begin(), reported->second.end(), m) != reported->second.end();
      if (!still) {
        known.remove(group, m.actor);
        view_remove(group, m.actor, out);
      }
    }
  }
  for (const auto& [group, members] : groups)
    for (const auto& m : members)
      if (known.add(group, m))
        view_add(group, m, out);
  return out;
}

changes pg_state::peer_join(const caf::actor& scope, const std::string& group, const std::vector<member>& ms) {
  changes out;
  auto it = peers_.find(scope);
  if (it == peers_.end())
    return out; // from a scope we do not know (yet): its sync will carry it
  for (const auto& m : ms)
    if (it->second.add(group, m))
      view_add(group, m, out);
  return out;
}

changes pg_state::peer_leave(const caf::actor& scope, const std::string& group, const std::vector<caf::actor>& as) {
  changes out;
  auto it = peers_.find(scope);
  if (it == peers_.end())
    return out;
  for (const auto& a : as) {
    for (const auto& m : it->second.members(group)) {
      if (m.actor == a) {
        it->second.remove(group, a);
        view_remove(group, a, out);
        break;
      }
    }
  }
  return out;
}

changes pg_state::peer_down(const caf::actor& scope) {
  changes out;
  auto it = peers_.find(scope);
  if (it == peers_.end())
    return out;
  auto gone = std::move(it->second);
  peers_.erase(it);
  for (const auto& [group, members] : gone.groups())
    for (const auto& m : members)
      view_remove(group, m.actor, out);
  return out;
}

std::vector<caf::actor> pg_state::peers() const {
  std::vector<caf::actor> out;
  for (const auto& [scope, _] : peers_)
    out.push_back(scope);
  return out;
}

} // namespace chat::cluster
