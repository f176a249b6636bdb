#pragma once

// Who is in which room, as one chat server sees it: every node's members (a
// connection each, with the user it speaks for) and, for this node's own
// connections, when each joined each room. Pure bookkeeping that messages no
// actor: each change says what it meant (the member moved, a user's
// presence changed, a connection needs watching or no longer does) and the
// chat server acts on that (membership.cpp).

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "cluster/member.hpp"

namespace chat {

class room_members {
public:
  using clock = std::chrono::steady_clock;

  /// What one join or leave did.
  struct outcome {
    bool moved = false;    ///< a join of a non-member, or a leave of a member
    bool presence = false; ///< its user's first connection in the room came, or the last one went
    std::string user;      ///< the user of the member that moved
  };

  // -- members on any node ----------------------------------------------------

  outcome join(const std::string& room, const cluster::member& m);
  outcome leave(const std::string& room, const caf::actor& a);

  /// This node's members of a room, in no particular order.
  const std::vector<cluster::member>& local(const std::string& room) const;
  /// Every other node's, by node, each node's in no particular order. Kept
  /// apart from the local ones, grouped as a fan-out needs them, so that a
  /// fan-out compares no node ids (a remote node id compares through virtual
  /// calls and a memcmp, for each member of every message).
  const std::map<caf::node_id, std::vector<cluster::member>>& remote(const std::string& room) const;
  /// Members on all nodes.
  std::size_t count(const std::string& room) const;
  /// The room's users, sorted, each once.
  std::vector<std::string> users(const std::string& room) const;
  bool empty(const std::string& room) const;

  // -- this node's connections ------------------------------------------------

  /// `first_room` is set when the connection held no room before (watch it).
  outcome join_local(const std::string& room, const cluster::member& m, clock::time_point now, bool& first_room);
  /// A local connection found in a (restarted) scope's view: as join_local,
  /// but a join time already known stays, so that a scope restart does not
  /// make every connection look newly joined.
  outcome adopt_local(const std::string& room, const cluster::member& m, clock::time_point now, bool& first_room);
  /// `last_room` is set when the connection holds no room any more. Nothing
  /// moves for a connection that does not hold the room.
  outcome leave_local(const std::string& room, const caf::actor& a, bool& last_room);
  /// The rooms a local connection holds, sorted.
  std::vector<std::string> rooms_of(const caf::actor& a) const;
  /// Joined `room` less than `settle` before `now`.
  bool joined_within(const caf::actor& a, const std::string& room, clock::time_point now, clock::duration settle) const;
  /// Every (room, member) of this node's connections.
  std::vector<std::pair<std::string, cluster::member>> local_memberships() const;
  /// Forgets every member that is not one of this node's connections (a
  /// restarted scope reports them again). Presence does not move.
  void keep_local_only();

private:
  struct room {
    std::vector<cluster::member> local;
    std::map<caf::node_id, std::vector<cluster::member>> remote;
    std::map<std::string, std::size_t> per_user; ///< connections per user
    bool empty() const { return local.empty() && remote.empty(); }
  };

  outcome add(const std::string& name, const cluster::member& m, bool is_local);
  outcome remove(const std::string& name, const caf::actor& a, bool is_local);

  /// A local connection holds `name` from `now` (from before, unless
  /// `restart_clock`), and is a member.
  outcome hold(const std::string& name, const cluster::member& m, clock::time_point now, bool restart_clock,
               bool& first_room);

  std::map<std::string, room> rooms_;
  std::map<caf::actor, std::map<std::string, clock::time_point>> local_;
};

} // namespace chat
