#include "chat/room_members.hpp"

#include <algorithm>

namespace chat {

namespace {

std::vector<cluster::member>::iterator find_member(std::vector<cluster::member>& v, const caf::actor& a) {
  return std::find_if(v.begin(), v.end(), [&](const cluster::member& x) { return x.actor == a; });
}

} // namespace

room_members::outcome room_members::join(const std::string& name, const cluster::member& m) {
  return add(name, m, false);
}

room_members::outcome room_members::leave(const std::string& name, const caf::actor& a) {
  return remove(name, a, false);
}

room_members::outcome room_members::add(const std::string& name, const cluster::member& m, bool is_local) {
  auto& r = rooms_[name];
  outcome out;
  out.user = m.user;
  auto& v = is_local ? r.local : r.remote[m.actor.node()];
  if (find_member(v, m.actor) != v.end())
    return out;
  v.push_back(m);
  out.moved = true;
  out.presence = ++r.per_user[m.user] == 1;
  return out;
}

room_members::outcome room_members::remove(const std::string& name, const caf::actor& a, bool is_local) {
  outcome out;
  auto it = rooms_.find(name);
  if (it == rooms_.end())
    return out;
  auto& r = it->second;
  auto node = r.remote.end();
  if (!is_local && (node = r.remote.find(a.node())) == r.remote.end())
    return out;
  auto& v = is_local ? r.local : node->second;
  auto pos = find_member(v, a);
  if (pos == v.end())
    return out;
  out.moved = true;
  out.user = pos->user;
  // Order inside a room means nothing; swap-remove keeps this O(1) after the find.
  *pos = std::move(v.back());
  v.pop_back();
  if (!is_local && v.empty())
    r.remote.erase(node);
  auto count = r.per_user.find(out.user);
  if (--count->second == 0) {
    r.per_user.erase(count);
    out.presence = true;
  }
  if (r.empty())
    rooms_.erase(it);
  return out;
}

const std::vector<cluster::member>& room_members::local(const std::string& name) const {
  static const std::vector<cluster::member> none;
  auto it = rooms_.find(name);
  return it == rooms_.end() ? none : it->second.local;
}

const std::map<caf::node_id, std::vector<cluster::member>>& room_members::remote(const std::string& name) const {
  static const std::map<caf::node_id, std::vector<cluster::member>> none;
  auto it = rooms_.find(name);
  return it == rooms_.end() ? none : it->second.remote;
}

std::size_t room_members::count(const std::string& name) const {
  auto it = rooms_.find(name);
  if (it == rooms_.end())
    return 0;
  auto n = it->second.local.size();
  for (const auto& [_, v] : it->second.remote)
    n += v.size();
  return n;
}

std::vector<std::string> room_members::users(const std::string& name) const {
  std::vector<std::string> out;
  if (auto it = rooms_.find(name); it != rooms_.end())
    for (const auto& [user, _] : it->second.per_user)
      out.push_back(user);
  return out;
}

bool room_members::empty(const std::string& name) const { return rooms_.count(name) == 0; }

room_members::outcome room_members::hold(const std::string& name, const cluster::member& m, clock::time_point now,
                                         bool restart_clock, bool& first_room) {
  auto& held = local_[m.actor];
  first_room = held.empty();
  auto [at, added] = held.try_emplace(name, now);
  if (!added && restart_clock)
    at->second = now;
  return add(name, m, true);
}

room_members::outcome room_members::join_local(const std::string& name, const cluster::member& m, clock::time_point now,
                                               bool& first_room) {
  return hold(name, m, now, true, first_room);
}

room_members::outcome room_members::adopt_local(const std::string& name, const cluster::member& m,
                                                clock::time_point now, bool& first_room) {
  return hold(name, m, now, false, first_room);
}

room_members::outcome room_members::leave_local(const std::string& name, const caf::actor& a, bool& last_room) {
  last_room = false;
  auto it = local_.find(a);
  if (it == local_.end() || it->second.erase(name) == 0)
    return {};
  if (it->second.empty()) {
    local_.erase(it);
    last_room = true;
  }
  return remove(name, a, true);
}

std::vector<std::string> room_members::rooms_of(const caf::actor& a) const {
  std::vector<std::string> out;
  if (auto it = local_.find(a); it != local_.end())
    for (const auto& [name, _] : it->second)
      out.push_back(name);
  return out;
}

bool room_members::joined_within(const caf::actor& a, const std::string& name, clock::time_point now,
                                 clock::duration settle) const {
  auto it = local_.find(a);
  if (it == local_.end())
    return false;
  auto r = it->second.find(name);
  return r != it->second.end() && now - r->second < settle;
}

std::vector<std::pair<std::string, cluster::member>> room_members::local_memberships() const {
  std::vector<std::pair<std::string, cluster::member>> out;
  for (const auto& [name, r] : rooms_)
    for (const auto& m : r.local)
      out.emplace_back(name, m);
  return out;
}

void room_members::keep_local_only() {
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    auto& r = it->second;
    r.remote.clear();
    r.per_user.clear();
    for (const auto& m : r.local)
      ++r.per_user[m.user];
    it = r.empty() ? rooms_.erase(it) : std::next(it);
  }
}

} // namespace chat
