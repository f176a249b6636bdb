#include "protocol/names.hpp"

namespace chat::protocol {

namespace {

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

} // namespace

bool valid_user(std::string_view s) {
  if (s.empty() || s.size() > 32)
    return false;
  for (char c : s)
    if (!word_char(c))
      return false;
  return true;
}

bool valid_room(std::string_view s) {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!word_char(c) && c != ':')
      return false;
  return true;
}

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
