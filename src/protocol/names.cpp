#include "protocol/names.hpp"

namespace chat::protocol {

namespace {

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

} // namespace

bool valid_user(std::string_view s) {
  if (s.empty() || s.size() > max_user_chars)
    return false;
  for (char c : s)
    if (!word_char(c))
      return false;
  return true;
}

bool valid_room(std::string_view s) {
  if (is_dm_room(s))
    return dm_parties(s).has_value();
  if (s.empty() || s.size() > max_room_chars)
    return false;
  for (char c : s)
    if (!word_char(c) && c != ':')
      return false;
  return true;
}

bool is_dm_room(std::string_view room) { return room.substr(0, dm_prefix.size()) == dm_prefix; }

std::optional<std::pair<std::string_view, std::string_view>> dm_parties(std::string_view room) {
  if (!is_dm_room(room))
    return std::nullopt;
  auto rest = room.substr(dm_prefix.size());
  auto colon = rest.find(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  auto a = rest.substr(0, colon);
  auto b = rest.substr(colon + 1);
  // valid_user admits no ':', so a third one makes b invalid.
  if (!valid_user(a) || !valid_user(b) || !(a < b))
    return std::nullopt;
  return std::make_pair(a, b);
}

std::string dm_room(std::string_view a, std::string_view b) {
  if (b < a)
    std::swap(a, b);
  std::string out{dm_prefix};
  out.append(a).append(":").append(b);
  return out;
}

bool may_hold(std::string_view user, std::string_view room) {
  auto parties = dm_parties(room);
  return !parties || user == parties->first || user == parties->second;
}

bool own_dm_room(std::string_view user, std::string_view room) { return dm_parties(room) && may_hold(user, room); }

std::size_t code_points(std::string_view utf8) {
  std::size_t n = 0;
  for (unsigned char c : utf8)
    if ((c & 0xC0) != 0x80)
      ++n;
  return n;
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty())
    return out;
  std::size_t start = 0;
  for (;;) {
    auto pos = s.find(',', start);
    out.emplace_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos)
      break;
    start = pos + 1;
  }
  return out;
}

} // namespace chat::protocol
