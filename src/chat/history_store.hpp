#pragma once

// Where a node keeps room histories. Today it lives in memory and outlives a
// chat server restart (the supervisor hands the same store to the new actor);
// an embedded persistent store replicated to a peer before the ack fits
// behind the same interface.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/message.hpp"
#include "chat/room_history.hpp"

namespace chat {

class history_store {
public:
  virtual ~history_store() = default;

  virtual room_history::insert_result insert(const message& m) = 0;
  virtual std::vector<message> window(const std::string& room) const = 0;
  virtual room_history::resume since(const std::string& room, const std::string& id) const = 0;
  virtual std::optional<message> find_retry(const std::string& room, const std::string& user,
                                            const std::string& client_id) const = 0;
  /// Every room's window, for a peer that pulls history.
  virtual std::vector<message> all() const = 0;
  virtual std::map<std::string, std::size_t> sizes() const = 0;
  virtual std::int64_t max_ts() const = 0;
  virtual std::size_t room_count() const = 0;
  /// Rooms, least recently used first (written to or read from).
  virtual std::vector<std::string> rooms_by_last_use() const = 0;
  /// Forgets a room's history on this node.
  virtual void evict(const std::string& room) = 0;
};

/// Thread-safe in-memory store: the chat server writes, HTTP threads read.
std::shared_ptr<history_store> make_memory_store(std::size_t per_room, std::int64_t resume_overlap_us);

} // namespace chat
