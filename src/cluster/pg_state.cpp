#include "cluster/pg_state.hpp"

#include <algorithm>

namespace chat::cluster {

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

group_map pg_state::local_groups() const {
  return local_view_.groups();
}

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
      bool still = reported != groups.end() && std::find(reported->second.begin(), reported->second.end(), m)
                                                     != reported->second.end();
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

changes pg_state::peer_leave(const caf::actor& scope, const std::string& group,
                             const std::vector<caf::actor>& as) {
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
