#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

namespace chat {

/// The ids one connection has already been sent in one room, newest
/// `capacity` kept. It is what makes "never repeat an id on a connection" hold
/// even when a message reaches a node twice (late merge, history pull).
class seen_ids {
public:
  explicit seen_ids(std::size_t capacity) : capacity_(capacity) {}

  /// True when `id` is new (and now remembered).
  bool add(const std::string& id) {
    if (!set_.insert(id).second)
      return false;
    order_.push_back(id);
    if (order_.size() > capacity_) {
      set_.erase(order_.front());
      order_.pop_front();
    }
    return true;
  }

  bool contains(const std::string& id) const { return set_.count(id) > 0; }

private:
  std::size_t capacity_;
  std::deque<std::string> order_;
  std::unordered_set<std::string> set_;
};

} // namespace chat
