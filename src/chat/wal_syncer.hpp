#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <rocksdb/status.h>

namespace chat {

/// Fsyncs the write-ahead log for whoever asked since the last one: while
/// one fsync runs, every request that arrives waits for the next, so one
/// fsync covers a whole group of writes.
class wal_syncer {
public:
  /// `sync` fsyncs the log (on this class's thread).
  explicit wal_syncer(std::function<rocksdb::Status()> sync);
  ~wal_syncer();
  wal_syncer(const wal_syncer&) = delete;
  wal_syncer& operator=(const wal_syncer&) = delete;

  /// Calls `done` on this class's thread, with whether the fsync worked.
  void request(std::function<void(bool)> done);

private:
  void run();

  std::function<rocksdb::Status()> sync_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void(bool)>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace chat
