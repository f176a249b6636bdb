#pragma once

// The on-disk store's windows of the rooms in use (chat/durable_store.cpp),
// held within a byte bound: past it, the rooms used least recently leave
// memory (their history stays on disk) and are read back when next needed.
// Not thread-safe: the store locks around it.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/room_history.hpp"

namespace chat {

class window_cache {
public:
  struct room {
    explicit room(std::size_t window) : history(window) {}
    room_history history;
    std::uint64_t last_use = 0;
    std::size_t writes_since_trim = 0;
  };
  /// The newest `n` messages of a room, from disk.
  using loader = std::function<std::vector<message>(const std::string& name, std::size_t n)>;

  window_cache(std::size_t window, std::size_t max_bytes, loader load)
    : window_(window), max_bytes_(max_bytes), load_(std::move(load)) {}

  /// The room's entry, loaded with its newest messages if not held; it
  /// counts as used now.
  room& get(const std::string& name);
  bool holds(const std::string& name) const { return rooms_.count(name) > 0; }
  /// A held room's history changed; it had `bytes_before` bytes.
  void changed(const std::string& name, std::size_t bytes_before);
  void forget(const std::string& name);

  std::size_t count() const { return rooms_.size(); }
  /// Messages held, by room.
  std::map<std::string, std::size_t> sizes() const;
  /// Held rooms, least recently used first.
  std::vector<std::string> by_last_use() const;

private:
  /// Rooms leave, least recently used first, until the cache is within its
  /// bound; `keep` (the room being used) stays.
  void shrink(const std::string& keep);

  std::size_t window_;
  std::size_t max_bytes_;
  loader load_;
  std::unordered_map<std::string, room> rooms_;
  std::uint64_t use_clock_ = 0;
  std::size_t bytes_ = 0;
};

} // namespace chat
