#include "net/upgrade.hpp"

#include <algorithm>

#include "protocol/names.hpp"
#include "protocol/token.hpp"

namespace chat::net {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string_view target_path(std::string_view target) { return target.substr(0, target.find('?')); }

std::map<std::string, std::string> parse_query(std::string_view target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return out;
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
    if (!key.empty())
      out.emplace(std::move(key), std::move(value));
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::variant<upgrade_ok, upgrade_refusal> check_upgrade(std::string_view target, const upgrade_rules& rules,
                                                        std::int64_t now_s) {
  auto q = parse_query(target);
  upgrade_ok ok;
  if (!rules.auth_secret.empty()) {
    auto tok = q.find("token");
    if (tok == q.end())
      return upgrade_refusal{401, "unauthorized", "a token is required"};
    auto claims = protocol::verify_token(tok->second, rules.auth_secret, now_s);
    if (!claims)
      return upgrade_refusal{401, "unauthorized", "invalid or expired token"};
    auto user = q.find("user");
    if (user != q.end() && user->second != claims->sub)
      return upgrade_refusal{401, "unauthorized", "user does not match the token"};
    ok.user = claims->sub;
    ok.allowed_rooms = claims->rooms;
    ok.expires_at_s = claims->exp;
  } else {
    auto user = q.find("user");
    if (user == q.end())
      return upgrade_refusal{400, "bad_request", "query parameter 'user' is required"};
    if (!protocol::valid_user(user->second))
      return upgrade_refusal{400, "bad_request", "user must be 1 to 32 characters from [A-Za-z0-9_.-]"};
    ok.user = user->second;
  }
  auto rooms = q.find("rooms");
  if (rooms == q.end()) {
    // The default room only where the token allows it: naming no room is
    // not naming a forbidden one.
    if (!ok.allowed_rooms || ok.allowed_rooms->count("lobby"))
      ok.rooms = {"lobby"};
  } else {
    for (auto& r : protocol::split_commas(rooms->second)) {
      if (!protocol::valid_room(r))
        return upgrade_refusal{400, "bad_request", "invalid room name '" + r + "'"};
      if (std::find(ok.rooms.begin(), ok.rooms.end(), r) == ok.rooms.end())
        ok.rooms.push_back(std::move(r));
    }
    if (ok.rooms.size() > rules.max_rooms)
      return upgrade_refusal{400, "too_many_rooms", "at most " + std::to_string(rules.max_rooms) + " rooms"};
  }
  for (const auto& r : ok.rooms)
    if (!protocol::may_hold(ok.user, r))
      return upgrade_refusal{403, "forbidden", "room '" + r + "' is a conversation of two other users"};
  if (ok.allowed_rooms)
    for (const auto& r : ok.rooms)
      if (!ok.allowed_rooms->count(r) && !protocol::own_dm_room(ok.user, r))
        return upgrade_refusal{401, "unauthorized", "the token does not allow room '" + r + "'"};
  return ok;
}

} // namespace chat::net
