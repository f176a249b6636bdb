// Fills a node's history store (--data-dir) with ROOMS rooms of PER messages
// each, as a node would have stored them, for the restart benchmark
// (bench/run.sh restart). Writes RocksDB directly in large batches, with the
// store's own key layout (src/chat/store_keys.hpp). Each room's messages
// are spread evenly over the last --age-s seconds, as a room written to all
// day would be (a restart then pulls each room's window and the last
// minute, not everything).
//
//   chat_store_fill --dir DIR [--rooms 1000] [--per-room 10000] [--text-bytes 100] [--age-s 86400]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "chat/store_keys.hpp"

namespace keys = chat::store_keys;

int main(int argc, char** argv) {
  std::string dir;
  long rooms = 1000;
  long per_room = 10000;
  long text_bytes = 100;
  long age_s = 86400;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--dir")
      dir = v;
    else if (k == "--rooms")
      rooms = std::atol(v.c_str());
    else if (k == "--per-room")
      per_room = std::atol(v.c_str());
    else if (k == "--text-bytes")
      text_bytes = std::atol(v.c_str());
    else if (k == "--age-s")
      age_s = std::atol(v.c_str());
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  if (dir.empty() || rooms < 1 || per_room < 1) {
    std::cerr << "usage: chat_store_fill --dir DIR [--rooms N] [--per-room N] [--text-bytes N] [--age-s N]\n";
    return 2;
  }
  rocksdb::Options o;
  o.create_if_missing = true;
  o.error_if_exists = true;
  o.write_buffer_size = 64 << 20;
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(o, dir, &raw);
  if (!st.ok()) {
    std::cerr << "open " << dir << ": " << st.ToString() << "\n";
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  db->Put(rocksdb::WriteOptions{}, std::string(keys::version_key), std::string(keys::format));
  auto t0 = std::chrono::steady_clock::now();
  auto now_us =
    std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::int64_t start = now_us - age_s * 1'000'000;
  std::int64_t step = std::max<std::int64_t>(rooms, age_s * 1'000'000 / per_room);
  std::string text(static_cast<std::size_t>(text_bytes), 'x');
  rocksdb::WriteOptions w;
  w.disableWAL = true; // flushed at the end; a crash of this tool leaves no store to trust anyway
  for (long r = 0; r < rooms; ++r) {
    rocksdb::WriteBatch batch;
    std::string room = "fill-" + std::to_string(r);
    for (long i = 0; i < per_room; ++i) {
      char id[64];
      std::int64_t ts = start + i * step + r; // unique across rooms too
      std::snprintf(id, sizeof(id), "%014llx-fill-000001", static_cast<unsigned long long>(ts));
      chat::message m{room, id, "user" + std::to_string(i % 50), text, "c" + std::to_string(i), ts};
      batch.Put(keys::message_key(m.room, m.id), keys::encode_value(m));
      batch.Put(keys::retry_key(m.room, m.user, m.client_id), m.id);
    }
    st = db->Write(w, &batch);
    if (!st.ok()) {
      std::cerr << "write: " << st.ToString() << "\n";
      return 1;
    }
  }
  st = db->Flush(rocksdb::FlushOptions{});
  if (!st.ok()) {
    std::cerr << "flush: " << st.ToString() << "\n";
    return 1;
  }
  auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << rooms * per_room << " messages in " << rooms << " rooms written in " << s << " s\n";
  return 0;
}
