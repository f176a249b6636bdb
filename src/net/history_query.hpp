#pragma once

// What the HTTP API reads from a request besides its path: the history
// route's query (GET /api/rooms/ROOM/history?before=ID&limit=N) and the
// token a request carries. Pure, so that a fuzz harness
// (tests/fuzz/history_query_fuzz.cpp) reaches them without a server.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace chat::net {

/// What a history request asks for (docs/protocol.md, "HTTP endpoints").
struct history_query {
  std::optional<std::string> before; ///< scrollback: the page before this id; none: the newest window
  std::size_t limit = 50;            ///< messages per page (scrollback only)
  std::string error;                 ///< not empty: refused (400 bad_request) with this message
};

/// Reads `before` and `limit` from a request target's query: `before`, when
/// given, is 1 to protocol::max_id_bytes bytes; `limit` only with `before`,
/// as 1 to 3 decimal digits from 1 to protocol::max_history_limit.
history_query parse_history_query(std::string_view target);

/// The token of a request: its `token` query parameter when it has one (even
/// empty), else what follows "Bearer " (any case) in `authorization`, the
/// value of its first Authorization header if it has one; empty when none.
std::string token_from(std::string_view target, std::optional<std::string_view> authorization);

} // namespace chat::net
