#include "cluster/group_view.hpp"

#include <algorithm>

namespace chat::cluster {

bool group_view::add(const std::string& group, const member& m) {
  auto& v = groups_[group];
  if (std::find(v.begin(), v.end(), m) != v.end())
    return false;
  v.push_back(m);
  return true;
}

bool group_view::remove(const std::string& group, const caf::actor& a) {
  auto it = groups_.find(group);
  if (it == groups_.end())
    return false;
  auto& v = it->second;
  auto pos = std::find_if(v.begin(), v.end(), [&](const member& m) { return m.actor == a; });
  if (pos == v.end())
    return false;
  // Order inside a group means nothing; swap-remove keeps this O(1) after the find.
  *pos = std::move(v.back());
  v.pop_back();
  if (v.empty())
    groups_.erase(it);
  return true;
}

const std::vector<member>& group_view::members(const std::string& group) const {
  static const std::vector<member> none;
  auto it = groups_.find(group);
  return it == groups_.end() ? none : it->second;
}

bool group_view::contains(const std::string& group, const caf::actor& a) const {
  const auto& v = members(group);
  return std::any_of(v.begin(), v.end(), [&](const member& m) { return m.actor == a; });
}

} // namespace chat::cluster
