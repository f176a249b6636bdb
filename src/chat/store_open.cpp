#include "chat/store_open.hpp"

#include <filesystem>

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include "chat/store_keys.hpp"

namespace chat {

namespace keys = store_keys;

rocksdb::Options store_db_options() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  // Two small memtables and a small block cache.
  o.write_buffer_size = 16 << 20;
  o.max_write_buffer_number = 2;
  o.keep_log_file_num = 3;
  o.max_log_file_size = 4 << 20;
  o.info_log_level = rocksdb::WARN_LEVEL;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(32 << 20);
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

std::unique_ptr<rocksdb::DB> open_store_db(const std::string& dir, const rocksdb::Options& o, store_open_error& err) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    err = {store_open_error::unusable, "cannot create " + dir + ": " + ec.message()};
    return nullptr;
  }
  bool existed = std::filesystem::exists(std::filesystem::path(dir) / "CURRENT");
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(o, dir, &raw);
  if (!st.ok()) {
    err = {st.IsCorruption() ? store_open_error::corrupt : store_open_error::unusable, st.ToString()};
    return nullptr;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string format;
  auto vs = db->Get(rocksdb::ReadOptions{}, std::string(keys::version_key), &format);
  if (vs.IsNotFound() && !existed) {
    vs = db->Put(rocksdb::WriteOptions{}, std::string(keys::version_key), std::string(keys::format));
    if (!vs.ok()) {
      err = {store_open_error::unusable, vs.ToString()};
      return nullptr;
    }
  } else if (!vs.ok() || format != keys::format) {
    err = {store_open_error::corrupt,
           vs.ok() ? "format '" + format + "', expected '" + std::string(keys::format) + "'"
                   : "no format record (" + vs.ToString() + ")"};
    return nullptr;
  }
  return db;
}

} // namespace chat
