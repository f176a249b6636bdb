// The on-disk history store on a real directory: what it keeps across a
// reopen, scrollback, retention, retry keys, pulls, and refusing a store it
// did not write.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "chat/durable_store.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using chat::message;
using result = chat::room_history::insert_result;

namespace {

/// A message whose id carries its ts, as the nodes make them.
message at(std::int64_t ts, const std::string& room = "r", const std::string& client_id = "",
           const std::string& user = "ann", const std::string& node = "n1") {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%014llx", static_cast<unsigned long long>(ts));
  return message{room, std::string(buf) + "-" + node + "-000001", user, "text " + std::to_string(ts), client_id, ts};
}

std::vector<std::int64_t> stamps(const std::vector<message>& ms) {
  std::vector<std::int64_t> out;
  for (const auto& m : ms)
    out.push_back(m.ts);
  return out;
}

std::shared_ptr<chat::history_store> open(const fs::path& dir, std::size_t window = 3, std::size_t keep = 100,
                                          bool fsync = false, std::size_t cache_bytes = std::size_t{64} << 20) {
  chat::durable_options o;
  o.dir = dir.string();
  o.window = window;
  o.keep = keep;
  o.fsync = fsync;
  o.cache_bytes = cache_bytes;
  o.resume_overlap_us = 0;
  o.pull_overlap = std::chrono::microseconds(10);
  chat::store_open_error err{};
  auto s = chat::open_durable_store(o, err);
  REQUIRE_MESSAGE(s, err.detail);
  return s;
}

} // namespace

TEST_CASE("durable store: kept across a reopen, window newest first loaded from disk") {
  temp_dir d;
  {
    auto s = open(d.path);
    for (int ts = 1; ts <= 10; ++ts)
      CHECK(s->insert(at(ts)) == result::added);
    CHECK(s->insert(at(4)) == result::duplicate);
    CHECK(stamps(s->window("r")) == std::vector<std::int64_t>{8, 9, 10});
  }
  auto s = open(d.path);
  CHECK(stamps(s->window("r")) == std::vector<std::int64_t>{8, 9, 10});
  CHECK(s->max_ts() == 10);
  CHECK(s->insert(at(2)) == result::duplicate); // older than the window, still known
  CHECK(s->insert(at(11)) == result::added);
  CHECK(s->window("nowhere").empty());
  CHECK(s->room_count() == 1); // an unknown room is not cached
  auto m = s->window("r").back();
  CHECK(m.text == "text 11");
  CHECK(m.user == "ann");
}

TEST_CASE("durable store: scrollback pages, more, an unknown id") {
  temp_dir d;
  auto s = open(d.path);
  for (int ts = 1; ts <= 10; ++ts)
    s->insert(at(ts));
  auto page = s->before("r", at(8).id, 4);
  CHECK(page.found);
  CHECK(stamps(page.messages) == std::vector<std::int64_t>{4, 5, 6, 7});
  CHECK(page.more);
  page = s->before("r", at(4).id, 4);
  CHECK(stamps(page.messages) == std::vector<std::int64_t>{1, 2, 3});
  CHECK_FALSE(page.more);
  page = s->before("r", at(1).id, 4);
  CHECK(page.found);
  CHECK(page.messages.empty());
  CHECK_FALSE(s->before("r", at(99).id, 4).found);
  CHECK_FALSE(s->before("other", at(5).id, 4).found);
}

TEST_CASE("durable store: retry keys survive a reopen and the earlier copy wins") {
  temp_dir d;
  {
    auto s = open(d.path);
    CHECK(s->insert(at(5, "r", "c1")) == result::added);
    CHECK(s->insert(at(7, "r", "c1")) == result::duplicate); // a later copy of the same retry
  }
  auto s = open(d.path);
  auto prev = s->find_retry("r", "ann", "c1");
  REQUIRE(prev);
  CHECK(prev->ts == 5);
  CHECK_FALSE(s->find_retry("r", "bob", "c1"));
  // An earlier copy (a race across nodes) replaces the later one everywhere.
  CHECK(s->insert(at(3, "r", "c1")) == result::added);
  CHECK(s->find_retry("r", "ann", "c1")->ts == 3);
  CHECK(stamps(s->window("r")) == std::vector<std::int64_t>{3});
}

TEST_CASE("durable store: since beyond the window reads the disk") {
  temp_dir d;
  auto s = open(d.path);
  for (int ts = 1; ts <= 10; ++ts)
    s->insert(at(ts));
  auto r = s->since("r", at(5).id);
  CHECK_FALSE(r.gap);
  CHECK(stamps(r.messages) == std::vector<std::int64_t>{6, 7, 8, 9, 10});
  auto unknown = s->since("r", at(50).id);
  CHECK(unknown.gap);
  CHECK(stamps(unknown.messages) == std::vector<std::int64_t>{8, 9, 10});
}

TEST_CASE("durable store: retention keeps the newest `keep` of each room") {
  temp_dir d;
  auto s = open(d.path, 3, 20);
  for (int ts = 1; ts <= 100; ++ts)
    s->insert(at(ts, "r", "c" + std::to_string(ts)));
  s->insert(at(5, "other"));
  // Trimmed every keep/10 writes: the newest 20 at the last trim, plus what came after.
  auto page = s->before("r", at(100).id, 100);
  CHECK(page.messages.size() == 19);
  CHECK(page.messages.front().ts == 81);
  CHECK_FALSE(page.more);
  CHECK_FALSE(s->find_retry("r", "ann", "c50")); // its retry key went with it
  CHECK(s->find_retry("r", "ann", "c90"));
  CHECK(stamps(s->window("other")) == std::vector<std::int64_t>{5});
}

TEST_CASE("durable store: a pull sends what the peer may miss, a page at a time") {
  temp_dir d;
  auto s = open(d.path, 3, 100);
  for (int ts = 1; ts <= 10; ++ts)
    s->insert(at(ts, "a"));
  for (int ts = 1; ts <= 4; ++ts)
    s->insert(at(ts * 100, "b"));
  auto marks = s->marks();
  CHECK(marks == chat::room_marks{{"a", 10}, {"b", 400}});

  SUBCASE("an empty peer gets everything, in pages") {
    std::vector<message> got;
    auto page = s->pull({}, "", "", 6);
    got.insert(got.end(), page.messages.begin(), page.messages.end());
    while (!page.done) {
      page = s->pull({}, page.next_room, page.next_id, 6);
      got.insert(got.end(), page.messages.begin(), page.messages.end());
    }
    CHECK(got.size() == 14);
  }
  SUBCASE("a peer with marks gets its overlap and our window") {
    // Its newest in a is 9 (overlap 10 us: from ts -1), nothing of b.
    auto page = s->pull({{"a", 9}}, "", "", 100);
    CHECK(page.done);
    std::vector<std::int64_t> a_ts;
    for (const auto& m : page.messages)
      if (m.room == "a")
        a_ts.push_back(m.ts);
    CHECK(a_ts.size() == 10); // overlap reaches back past the start
    auto late = s->pull({{"a", 1000}, {"b", 1000}}, "", "", 100);
    // Far ahead of us: each room's window only.
    CHECK(late.messages.size() == 6);
  }
}

TEST_CASE("durable store: --fsync syncs in groups and calls back") {
  temp_dir d;
  auto s = open(d.path, 3, 100, true);
  CHECK(s->syncs());
  std::atomic<int> done{0};
  for (int ts = 1; ts <= 20; ++ts) {
    s->insert(at(ts));
    s->sync([&](bool ok) {
      CHECK(ok);
      ++done;
    });
  }
  for (int i = 0; i < 500 && done < 20; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(done == 20);
}

TEST_CASE("durable store: refuses a directory it did not write") {
  temp_dir d;
  {
    auto s = open(d.path);
    s->insert(at(1));
  }
  SUBCASE("a garbled manifest is corruption") {
    for (const auto& e : fs::directory_iterator(d.path))
      if (e.path().filename().string().rfind("MANIFEST-", 0) == 0)
        std::ofstream(e.path(), std::ios::trunc) << std::string(2000, 'x');
    chat::durable_options o;
    o.dir = d.path.string();
    chat::store_open_error err{};
    CHECK_FALSE(chat::open_durable_store(o, err));
    CHECK(err.what == chat::store_open_error::corrupt);
  }
  SUBCASE("a directory that cannot be created is unusable") {
    chat::durable_options o;
    o.dir = (d.path / "CURRENT" / "sub").string(); // under a file
    chat::store_open_error err{};
    CHECK_FALSE(chat::open_durable_store(o, err));
    CHECK(err.what == chat::store_open_error::unusable);
  }
}

TEST_CASE("ids carry their ts: what the store's key order relies on") {
  CHECK(chat::id_carries_ts(at(1)));
  CHECK(chat::id_carries_ts(at(0x066194d28d8b3b)));
  auto m = at(5);
  m.ts = 6;
  CHECK_FALSE(chat::id_carries_ts(m));
  m = at(5);
  m.id = "zz";
  CHECK_FALSE(chat::id_carries_ts(m));
  m = at(5);
  m.id[14] = 'x';
  CHECK_FALSE(chat::id_carries_ts(m));
  m = at(5);
  m.ts = -1;
  CHECK_FALSE(chat::id_carries_ts(m));
}

TEST_CASE("durable store: the cache of windows stays within its byte bound, rooms in use included") {
  temp_dir d;
  // Windows of 3 messages of 4000-character texts: about 12 KB a room.
  auto s = open(d.path, 3, 100, false, 50'000);
  auto big = [](std::int64_t ts, const std::string& room) {
    auto m = at(ts, room);
    m.text = std::string(4000, 'x');
    return m;
  };
  for (int r = 0; r < 40; ++r)
    for (int i = 1; i <= 3; ++i)
      CHECK(s->insert(big(r * 10 + i, "room" + std::to_string(r))) == result::added);
  CHECK(s->room_count() <= 4); // 50 000 bytes hold about four windows
  std::size_t held = 0;
  for (const auto& [room, n] : s->sizes())
    held += n;
  CHECK(held <= 12);
  // Every room reads back from disk, whole.
  for (int r = 0; r < 40; ++r)
    CHECK(s->window("room" + std::to_string(r)).size() == 3);
  CHECK(s->room_count() <= 4);
  // The room just written is always kept.
  s->insert(big(1000, "room0"));
  auto rooms = s->rooms_by_last_use();
  CHECK(std::find(rooms.begin(), rooms.end(), "room0") != rooms.end());
}
