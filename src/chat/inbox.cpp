#include "chat/inbox.hpp"

#include "protocol/names.hpp"

namespace chat {

namespace {

/// Messages read back per step when the unread ones reach past the window.
constexpr std::size_t unread_page = 500;

/// The other user's messages after both the read mark and the user's own
/// newest message: a user has read what they answered.
std::size_t count_unread(const history_store& store, const std::string& room, const std::string& user,
                         std::vector<message> page) {
  auto mark = store.read_mark_of(room, user);
  std::size_t unread = 0;
  while (!page.empty()) {
    for (auto it = page.rbegin(); it != page.rend(); ++it) {
      if (it->user == user || (!mark.empty() && it->id <= mark) || unread == max_unread)
        return unread;
      ++unread;
    }
    auto older = store.before(room, page.front().id, unread_page);
    if (!older.found)
      break;
    page = std::move(older.messages);
  }
  return unread;
}

} // namespace

std::optional<protocol::conversation> conversation_of(const history_store& store, const std::string& room,
                                                      const std::string& user) {
  auto parties = protocol::dm_parties(room);
  if (!parties || (parties->first != user && parties->second != user))
    return std::nullopt;
  auto window = store.window(room);
  if (window.empty())
    return std::nullopt;
  protocol::conversation c;
  c.room = room;
  c.user = std::string(parties->first == user ? parties->second : parties->first);
  c.last = window.back();
  c.unread = count_unread(store, room, user, std::move(window));
  return c;
}

std::vector<protocol::conversation> inbox_of(const history_store& store, const std::string& user, std::size_t max) {
  std::vector<protocol::conversation> out;
  for (const auto& ref : store.conversations(user, max))
    if (auto c = conversation_of(store, ref.room, user))
      out.push_back(std::move(*c));
  return out;
}

} // namespace chat
