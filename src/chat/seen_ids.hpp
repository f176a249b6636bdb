#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

/// The ids one connection has already been sent in one room, newest
/// `capacity` kept. It is what makes "never repeat an id on a connection" hold
/// even when a message reaches a node twice (late merge, history pull).
///
/// It is asked once per delivery, on the hot path of every fan-out, so it is
/// flat: a ring of the ids and an open-addressing table of their places in
/// it, each id's hash kept beside it. A lookup touches two arrays and
/// allocates nothing; once full, a new id takes the oldest one's string in
/// place. (A std::unordered_set allocated and freed a node per delivery and
/// chased a pointer per probe.)
class seen_ids {
public:
  explicit seen_ids(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  seen_ids(const seen_ids&) = delete;
  seen_ids& operator=(const seen_ids&) = delete;

  /// True when `id` is new (and now remembered).
  bool add(const std::string& id) {
    // Made with the first id: an idle connection pays nothing per room.
    if (!s_)
      s_ = std::make_unique<state>(capacity_);
    auto h = hash_of(id);
    if (s_->find(id, h) != npos)
      return false;
    std::uint32_t slot;
    if (s_->ids.size() < capacity_) {
      slot = static_cast<std::uint32_t>(s_->ids.size());
      s_->ids.push_back(id);
      s_->hashes.push_back(h);
    } else {
      slot = oldest_;
      s_->erase_slot(slot);
      s_->ids[slot].assign(id);
      s_->hashes[slot] = h;
      oldest_ = static_cast<std::uint32_t>((oldest_ + 1) % capacity_);
    }
    s_->place(slot);
    return true;
  }

  bool contains(const std::string& id) const { return s_ && s_->find(id, hash_of(id)) != npos; }

private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  static std::uint32_t hash_of(std::string_view id) {
    auto h = std::hash<std::string_view>{}(id);
    return static_cast<std::uint32_t>(h ^ (h >> 32));
  }

  struct state {
    explicit state(std::size_t capacity) {
      std::size_t size = 4;
      while (size < 2 * capacity) // at most half full: short probes
        size *= 2;
      table.assign(size, 0);
      mask = size - 1;
    }

    /// The table position holding `id`, or npos.
    std::size_t find(const std::string& id, std::uint32_t h) const {
      for (auto i = h & mask;; i = (i + 1) & mask) {
        auto e = table[i];
        if (e == 0)
          return npos;
        if (hashes[e - 1] == h && ids[e - 1] == id)
          return i;
      }
    }

    /// Puts ring slot `slot` (its hash set) into the table.
    void place(std::uint32_t slot) {
      auto i = hashes[slot] & mask;
      while (table[i] != 0)
        i = (i + 1) & mask;
      table[i] = slot + 1;
    }

    /// Takes ring slot `slot` out of the table, shifting back the entries
    /// after it that would otherwise no longer be found (linear probing
    /// allows no holes inside a run).
    void erase_slot(std::uint32_t slot) {
      auto i = hashes[slot] & mask;
      while (table[i] != slot + 1)
        i = (i + 1) & mask;
      for (auto j = (i + 1) & mask; table[j] != 0; j = (j + 1) & mask) {
        auto home = hashes[table[j] - 1] & mask;
        // The entry at j may move to the hole at i unless its home lies
        // cyclically in (i, j].
        bool stays = i < j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
          table[i] = table[j];
          i = j;
        }
      }
      table[i] = 0;
    }

    std::vector<std::string> ids;      ///< the ring
    std::vector<std::uint32_t> hashes; ///< of each ring slot's id
    std::vector<std::uint32_t> table;  ///< ring slot + 1; 0 is empty
    std::size_t mask = 0;
  };

  std::size_t capacity_;
  std::uint32_t oldest_ = 0; ///< once full, the ring slot of the oldest id
  std::unique_ptr<state> s_;
};

} // namespace chat
