#pragma once

// Checks a WebSocket upgrade's query (user, rooms, token) before anything is
// upgraded. Pure, so every refusal is unit tested.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chat::net {

struct upgrade_ok {
  std::string user;
  std::vector<std::string> rooms;
  std::optional<std::set<std::string>> allowed_rooms;
  std::optional<std::int64_t> expires_at_s; ///< the token's exp, when a token was checked
};

struct upgrade_refusal {
  unsigned status; ///< 400 or 401
  std::string code;
  std::string message;
};

struct upgrade_rules {
  std::size_t max_rooms = 50;
  std::string auth_secret; ///< empty: no token needed
};

/// `target` is the request target, e.g. "/ws?user=ann&rooms=a,b".
std::variant<upgrade_ok, upgrade_refusal> check_upgrade(std::string_view target, const upgrade_rules& rules,
                                                        std::int64_t now_s);

/// Splits a target's query into decoded key/value pairs (first occurrence wins).
std::map<std::string, std::string> parse_query(std::string_view target);

/// %XX escapes decoded, and '+' as a space (as in a query string).
std::string percent_decode(std::string_view s);

/// The path part of a target, without the query.
std::string_view target_path(std::string_view target);

} // namespace chat::net
