// chat/room_history and chat/history_store: history order, bounds, retries,
// resume, and the property that histories merge identically.

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "chat/history_store.hpp"
#include "chat/room_history.hpp"
#include "chat/seen_ids.hpp"

using chat::message;
using chat::room_history;
using result = room_history::insert_result;

namespace {

message msg(std::int64_t ts, std::string id, std::string user = "ann", std::string client_id = "",
            std::string room = "lobby") {
  return message{std::move(room), std::move(id), std::move(user), "text", std::move(client_id), ts};
}

std::vector<std::string> ids(const std::vector<message>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms)
    out.push_back(m.id);
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("history_before orders by ts, then id as bytes") {
  CHECK(chat::history_before(msg(1, "z"), msg(2, "a")));
  CHECK(chat::history_before(msg(5, "a"), msg(5, "b")));
  CHECK_FALSE(chat::history_before(msg(5, "b"), msg(5, "a")));
  CHECK_FALSE(chat::history_before(msg(5, "a"), msg(5, "a")));
  CHECK(chat::history_before(msg(5, "B"), msg(5, "a"))); // 'B' (0x42) < 'a' (0x61)
  CHECK(chat::history_before(msg(5, "a"), msg(5, "a0")));
  CHECK(chat::history_before(msg(5, "\x7f"), msg(5, "\x80"))); // plain bytes, not signed chars
}

TEST_CASE("room_history keeps history order whatever the insertion order") {
  room_history h{10};
  CHECK(h.size() == 0);
  CHECK(h.max_ts() == 0);
  CHECK(h.insert(msg(30, "c")) == result::added);
  CHECK(h.insert(msg(10, "a")) == result::added);
  CHECK(h.insert(msg(20, "z")) == result::added);
  CHECK(h.insert(msg(20, "b")) == result::added);
  CHECK(h.insert(msg(20, "B")) == result::added);
  CHECK(ids(h.window()) == strings{"a", "B", "b", "z", "c"});
  CHECK(h.size() == 5);
  CHECK(h.max_ts() == 30);
}

TEST_CASE("room_history keeps the newest N") {
  room_history h{3};
  for (int i = 1; i <= 5; ++i)
    CHECK(h.insert(msg(i * 10, "m" + std::to_string(i))) == result::added);
  CHECK(ids(h.window()) == strings{"m3", "m4", "m5"});
  CHECK(h.size() == 3);
  CHECK(h.max_ts() == 50);

  SUBCASE("a message older than the whole full window is too_old and changes nothing") {
    CHECK(h.insert(msg(5, "old")) == result::too_old);
    CHECK(h.insert(msg(30, "a")) == result::too_old); // same ts as the oldest, smaller id
    CHECK(ids(h.window()) == strings{"m3", "m4", "m5"});
  }
  SUBCASE("a late message inside the window pushes the oldest out") {
    CHECK(h.insert(msg(35, "late")) == result::added);
    CHECK(ids(h.window()) == strings{"late", "m4", "m5"});
  }
  SUBCASE("a message just after the oldest is added") {
    CHECK(h.insert(msg(30, "m3x")) == result::added);
    CHECK(ids(h.window()) == strings{"m3x", "m4", "m5"});
  }
  SUBCASE("a message that was evicted cannot come back") {
    CHECK(h.insert(msg(10, "m1")) == result::too_old);
    CHECK(ids(h.window()) == strings{"m3", "m4", "m5"});
  }
}

TEST_CASE("room_history: a window that is not full takes any old message") {
  room_history h{3};
  CHECK(h.insert(msg(50, "b")) == result::added);
  CHECK(h.insert(msg(1, "a")) == result::added);
  CHECK(ids(h.window()) == strings{"a", "b"});
}

TEST_CASE("room_history: a capacity of 0 keeps one message") {
  room_history h{0};
  CHECK(h.insert(msg(1, "a")) == result::added);
  CHECK(h.insert(msg(2, "b")) == result::added);
  CHECK(ids(h.window()) == strings{"b"});
}

TEST_CASE("room_history: a duplicate id is refused") {
  room_history h{5};
  CHECK(h.insert(msg(10, "a")) == result::added);
  CHECK(h.insert(msg(10, "a")) == result::duplicate);
  SUBCASE("even with another ts or text") {
    auto again = msg(99, "a");
    again.text = "different";
    CHECK(h.insert(again) == result::duplicate);
  }
  CHECK(h.size() == 1);
  CHECK(h.window().front().ts == 10);
}

TEST_CASE("room_history: find_retry by user and client_id") {
  room_history h{10};
  h.insert(msg(10, "a", "ann", "c1"));
  h.insert(msg(20, "b", "bob", "c1"));
  h.insert(msg(30, "c", "ann", ""));
  h.insert(msg(40, "d", "ann", "c2"));

  auto* ann = h.find_retry("ann", "c1");
  REQUIRE(ann != nullptr);
  CHECK(ann->id == "a");
  auto* bob = h.find_retry("bob", "c1");
  REQUIRE(bob != nullptr);
  CHECK(bob->id == "b");
  REQUIRE(h.find_retry("ann", "c2") != nullptr);
  CHECK(h.find_retry("ann", "c2")->id == "d");

  SUBCASE("not across users") {
    CHECK(h.find_retry("bob", "c2") == nullptr);
    CHECK(h.find_retry("cat", "c1") == nullptr);
  }
  SUBCASE("an empty client_id never matches") { CHECK(h.find_retry("ann", "") == nullptr); }
  SUBCASE("unknown client_id") { CHECK(h.find_retry("ann", "c9") == nullptr); }
  SUBCASE("only while the original is in the window") {
    room_history small{2};
    small.insert(msg(10, "a", "ann", "c1"));
    small.insert(msg(20, "b", "ann", ""));
    CHECK(small.find_retry("ann", "c1") != nullptr);
    small.insert(msg(30, "c", "ann", ""));
    CHECK(small.find_retry("ann", "c1") == nullptr);
  }
}

TEST_CASE("room_history::since") {
  room_history h{10};
  for (int i = 1; i <= 5; ++i)
    h.insert(msg(i * 1000, "m" + std::to_string(i)));

  SUBCASE("an unknown id is a gap with the whole window") {
    auto r = h.since("nope", 0);
    CHECK(r.gap);
    CHECK(ids(r.messages) == strings{"m1", "m2", "m3", "m4", "m5"});
  }
  SUBCASE("a known id gives everything after it, without it") {
    auto r = h.since("m3", 0);
    CHECK_FALSE(r.gap);
    CHECK(ids(r.messages) == strings{"m4", "m5"});
  }
  SUBCASE("the newest id gives nothing") {
    auto r = h.since("m5", 0);
    CHECK_FALSE(r.gap);
    CHECK(r.messages.empty());
  }
  SUBCASE("a late message with an older ts that arrived after the mark is included") {
    CHECK(h.insert(msg(1500, "late")) == result::added);
    auto r = h.since("m3", 0);
    CHECK_FALSE(r.gap);
    CHECK(ids(r.messages) == strings{"late", "m4", "m5"});
    SUBCASE("but not for a mark that arrived after it") {
      CHECK(h.insert(msg(6000, "m6")) == result::added);
      auto r6 = h.since("m6", 0);
      CHECK(r6.messages.empty());
    }
  }
  SUBCASE("messages within the overlap before the mark are included") {
    auto r = h.since("m3", 1000); // m2 is exactly 1000 us before m3
    CHECK(ids(r.messages) == strings{"m2", "m4", "m5"});
    auto r2 = h.since("m3", 999);
    CHECK(ids(r2.messages) == strings{"m4", "m5"});
    auto all = h.since("m5", 1'000'000);
    CHECK(ids(all.messages) == strings{"m1", "m2", "m3", "m4"});
  }
  SUBCASE("a message with the mark's ts but a smaller id counts as within the overlap") {
    room_history e{10};
    e.insert(msg(100, "a")); // arrived before the mark, ordered before it
    e.insert(msg(100, "b"));
    e.insert(msg(100, "c"));
    e.insert(msg(99, "z")); // arrived after the mark
    CHECK(ids(e.since("b", 0).messages) == strings{"z", "a", "c"});
  }
  SUBCASE("a mark evicted from the window is a gap") {
    room_history small{2};
    small.insert(msg(1, "a"));
    small.insert(msg(2, "b"));
    small.insert(msg(3, "c"));
    auto r = small.since("a", 0);
    CHECK(r.gap);
    CHECK(ids(r.messages) == strings{"b", "c"});
  }
}

TEST_CASE("histories fed the same messages in any order end up identical") {
  std::mt19937 rng{12345};
  std::vector<message> all;
  // Several messages share a ts so that the id decides their order.
  for (int i = 0; i < 60; ++i)
    all.push_back(msg(1000 + (i / 3) * 10, "id-" + std::to_string(rng() % 100000) + "-" + std::to_string(i)));

  auto expected_newest = [&](std::size_t n) {
    auto v = all;
    std::sort(v.begin(), v.end(), chat::history_before);
    if (v.size() > n)
      v.erase(v.begin(), v.end() - static_cast<std::ptrdiff_t>(n));
    return ids(v);
  };

  for (std::size_t capacity : {std::size_t{100}, std::size_t{60}, std::size_t{25}, std::size_t{1}}) {
    CAPTURE(capacity);
    auto reference = expected_newest(capacity);
    for (int round = 0; round < 30; ++round) {
      CAPTURE(round);
      auto a_order = all;
      auto b_order = all;
      std::shuffle(a_order.begin(), a_order.end(), rng);
      std::shuffle(b_order.begin(), b_order.end(), rng);
      // B also sees some messages twice, as after a history pull.
      b_order.insert(b_order.end(), a_order.begin(), a_order.begin() + 10);
      room_history a{capacity};
      room_history b{capacity};
      for (const auto& m : a_order)
        a.insert(m);
      for (const auto& m : b_order)
        b.insert(m);
      REQUIRE(ids(a.window()) == reference);
      REQUIRE(ids(b.window()) == reference);
      CHECK(a.max_ts() == b.max_ts());
    }
  }
}

TEST_CASE("memory history_store") {
  auto store = chat::make_memory_store(3, 1000);

  SUBCASE("an unknown room is empty, a gap and no retry") {
    CHECK(store->window("nowhere").empty());
    auto r = store->since("nowhere", "x");
    CHECK(r.gap);
    CHECK(r.messages.empty());
    CHECK_FALSE(store->find_retry("nowhere", "ann", "c1").has_value());
    CHECK(store->pull({}, "", "", 100).messages.empty());
    CHECK(store->sizes().empty());
    CHECK(store->max_ts() == 0);
  }

  SUBCASE("rooms are isolated") {
    CHECK(store->insert(msg(10, "a1", "ann", "c1", "a")) == result::added);
    CHECK(store->insert(msg(20, "a2", "ann", "", "a")) == result::added);
    CHECK(store->insert(msg(15, "b1", "ann", "", "b")) == result::added);
    CHECK(ids(store->window("a")) == strings{"a1", "a2"});
    CHECK(ids(store->window("b")) == strings{"b1"});
    CHECK(store->find_retry("a", "ann", "c1").has_value());
    CHECK_FALSE(store->find_retry("b", "ann", "c1").has_value());
    CHECK(store->find_retry("a", "ann", "c1")->id == "a1");

    SUBCASE("the same id in two rooms is two messages") {
      CHECK(store->insert(msg(10, "a1", "ann", "", "b")) == result::added);
      CHECK(store->insert(msg(10, "a1", "ann", "", "a")) == result::duplicate);
    }
    SUBCASE("the bound is per room") {
      for (int i = 0; i < 5; ++i)
        store->insert(msg(100 + i, "x" + std::to_string(i), "ann", "", "a"));
      CHECK(store->window("a").size() == 3);
      CHECK(store->window("b").size() == 1);
    }
    SUBCASE("a pull gets every room's window, a page at a time") {
      CHECK(sorted(ids(store->pull({}, "", "", 100).messages)) == strings{"a1", "a2", "b1"});
      auto first = store->pull({}, "", "", 1);
      CHECK_FALSE(first.done);
      CHECK(ids(first.messages) == strings{"a1"});
      auto second = store->pull({}, first.next_room, first.next_id, 5);
      CHECK(second.done);
      CHECK(ids(second.messages) == strings{"a2", "b1"});
    }
    SUBCASE("scrollback within what is held") {
      auto page = store->before("a", "a2", 10);
      CHECK(page.found);
      CHECK(ids(page.messages) == strings{"a1"});
      CHECK_FALSE(page.more);
      CHECK_FALSE(store->before("a", "nope", 10).found);
    }
    SUBCASE("sizes() per room") { CHECK(store->sizes() == std::map<std::string, std::size_t>{{"a", 2}, {"b", 1}}); }
    SUBCASE("max_ts() over all rooms") { CHECK(store->max_ts() == 20); }
    SUBCASE("since uses the store's overlap") {
      CHECK(store->insert(msg(1010, "a3", "ann", "", "a")) == result::added);
      auto r = store->since("a", "a3");
      CHECK_FALSE(r.gap);
      // a2 is 990 us before a3: inside the 1000 us overlap; a1 (1000 us) too.
      CHECK(ids(r.messages) == strings{"a1", "a2"});
      auto unknown = store->since("a", "zzz");
      CHECK(unknown.gap);
      CHECK(ids(unknown.messages) == strings{"a1", "a2", "a3"});
    }
  }
}

TEST_CASE("seen_ids remembers the newest ids, oldest forgotten first") {
  chat::seen_ids s{3};
  CHECK_FALSE(s.contains("a"));
  CHECK(s.add("a"));
  CHECK(s.contains("a"));
  CHECK_FALSE(s.add("a"));
  CHECK(s.add("b"));
  CHECK(s.add("c"));
  CHECK(s.contains("a"));
  CHECK(s.add("d")); // evicts "a"
  CHECK_FALSE(s.contains("a"));
  CHECK(s.contains("b"));
  CHECK(s.contains("c"));
  CHECK(s.contains("d"));
  SUBCASE("a repeat does not refresh its place") {
    CHECK_FALSE(s.add("b"));
    CHECK(s.add("e")); // evicts "b", the oldest added
    CHECK_FALSE(s.contains("b"));
    CHECK(s.contains("c"));
  }
  SUBCASE("an evicted id is new again") {
    CHECK(s.add("a"));
    CHECK_FALSE(s.contains("b"));
  }
}

TEST_CASE("seen_ids: once full, each new id takes the oldest one's place, round after round") {
  // Short ids live inside their string, long ones on the heap: a slot
  // reused by an id of the other kind must still be found, and its old id
  // not.
  chat::seen_ids s{3};
  auto id = [](int i) { return i % 2 ? "s" + std::to_string(i) : "a-long-id-kept-on-the-heap-" + std::to_string(i); };
  for (int i = 0; i < 40; ++i) {
    CHECK(s.add(id(i)));
    CHECK_FALSE(s.add(id(i)));
    for (int back = 0; back < 3 && back <= i; ++back)
      CHECK(s.contains(id(i - back)));
    if (i >= 3)
      CHECK_FALSE(s.contains(id(i - 3)));
  }
}

TEST_CASE("memory history_store: last use and eviction") {
  auto store = chat::make_memory_store(3, 1000);
  store->insert(msg(10, "a1", "ann", "", "a"));
  store->insert(msg(11, "b1", "ann", "", "b"));
  store->insert(msg(12, "c1", "ann", "", "c"));
  CHECK(store->room_count() == 3);
  CHECK(store->rooms_by_last_use() == strings{"a", "b", "c"});

  SUBCASE("reading a room's window or resuming in it counts as use") {
    store->window("a");
    CHECK(store->rooms_by_last_use() == strings{"b", "c", "a"});
    store->since("b", "b1");
    CHECK(store->rooms_by_last_use() == strings{"c", "a", "b"});
  }
  SUBCASE("an evicted room is forgotten whole") {
    store->evict("b");
    CHECK(store->room_count() == 2);
    CHECK(store->window("b").empty());
    CHECK(store->rooms_by_last_use() == strings{"a", "c"});
    CHECK(store->insert(msg(11, "b1", "ann", "", "b")) == result::added);
  }
  SUBCASE("evicting an unknown room changes nothing") {
    store->evict("nowhere");
    CHECK(store->room_count() == 3);
  }
}

TEST_CASE("room_history counts the bytes it holds, through evictions, replacements and erases") {
  room_history h(2);
  CHECK(h.bytes() == 0);
  h.insert(msg(1, "a", "ann"));
  auto one = h.bytes();
  CHECK(one > 0);
  h.insert(msg(2, "b", "ann"));
  h.insert(msg(3, "c", "ann")); // evicts a
  CHECK(h.bytes() == 2 * one);
  h.erase("b");
  CHECK(h.bytes() == one);
  h.erase("c");
  CHECK(h.bytes() == 0);
  h.insert(msg(5, "late", "ann", "k"));
  auto late = h.bytes();
  h.insert(msg(4, "early", "ann", "k")); // the earlier copy of the same retry replaces it
  CHECK(h.size() == 1);
  CHECK(h.bytes() == late + 1); // "early" is one byte longer than "late"
}

TEST_CASE("seen_ids: ids that share a probe run stay findable as older ones leave") {
  // Many ids, a small capacity: the table's runs collide and wrap, and each
  // eviction shifts entries back; every kept id must still be found, every
  // evicted one not, whatever the order of their hashes.
  constexpr int capacity = 7;
  chat::seen_ids s{capacity};
  for (int i = 0; i < 2000; ++i) {
    auto id = "m" + std::to_string(i * 7919 % 100003);
    REQUIRE(s.add(id));
    REQUIRE_FALSE(s.add(id));
    for (int back = 0; back < capacity && back <= i; ++back)
      REQUIRE(s.contains("m" + std::to_string((i - back) * 7919 % 100003)));
    if (i >= capacity)
      REQUIRE_FALSE(s.contains("m" + std::to_string((i - capacity) * 7919 % 100003)));
  }
}
