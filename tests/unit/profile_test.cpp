// Profiles in the stores: last writer wins (by ts, then node) whatever order
// copies arrive in, pages for a peer's pull, the field bounds, and the
// on-disk store keeping profiles across a reopen.

#include <doctest/doctest.h>

#include <functional>

#include "chat/durable_store.hpp"
#include "chat/profile.hpp"
#include "temp_dir.hpp"

using chat::profile;
using mark_result = chat::history_store::mark_result;

namespace {

std::shared_ptr<chat::history_store> open_durable(const std::filesystem::path& dir) {
  chat::durable_options o;
  o.dir = dir.string();
  chat::store_open_error err{};
  auto s = chat::open_durable_store(o, err);
  REQUIRE_MESSAGE(s, err.detail);
  return s;
}

void on_each_store(const std::function<void(chat::history_store&)>& body) {
  SUBCASE("memory store") {
    auto s = chat::make_memory_store(50, 0);
    body(*s);
  }
  SUBCASE("durable store") {
    temp_dir d{"profile"};
    auto s = open_durable(d.path);
    body(*s);
  }
}

} // namespace

TEST_CASE("profiles: the last writer wins, by ts then node, in any order of arrival") {
  on_each_store([](chat::history_store& s) {
    auto none = s.profile_of("ann");
    CHECK(none.user == "ann");
    CHECK(none.ts == 0);
    CHECK(none.name.empty());
    profile a{"ann", "Ann", "here", 100, "n1"};
    profile b{"ann", "Annie", "", 200, "n2"};
    profile tie{"ann", "Tie", "", 200, "n3"};
    CHECK(s.merge_profile(b) == mark_result::moved);
    CHECK(s.merge_profile(a) == mark_result::unchanged); // older, arrived later
    CHECK(s.profile_of("ann").name == "Annie");
    CHECK(s.merge_profile(tie) == mark_result::moved); // same ts: the greater node
    CHECK(s.merge_profile(b) == mark_result::unchanged);
    auto kept = s.profile_of("ann");
    CHECK(kept.name == "Tie");
    CHECK(kept.ts == 200);
    CHECK(kept.node == "n3");
    CHECK(s.merge_profile(tie) == mark_result::unchanged); // the same copy again
  });
}

TEST_CASE("profiles: pages in user order for a peer's pull") {
  on_each_store([](chat::history_store& s) {
    for (const char* u : {"cat", "ann", "bob"})
      s.merge_profile({u, std::string("name of ") + u, "", 10, "n1"});
    auto page = s.profiles("", 2);
    REQUIRE(page.size() == 2);
    CHECK(page[0].user == "ann");
    CHECK(page[1].user == "bob");
    CHECK(page[1].name == "name of bob");
    auto rest = s.profiles("bob", 2);
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].user == "cat");
    CHECK(s.profiles("cat", 2).empty());
  });
}

TEST_CASE("profiles: the on-disk store keeps them across a reopen") {
  temp_dir d{"profile"};
  open_durable(d.path)->merge_profile({"ann", "Ann", "on call — ☎", 42, "n2"});
  auto p = open_durable(d.path)->profile_of("ann");
  CHECK(p.name == "Ann");
  CHECK(p.status == "on call — ☎");
  CHECK(p.ts == 42);
  CHECK(p.node == "n2");
}

TEST_CASE("profiles: name up to 64 and status up to 140 code points") {
  CHECK(chat::profile_fault("", "").empty());
  CHECK(chat::profile_fault(std::string(64, 'x'), std::string(140, 'y')).empty());
  std::string emoji;
  for (int i = 0; i < 64; ++i)
    emoji += "\xF0\x9F\x98\x80"; // 64 code points, 256 bytes
  CHECK(chat::profile_fault(emoji, "").empty());
  CHECK(chat::profile_fault(std::string(65, 'x'), "") == "name: at most 64 characters");
  CHECK(chat::profile_fault("", std::string(141, 'y')) == "status: at most 140 characters");
}
