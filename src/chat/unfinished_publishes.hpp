#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace chat {

/// Ids of messages stored here whose publish has not finished: not yet
/// delivered to this node's other members, not yet acked. It outlives a chat
/// server, as the store does: when one crashes between storing a message and
/// finishing it, the sender's retry (same client_id) finds the stored copy,
/// and the next chat server must finish it (replicate, deliver here, ack)
/// rather than only ack it, or this node's members never see it live.
class unfinished_publishes {
public:
  using clock = std::chrono::steady_clock;

  void add(const std::string& id) {
    std::lock_guard lock(mu_);
    ids_.emplace(id, clock::now());
  }

  void finish(const std::string& id) {
    std::lock_guard lock(mu_);
    ids_.erase(id);
  }

  bool contains(const std::string& id) const {
    std::lock_guard lock(mu_);
    return ids_.count(id) > 0;
  }

  /// Forgets those older than `age`: left by a chat server that died, whose
  /// sender never retried (it went away too).
  std::size_t forget_older_than(clock::duration age) {
    std::lock_guard lock(mu_);
    auto limit = clock::now() - age;
    std::size_t n = 0;
    for (auto it = ids_.begin(); it != ids_.end();) {
      if (it->second < limit) {
        it = ids_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return ids_.size();
  }

private:
  // Only one chat server at a time uses it, but the next one may run on
  // another thread than the one that died.
  mutable std::mutex mu_;
  std::unordered_map<std::string, clock::time_point> ids_;
};

} // namespace chat
