#pragma once

// Where a node keeps room histories: in memory (make_memory_store, the
// default and what tests use), or on disk under --data-dir
// (make_durable_store, chat/durable_store.cpp). Either outlives a chat
// server restart: the supervisor hands the same store to the new actor.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/profile.hpp"
#include "chat/room_history.hpp"
#include "protocol/message.hpp"

namespace chat {

/// A page of older messages, for scrollback.
struct scrollback {
  bool found = false;            ///< the `before` id is held here
  std::vector<message> messages; ///< oldest first
  bool more = false;             ///< older messages exist
};

/// A user's read mark in a DM room: the newest id they sent in a `read`.
struct read_mark {
  std::string room;
  std::string user;
  std::string id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_mark& x) {
  return f(x.room, x.user, x.id);
}

/// One DM conversation of a user, from the store's index: the room and the
/// id of its newest message (ids sort in history order).
struct conversation_ref {
  std::string room;
  std::string last_id;
};

/// Per room, the timestamp of the newest message a node holds: what a
/// node that pulls tells its peer, so that the peer sends only what may be
/// missing.
using room_marks = std::map<std::string, std::int64_t>;

/// One page of a pull; the next page starts after (next_room, next_id).
struct pull_page {
  std::vector<message> messages;
  std::string next_room;
  std::string next_id;
  bool done = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pull_page& x) {
  return f(x.messages, x.next_room, x.next_id, x.done);
}

class history_store {
public:
  virtual ~history_store() = default;

  /// `failed` when it could not be written (the disk): nothing was stored.
  virtual room_history::insert_result insert(const message& m) = 0;
  /// The newest messages of a room, sent after `subscribed`.
  virtual std::vector<message> window(const std::string& room) const = 0;
  virtual room_history::resume since(const std::string& room, const std::string& id) const = 0;
  virtual std::optional<message> find_retry(const std::string& room, const std::string& user,
                                            const std::string& client_id) const = 0;
  /// Up to `limit` messages strictly before `id` in history order.
  virtual scrollback before(const std::string& room, const std::string& id, std::size_t limit) const = 0;

  /// Whether the room holds a message with this id.
  virtual bool contains(const std::string& room, const std::string& id) const = 0;

  // -- direct messages (protocol 1.1) -----------------------------------------
  // Every message stored in a DM room also files the conversation under both
  // its users, in the same write.

  /// The user's DM conversations, newest activity first, at most `max`.
  virtual std::vector<conversation_ref> conversations(const std::string& user, std::size_t max) const = 0;
  /// The user's read mark in a DM room; empty when none.
  virtual std::string read_mark_of(const std::string& room, const std::string& user) const = 0;
  enum class mark_result { moved, unchanged, failed };
  /// Keeps the later of the stored mark and `m.id` (marks only move
  /// forward, so copies from any node merge to the same mark).
  virtual mark_result merge_read_mark(const read_mark& m) = 0;
  /// Up to `max` read marks in (room, user) order after (after_room,
  /// after_user): what a peer pulls.
  virtual std::vector<read_mark> read_marks(const std::string& after_room, const std::string& after_user,
                                            std::size_t max) const = 0;

  // -- profiles ---------------------------------------------------------------

  /// The user's profile; ts 0 when none was ever written.
  virtual profile profile_of(const std::string& user) const = 0;
  /// Keeps `p` if it was written after the stored one (last writer wins).
  virtual mark_result merge_profile(const profile& p) = 0;
  /// Up to `max` profiles in user order after `after_user`: what a peer pulls.
  virtual std::vector<profile> profiles(const std::string& after_user, std::size_t max) const = 0;

  /// What this node holds, for a pull from a peer.
  virtual room_marks marks() const = 0;
  /// What a peer whose marks are `theirs` may be missing, at most `max`
  /// messages, rooms in name order, starting after (from_room, after_id).
  virtual pull_page pull(const room_marks& theirs, const std::string& from_room, const std::string& after_id,
                         std::size_t max) const = 0;

  /// Messages held in memory, by room (the /metrics gauge).
  virtual std::map<std::string, std::size_t> sizes() const = 0;
  virtual std::int64_t max_ts() const = 0;
  /// Rooms held in memory.
  virtual std::size_t room_count() const = 0;
  /// Rooms held in memory, least recently used first (written to or read from).
  virtual std::vector<std::string> rooms_by_last_use() const = 0;
  /// Drops a room from memory: from a memory store that forgets it, from a
  /// durable one only its cache.
  virtual void evict(const std::string& room) = 0;

  /// False after a write failed, until one succeeds again.
  virtual bool writable() const { return true; }
  /// Tries again to write after a failure (a disk that had filled up).
  virtual void recover() {}
  /// Whether acks must wait for sync(): --fsync.
  virtual bool syncs() const { return false; }
  /// Makes everything written so far survive a power cut, then calls `done`
  /// (on another thread) with whether it did. Calls made while one runs
  /// share the next one: group commit.
  virtual void sync(std::function<void(bool)> done) { done(true); }
};

/// Room names ordered by their use stamps, least recently used first.
std::vector<std::string> least_recently_used_first(std::vector<std::pair<std::uint64_t, std::string>> uses);

/// Conversations sorted newest activity first (ties by room), the first `max`.
std::vector<conversation_ref> newest_first(std::vector<conversation_ref> all, std::size_t max);

/// Thread-safe in-memory store: the chat server writes, HTTP threads read.
/// It keeps the newest `per_room` messages of a room; scrollback reaches no
/// further.
std::shared_ptr<history_store> make_memory_store(std::size_t per_room, std::int64_t resume_overlap_us);

} // namespace chat
