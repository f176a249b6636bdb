#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "chat/history_store.hpp"

namespace chat {

struct durable_options {
  std::string dir;
  /// Messages sent after `subscribed`, and held in memory per room in use.
  std::size_t window = 50;
  /// Most bytes of messages the cache of windows holds; past it, the rooms
  /// used least recently leave memory (their history stays on disk), even
  /// rooms in use: their window is read back when next needed.
  std::size_t cache_bytes = std::size_t{64} << 20;
  /// Messages kept per room on disk; older ones are deleted.
  std::size_t keep = 10000;
  /// Acks wait for a group-committed fsync (history_store::sync).
  bool fsync = false;
  std::int64_t resume_overlap_us = 5'000'000;
  /// What a pull sends besides each room's window: messages up to this much
  /// older than the puller's newest in the room. A node that went down
  /// missed what was in flight to it, and a message from another node may
  /// carry an older ts than the newest it has (the replicate timeout plus
  /// clock skew between nodes, seconds at most); a minute covers both.
  std::chrono::microseconds pull_overlap{std::chrono::minutes(1)};
};

/// Why a store did not open.
struct store_open_error {
  enum kind { corrupt, unusable } what;
  std::string detail;
};

/// Opens (or creates) the store in `opts.dir`: RocksDB, the newest `window`
/// messages of rooms in use cached in memory. On failure `err` says why and
/// nullptr is returned.
std::shared_ptr<history_store> open_durable_store(const durable_options& opts, store_open_error& err);

} // namespace chat
