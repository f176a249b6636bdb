#include "chat/durable_store.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "chat/store_keys.hpp"
#include "chat/store_open.hpp"
#include "chat/store_scans.hpp"
#include "chat/wal_syncer.hpp"
#include "chat/window_cache.hpp"
#include "protocol/names.hpp"

namespace chat {

namespace {

namespace keys = store_keys;

class durable_store final : public history_store {
public:
  durable_store(std::unique_ptr<rocksdb::DB> db, durable_options opts, rocksdb::Options db_opts)
    : opts_(std::move(opts)),
      db_opts_(std::move(db_opts)),
      db_(std::move(db)),
      cache_(opts_.window, opts_.cache_bytes,
             [this](const std::string& room, std::size_t n) { return newest_of(room, n); }) {
    write_opts_.sync = false; // the WAL write reaches the page cache: survives SIGKILL
    max_ts_ = scan_max_ts();
    if (opts_.fsync)
      syncer_ = std::make_unique<wal_syncer>([this] {
        std::shared_lock db_lock(db_mtx_);
        return db_ ? db_->SyncWAL() : rocksdb::Status::IOError("store closed");
      });
  }

  ~durable_store() override {
    syncer_.reset();
    if (db_)
      db_->FlushWAL(true);
  }

  room_history::insert_result insert(const message& m) override {
    using result = room_history::insert_result;
    std::shared_lock db_lock(db_mtx_);
    std::lock_guard guard{mtx_};
    auto& room = cache_.get(m.room);
    std::string key = keys::message_key(m.room, m.id);
    std::string ignored;
    if (room.history.contains(m.id) || get(key, ignored))
      return result::duplicate;
    rocksdb::WriteBatch batch;
    std::string rkey;
    std::string replaced; // a later copy of the same retry, dropped for this one
    if (!m.client_id.empty()) {
      // Two copies of one retry: every node keeps the earlier (see room_history).
      rkey = keys::retry_key(m.room, m.user, m.client_id);
      std::string prev_id;
      if (get(rkey, prev_id)) {
        if (prev_id <= m.id)
          return result::duplicate;
        batch.Delete(keys::message_key(m.room, prev_id));
        replaced = prev_id;
      }
      batch.Put(rkey, m.id);
    }
    batch.Put(key, keys::encode_value(m));
    if (auto parties = protocol::dm_parties(m.room))
      for (auto user : {parties->first, parties->second}) {
        auto ckey = keys::conversation_key(user, m.room);
        std::string last;
        if (!get(ckey, last) || last < m.id)
          batch.Put(ckey, m.id);
      }
    if (!write(batch))
      return result::failed;
    auto before_bytes = room.history.bytes();
    if (!replaced.empty())
      room.history.erase(replaced);
    room.history.insert(m); // may be older than the cached window: stored all the same
    cache_.changed(m.room, before_bytes);
    max_ts_ = std::max(max_ts_, m.ts);
    if (++room.writes_since_trim >= std::max<std::size_t>(1, opts_.keep / 10)) {
      room.writes_since_trim = 0;
      trim(m.room);
    }
    return result::added;
  }

  std::vector<message> window(const std::string& room) const override {
    std::shared_lock db_lock(db_mtx_);
    return window_of(room);
  }

  room_history::resume since(const std::string& room, const std::string& id) const override {
    std::shared_lock db_lock(db_mtx_);
    {
      std::lock_guard guard{mtx_};
      auto* r = cached_if_stored(room);
      if (!r)
        return {{}, true};
      if (r->history.contains(id))
        return r->history.since(id, opts_.resume_overlap_us);
    }
    // Older than the cached window: what follows it on disk, and what lies
    // within the overlap before it (it may have reached the client's
    // previous node later than here).
    std::string value;
    message mark;
    if (!get(keys::message_key(room, id), value) || !keys::decode_value(value, mark))
      return {window_of(room), true};
    auto it = iterator();
    return {scan_after(*it, room, mark.ts - opts_.resume_overlap_us, id), false};
  }

  std::optional<message> find_retry(const std::string& room, const std::string& user,
                                    const std::string& client_id) const override {
    std::shared_lock db_lock(db_mtx_);
    if (client_id.empty())
      return std::nullopt;
    std::string id;
    std::string value;
    if (!get(keys::retry_key(room, user, client_id), id) || !get(keys::message_key(room, id), value))
      return std::nullopt;
    message m;
    m.room = room;
    m.id = id;
    if (!keys::decode_value(value, m))
      return std::nullopt;
    return m;
  }

  scrollback before(const std::string& room, const std::string& id, std::size_t limit) const override {
    std::shared_lock db_lock(db_mtx_);
    scrollback out;
    auto key = keys::message_key(room, id);
    std::string ignored;
    if (!get(key, ignored))
      return out;
    auto it = iterator();
    return scan_before(*it, room, id, limit);
  }

  bool contains(const std::string& room, const std::string& id) const override {
    std::shared_lock db_lock(db_mtx_);
    std::string ignored;
    return get(keys::message_key(room, id), ignored);
  }

  std::vector<conversation_ref> conversations(const std::string& user, std::size_t max) const override {
    std::shared_lock db_lock(db_mtx_);
    auto it = iterator();
    auto all = scan_conversations(*it, user);
    return newest_first(std::move(all), max);
  }

  std::string read_mark_of(const std::string& room, const std::string& user) const override {
    std::shared_lock db_lock(db_mtx_);
    std::string id;
    return get(keys::read_mark_key(room, user), id) ? id : std::string{};
  }

  mark_result merge_read_mark(const read_mark& m) override {
    return put_unless(keys::read_mark_key(m.room, m.user), m.id, [&](const std::string& id) { return m.id <= id; });
  }

  profile profile_of(const std::string& user) const override {
    std::shared_lock db_lock(db_mtx_);
    profile p{user, {}, {}, 0, {}};
    std::string v;
    if (get(keys::profile_key(user), v) && !keys::decode_profile(v, p))
      p = profile{user, {}, {}, 0, {}};
    return p;
  }

  mark_result merge_profile(const profile& p) override {
    return put_unless(keys::profile_key(p.user), keys::encode_profile(p), [&](const std::string& v) {
      profile kept;
      return keys::decode_profile(v, kept) && !written_after(p, kept);
    });
  }

  std::vector<profile> profiles(const std::string& after_user, std::size_t max) const override {
    std::shared_lock db_lock(db_mtx_);
    auto it = iterator();
    return scan_profiles(*it, after_user, max);
  }

  std::vector<read_mark> read_marks(const std::string& after_room, const std::string& after_user,
                                    std::size_t max) const override {
    std::shared_lock db_lock(db_mtx_);
    auto it = iterator();
    return scan_read_marks(*it, after_room, after_user, max);
  }

  room_marks marks() const override {
    std::shared_lock db_lock(db_mtx_);
    auto it = iterator();
    return scan_marks(*it);
  }

  pull_page pull(const room_marks& theirs, const std::string& from_room, const std::string& after_id,
                 std::size_t max) const override {
    std::shared_lock db_lock(db_mtx_);
    auto it = iterator();
    return scan_pull(*it, {theirs, from_room, after_id, max, opts_.window, opts_.pull_overlap.count()});
  }

  std::map<std::string, std::size_t> sizes() const override {
    std::lock_guard guard{mtx_};
    return cache_.sizes();
  }

  std::int64_t max_ts() const override {
    std::lock_guard guard{mtx_};
    return max_ts_;
  }

  std::size_t room_count() const override {
    std::lock_guard guard{mtx_};
    return cache_.count();
  }

  std::vector<std::string> rooms_by_last_use() const override {
    std::lock_guard guard{mtx_};
    return cache_.by_last_use();
  }

  void evict(const std::string& room) override {
    std::lock_guard guard{mtx_};
    cache_.forget(room);
  }

  bool writable() const override {
    std::lock_guard guard{mtx_};
    return writable_;
  }

  /// RocksDB resumes by itself from some write errors; after others (a
  /// write-ahead log append that failed) only a reopen does, which replays
  /// the log: nothing written before the failure is lost.
  void recover() override {
    std::unique_lock db_lock(db_mtx_);
    std::lock_guard guard{mtx_};
    if (writable_)
      return;
    if (db_ && db_->Resume().ok()) {
      writable_ = true;
      spdlog::warn("store: {} is writable again", opts_.dir);
      return;
    }
    db_.reset();
    rocksdb::DB* raw = nullptr;
    auto st = rocksdb::DB::Open(db_opts_, opts_.dir, &raw);
    if (!st.ok()) {
      spdlog::debug("store: reopening {} failed: {}", opts_.dir, st.ToString());
      return;
    }
    db_.reset(raw);
    writable_ = true;
    spdlog::warn("store: {} reopened, writable again", opts_.dir);
  }

  bool syncs() const override { return syncer_ != nullptr; }

  void sync(std::function<void(bool)> done) override {
    if (syncer_)
      syncer_->request(std::move(done));
    else
      done(true);
  }

private:
  std::vector<message> window_of(const std::string& room) const {
    std::lock_guard guard{mtx_};
    auto* r = cached_if_stored(room);
    return r ? r->history.window() : std::vector<message>{};
  }

  // The helpers below run under db_mtx_ (shared); db_ is null only
  // between a failed reopen and the next attempt.
  std::unique_ptr<rocksdb::Iterator> iterator() const {
    return std::unique_ptr<rocksdb::Iterator>(db_ ? db_->NewIterator(rocksdb::ReadOptions{})
                                                  : rocksdb::NewEmptyIterator());
  }

  bool get(const std::string& key, std::string& value) const {
    return db_ && db_->Get(rocksdb::ReadOptions{}, key, &value).ok();
  }

  bool write(rocksdb::WriteBatch& batch) {
    auto st = db_ ? db_->Write(write_opts_, &batch) : rocksdb::Status::IOError("store closed");
    if (st.ok())
      return true;
    if (writable_)
      spdlog::error("store: write to {} failed, publishes fail until it works again: {}", opts_.dir, st.ToString());
    writable_ = false;
    return false;
  }

  /// Writes `value` under `key` unless `keep_old(the value there)`: one
  /// register merge (read, compare, write) at a time.
  template <class KeepOld>
  mark_result put_unless(const std::string& key, const std::string& value, KeepOld keep_old) {
    std::shared_lock db_lock(db_mtx_);
    std::lock_guard guard{mtx_};
    std::string old;
    if (get(key, old) && keep_old(old))
      return mark_result::unchanged;
    rocksdb::WriteBatch batch;
    batch.Put(key, value);
    return write(batch) ? mark_result::moved : mark_result::failed;
  }

  /// The room's cache entry; a room with nothing stored is not cached.
  const window_cache::room* cached_if_stored(const std::string& room) const {
    if (!cache_.holds(room) && newest_of(room, 1).empty())
      return nullptr;
    return &cache_.get(room);
  }

  std::vector<message> newest_of(const std::string& room, std::size_t n) const {
    auto it = iterator();
    return scan_newest(*it, room, n);
  }

  /// Deletes what lies beyond the newest `keep` messages of a room.
  void trim(const std::string& room) {
    auto it = iterator();
    rocksdb::WriteBatch batch;
    auto dropped = scan_trim(*it, room, opts_.keep, batch);
    if (dropped > 0 && write(batch))
      spdlog::debug("store: room {}: {} message(s) beyond the newest {} deleted", room, dropped, opts_.keep);
  }

  std::int64_t scan_max_ts() const {
    std::int64_t ts = 0;
    for (const auto& [_, t] : marks()) // takes db_mtx_ itself
      ts = std::max(ts, t);
    return ts;
  }

  durable_options opts_;
  rocksdb::Options db_opts_;
  /// Shared by every use of db_, exclusive while recover() reopens it.
  /// Taken before mtx_.
  mutable std::shared_mutex db_mtx_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_opts_;
  std::unique_ptr<wal_syncer> syncer_;

  mutable std::mutex mtx_;
  mutable window_cache cache_;
  std::int64_t max_ts_ = 0;
  bool writable_ = true;
};

} // namespace

std::shared_ptr<history_store> open_durable_store(const durable_options& opts, store_open_error& err) {
  rocksdb::Options o = store_db_options();
  auto db = open_store_db(opts.dir, o, err);
  return db ? std::make_shared<durable_store>(std::move(db), opts, o) : nullptr;
}

} // namespace chat
