#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/message.hpp"

namespace chat {

/// The newest `capacity` messages of one room in history order (ts, then id).
/// Every node that has seen the same messages holds the same window, whatever
/// order they arrived in, which is what makes histories merge identically.
class room_history {
public:
  enum class insert_result { added, duplicate, too_old, failed };

  struct resume {
    std::vector<message> messages;
    bool gap = false;
  };

  explicit room_history(std::size_t capacity);

  insert_result insert(const message& m);

  std::vector<message> window() const;

  /// What a client that last saw `id` missed. Besides everything ordered after
  /// it, this includes what arrived here after it (a late message from another
  /// node may carry an older ts) and what lies within `overlap_us` before it,
  /// because it may have reached the client's previous node later. Clients drop
  /// ids they already have.
  resume since(const std::string& id, std::int64_t overlap_us) const;

  /// Up to `limit` messages strictly before `id`, oldest first; `more` when
  /// older ones are held. nullopt when `id` is not held.
  struct page {
    std::vector<message> messages;
    bool more = false;
  };
  std::optional<page> before(const std::string& id, std::size_t limit) const;

  /// Drops the message with this id, if held (a later copy of a retry that
  /// an earlier copy replaces).
  void erase(const std::string& id);

  /// The earlier message with this retry key, if still in the window.
  const message* find_retry(const std::string& user, const std::string& client_id) const;

  bool contains(const std::string& id) const;

  std::size_t size() const { return entries_.size(); }
  /// About the memory the held messages take.
  std::size_t bytes() const { return bytes_; }
  std::int64_t max_ts() const { return entries_.empty() ? 0 : entries_.back().msg.ts; }

private:
  struct entry {
    message msg;
    std::uint64_t arrival; ///< local arrival order, for resume
  };

  std::size_t capacity_;
  std::uint64_t next_arrival_ = 0;
  std::size_t bytes_ = 0;
  std::vector<entry> entries_; ///< sorted by history order
};

} // namespace chat
