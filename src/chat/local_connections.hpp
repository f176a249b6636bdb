#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>

#include "chat/frame_sink.hpp"

namespace chat {

/// This node's connections, each known from its first request (the inbox):
/// by user, who gets a user's `inbox_update` frames; and each one's sink,
/// where the fan-out hands its frames without a hop through the connection
/// actor. It outlives a chat server, as the store does, so a restarted chat
/// server takes the connections over from here and watches them again.
///
/// Node-local on purpose: every node tells only its own connections, from
/// its own store, so no other node needs to know who listens here (a
/// cluster-wide group per user cost every node memory for every connection
/// of the cluster).
///
/// Only the chat server uses it, and one at a time: a restarted one starts
/// after the last one ended.
class local_connections {
public:
  /// False when the connection is known already.
  bool add(const caf::actor& conn, const std::string& user, std::weak_ptr<frame_sink> sink) {
    if (!owner_.emplace(conn, entry{user, std::move(sink)}).second)
      return false;
    by_user_[user].insert(conn);
    return true;
  }

  /// False when the connection was not known.
  bool remove(const caf::actor& conn) {
    auto it = owner_.find(conn);
    if (it == owner_.end())
      return false;
    auto conns = by_user_.find(it->second.user);
    conns->second.erase(conn);
    if (conns->second.empty())
      by_user_.erase(conns);
    owner_.erase(it);
    return true;
  }

  bool contains(const caf::actor& conn) const { return owner_.count(conn) > 0; }

  /// The user's connections here; empty when there are none.
  const std::set<caf::actor>& of(const std::string& user) const {
    static const std::set<caf::actor> none;
    auto it = by_user_.find(user);
    return it == by_user_.end() ? none : it->second;
  }

  /// The connection's sink; null when it is gone or not known here.
  std::shared_ptr<frame_sink> sink_of(const caf::actor& conn) const {
    auto it = owner_.find(conn);
    return it == owner_.end() ? nullptr : it->second.sink.lock();
  }

  struct entry {
    std::string user;
    std::weak_ptr<frame_sink> sink;
  };

  /// Each connection with its user and sink.
  const std::unordered_map<caf::actor, entry>& all() const { return owner_; }

private:
  std::map<std::string, std::set<caf::actor>> by_user_;
  /// Hashed by actor id: every fan-out looks up each local recipient's sink.
  std::unordered_map<caf::actor, entry> owner_;
};

} // namespace chat
