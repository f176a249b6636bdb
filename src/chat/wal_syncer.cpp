#include "chat/wal_syncer.hpp"

#include <spdlog/spdlog.h>

namespace chat {

wal_syncer::wal_syncer(std::function<rocksdb::Status()> sync) : sync_(std::move(sync)), thread_([this] { run(); }) {}

wal_syncer::~wal_syncer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void wal_syncer::request(std::function<void(bool)> done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(done));
  }
  cv_.notify_one();
}

void wal_syncer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty())
      return;
    auto group = std::move(queue_);
    queue_.clear();
    lock.unlock();
    auto st = sync_();
    if (!st.ok())
      spdlog::error("store: fsync of the write-ahead log failed: {}", st.ToString());
    for (auto& done : group)
      done(st.ok());
    lock.lock();
  }
}

} // namespace chat
