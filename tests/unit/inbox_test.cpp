// The inbox of protocol 1.1 as the stores hold it: conversations filed under
// both users, newest activity first, unread counts from read marks and the
// user's own messages, marks that only move forward and page for pulls; on
// the on-disk store across a reopen too.

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <functional>

#include "chat/durable_store.hpp"
#include "chat/inbox.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using chat::message;
using mark_result = chat::history_store::mark_result;

namespace {

/// A message whose id carries its ts, as the nodes make them.
message msg(std::int64_t ts, const std::string& room, const std::string& user) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%014llx", static_cast<unsigned long long>(ts));
  return message{room, std::string(buf) + "-n1-000001", user, "text " + std::to_string(ts), "", ts};
}

std::shared_ptr<chat::history_store> open_durable(const fs::path& dir, std::size_t window = 3) {
  chat::durable_options o;
  o.dir = dir.string();
  o.window = window;
  chat::store_open_error err{};
  auto s = chat::open_durable_store(o, err);
  REQUIRE_MESSAGE(s, err.detail);
  return s;
}

/// Runs `body` on a memory store and on an on-disk one with a window
/// smaller than some unread counts (those are then read back from disk).
void on_each_store(const std::function<void(chat::history_store&)>& body) {
  SUBCASE("memory store") {
    auto s = chat::make_memory_store(50, 0);
    body(*s);
  }
  SUBCASE("durable store") {
    temp_dir d{"inbox"};
    auto s = open_durable(d.path);
    body(*s);
  }
}

const std::string ab = "dm:ann:bob";
const std::string ac = "dm:ann:cat";

} // namespace

TEST_CASE("inbox: a conversation exists for both users from its first message") {
  on_each_store([](chat::history_store& s) {
    CHECK(chat::inbox_of(s, "ann").empty());
    REQUIRE(s.insert(msg(10, ab, "ann")) == chat::room_history::insert_result::added);
    REQUIRE(s.insert(msg(11, "lobby", "ann")) == chat::room_history::insert_result::added);
    auto ann = chat::inbox_of(s, "ann");
    REQUIRE(ann.size() == 1); // ordinary rooms are not conversations
    CHECK(ann[0].room == ab);
    CHECK(ann[0].user == "bob");
    CHECK(ann[0].unread == 0); // your own messages are never unread
    CHECK(ann[0].last.ts == 10);
    auto bob = chat::inbox_of(s, "bob"); // bob never connected
    REQUIRE(bob.size() == 1);
    CHECK(bob[0].user == "ann");
    CHECK(bob[0].unread == 1);
    CHECK(chat::inbox_of(s, "cat").empty());
    CHECK_FALSE(chat::conversation_of(s, ab, "cat")); // not cat's
    CHECK_FALSE(chat::conversation_of(s, "lobby", "ann"));
  });
}

TEST_CASE("inbox: newest activity first") {
  on_each_store([](chat::history_store& s) {
    s.insert(msg(10, ab, "bob"));
    s.insert(msg(20, ac, "cat"));
    auto ann = chat::inbox_of(s, "ann");
    REQUIRE(ann.size() == 2);
    CHECK(ann[0].room == ac);
    CHECK(ann[1].room == ab);
    s.insert(msg(30, ab, "bob"));
    ann = chat::inbox_of(s, "ann");
    CHECK(ann[0].room == ab);
    CHECK(ann[0].unread == 2);
    CHECK(ann[0].last.ts == 30);
    CHECK(chat::inbox_of(s, "ann", 1).size() == 1);
    CHECK(chat::inbox_of(s, "ann", 1)[0].room == ab);
  });
}

TEST_CASE("inbox: unread counts the other user's messages after the later of the read mark and one's own") {
  on_each_store([](chat::history_store& s) {
    for (int ts = 1; ts <= 8; ++ts)
      s.insert(msg(ts, ab, "bob")); // more than the durable window of 3
    CHECK(chat::conversation_of(s, ab, "ann")->unread == 8);
    CHECK(chat::conversation_of(s, ab, "bob")->unread == 0);
    CHECK(s.merge_read_mark({ab, "ann", msg(5, ab, "bob").id}) == mark_result::moved);
    CHECK(s.read_mark_of(ab, "ann") == msg(5, ab, "bob").id);
    CHECK(chat::conversation_of(s, ab, "ann")->unread == 3);
    // Marks only move forward: an older read changes nothing.
    CHECK(s.merge_read_mark({ab, "ann", msg(2, ab, "bob").id}) == mark_result::unchanged);
    CHECK(s.merge_read_mark({ab, "ann", msg(5, ab, "bob").id}) == mark_result::unchanged);
    CHECK(chat::conversation_of(s, ab, "ann")->unread == 3);
    // Answering reads what came before.
    s.insert(msg(9, ab, "ann"));
    CHECK(chat::conversation_of(s, ab, "ann")->unread == 0);
    s.insert(msg(10, ab, "bob"));
    CHECK(chat::conversation_of(s, ab, "ann")->unread == 1);
    CHECK(chat::conversation_of(s, ab, "bob")->unread == 0); // his own 10 follows ann's answer
    s.insert(msg(11, ab, "ann"));
    CHECK(chat::conversation_of(s, ab, "bob")->unread == 1);
    // A mark is per user: bob's does not touch ann's.
    CHECK(s.merge_read_mark({ab, "bob", msg(11, ab, "ann").id}) == mark_result::moved);
    CHECK(chat::conversation_of(s, ab, "bob")->unread == 0);
    CHECK(s.read_mark_of(ab, "ann") == msg(5, ab, "bob").id);
  });
}

TEST_CASE("inbox: contains, and read marks page in (room, user) order for a peer's pull") {
  on_each_store([](chat::history_store& s) {
    auto m = msg(1, ab, "bob");
    s.insert(m);
    CHECK(s.contains(ab, m.id));
    CHECK_FALSE(s.contains(ab, msg(2, ab, "bob").id));
    CHECK_FALSE(s.contains(ac, m.id));
    s.merge_read_mark({ac, "cat", "x3"});
    s.merge_read_mark({ab, "bob", "x2"});
    s.merge_read_mark({ab, "ann", "x1"});
    auto page = s.read_marks("", "", 2);
    REQUIRE(page.size() == 2);
    CHECK(page[0].room == ab);
    CHECK(page[0].user == "ann");
    CHECK(page[0].id == "x1");
    CHECK(page[1].user == "bob");
    auto rest = s.read_marks(page[1].room, page[1].user, 2);
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].room == ac);
    CHECK(rest[0].id == "x3");
    CHECK(s.read_marks(rest[0].room, rest[0].user, 2).empty());
  });
}

TEST_CASE("inbox: the on-disk store keeps conversations and read marks across a reopen") {
  temp_dir d{"inbox"};
  {
    auto s = open_durable(d.path);
    s->insert(msg(1, ab, "bob"));
    s->insert(msg(2, ab, "bob"));
    s->insert(msg(3, ac, "ann"));
    s->merge_read_mark({ab, "ann", msg(1, ab, "bob").id});
  }
  auto s = open_durable(d.path);
  auto ann = chat::inbox_of(*s, "ann");
  REQUIRE(ann.size() == 2);
  CHECK(ann[0].room == ac);
  CHECK(ann[1].room == ab);
  CHECK(ann[1].unread == 1);
  CHECK(s->read_mark_of(ab, "ann") == msg(1, ab, "bob").id);
  REQUIRE(chat::inbox_of(*s, "cat").size() == 1);
  CHECK(chat::inbox_of(*s, "cat")[0].unread == 1);
}
