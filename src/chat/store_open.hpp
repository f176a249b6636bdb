#pragma once

// Opening the on-disk store's RocksDB database (chat/durable_store.cpp): how
// RocksDB is tuned, and the format check that refuses a directory another
// program (or another format of ours) wrote.

#include <memory>
#include <string>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "chat/durable_store.hpp"

namespace chat {

/// Bounded memory, whatever the number of rooms.
rocksdb::Options store_db_options();

/// Opens (or creates) the database in `dir` and checks its format record;
/// nullptr with `err` set when it cannot be used.
std::unique_ptr<rocksdb::DB> open_store_db(const std::string& dir, const rocksdb::Options& o, store_open_error& err);

} // namespace chat
