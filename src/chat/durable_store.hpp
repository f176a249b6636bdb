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
  /// Messages kept per room on disk; older ones are deleted.
  std::size_t keep = 10000;
  /// Acks wait for a group-committed fsync (history_store::sync).
  bool fsync = false;
  std::int64_t resume_overlap_us = 5'000'000;
  /// What a pull sends besides each room's window: messages up to this much
  /// older than the puller's newest in the room (a late message from another
  /// node may carry an older ts than the newest one it has).
  std::chrono::microseconds pull_overlap{std::chrono::minutes(5)};
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
