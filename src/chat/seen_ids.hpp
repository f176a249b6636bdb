#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

namespace chat {

/// The ids one connection has already been sent in one room, newest
/// `capacity` kept. It is what makes "never repeat an id on a connection" hold
/// even when a message reaches a node twice (late merge, history pull).
class seen_ids {
public:
  explicit seen_ids(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  seen_ids(const seen_ids&) = delete;
  seen_ids& operator=(const seen_ids&) = delete;

  /// True when `id` is new (and now remembered).
  bool add(const std::string& id) {
    if (set_.count(id) > 0)
      return false;
    // The set views the deque's strings: one copy per id, on the hot path
    // of every delivery. A deque never moves its elements on push_back, so
    // the views stay valid. It is made with the first id: a std::deque
    // allocates a 512-byte block as it is constructed, which every idle
    // connection paid for every room it is in.
    if (!order_)
      order_ = std::make_unique<std::deque<std::string>>();
    if (order_->size() < capacity_) {
      order_->push_back(id);
      set_.insert(order_->back());
      return true;
    }
    // Full: the oldest id's string takes the new one in place, a ring over
    // the deque, so a busy room reuses its buffers instead of freeing one
    // and allocating one per delivery.
    auto& slot = (*order_)[oldest_];
    set_.erase(slot);
    slot.assign(id);
    set_.insert(slot);
    oldest_ = (oldest_ + 1) % capacity_;
    return true;
  }

  bool contains(const std::string& id) const { return set_.count(id) > 0; }

private:
  std::size_t capacity_;
  std::size_t oldest_ = 0; ///< once full, the slot of the oldest id
  std::unique_ptr<std::deque<std::string>> order_;
  std::unordered_set<std::string_view> set_;
};

} // namespace chat
