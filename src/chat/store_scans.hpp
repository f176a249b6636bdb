#pragma once

// The durable store's reads, as scans over a RocksDB iterator in the key
// order of store_keys.hpp (a room's messages are contiguous and in history
// order). Plain functions of the iterator, so that durable_store.cpp keeps
// only the locking, the cache and the writes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "chat/history_store.hpp"
#include "protocol/message.hpp"

namespace chat {

/// A message read back from its key and value; nullopt for anything else.
std::optional<message> read_message(const rocksdb::Slice& k, const rocksdb::Slice& v);

/// The newest `n` messages of `room`, oldest first.
std::vector<message> scan_newest(rocksdb::Iterator& it, const std::string& room, std::size_t n);

/// The messages of `room` from `from_ts` on, except the one with id `except`.
std::vector<message> scan_after(rocksdb::Iterator& it, const std::string& room, std::int64_t from_ts,
                                const std::string& except);

/// Up to `limit` messages before `id` (which the caller found stored),
/// oldest first; `more` when older ones exist.
scrollback scan_before(rocksdb::Iterator& it, const std::string& room, const std::string& id, std::size_t limit);

/// Each room's newest timestamp.
room_marks scan_marks(rocksdb::Iterator& it);

struct pull_request {
  const room_marks& theirs;     ///< the puller's newest timestamp per room
  const std::string& from_room; ///< where the previous page stopped ("" to start)
  const std::string& after_id;
  std::size_t max;         ///< messages in a page
  std::size_t window;      ///< each room's window is always sent
  std::int64_t overlap_us; ///< and this much before the puller's newest
};

/// One page of what a puller may lack: in each room, from its newest less
/// the overlap (or our window's start, if earlier), everything for rooms it
/// has nothing of.
pull_page scan_pull(rocksdb::Iterator& it, const pull_request& req);

/// Every DM conversation filed under `user`, in room order.
std::vector<conversation_ref> scan_conversations(rocksdb::Iterator& it, const std::string& user);

/// Up to `max` read marks after (after_room, after_user) in key order; from
/// the first with an empty after_room.
std::vector<read_mark> scan_read_marks(rocksdb::Iterator& it, const std::string& after_room,
                                       const std::string& after_user, std::size_t max);

/// Up to `max` profiles of users after `after_user` (from the first when empty).
std::vector<profile> scan_profiles(rocksdb::Iterator& it, const std::string& after_user, std::size_t max);

/// Adds to `batch` the deletion of what lies beyond the newest `keep`
/// messages of `room` (and their retry keys); returns how many.
std::size_t scan_trim(rocksdb::Iterator& it, const std::string& room, std::size_t keep, rocksdb::WriteBatch& batch);

} // namespace chat
