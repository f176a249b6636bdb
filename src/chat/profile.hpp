#pragma once

// A user's profile (protocol 1.1 companion, HTTP only): a display name and a
// status text, one register per user that the last writer wins, replicated
// to every node by the profile store (chat/profile_store.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace chat {

struct profile {
  std::string user;
  std::string name;    ///< display name; empty: none
  std::string status;  ///< status text; empty: none
  std::int64_t ts = 0; ///< when it was written (hybrid clock, microseconds); 0: never
  std::string node;    ///< the node that wrote it: breaks ties between equal ts
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, profile& x) {
  return f(x.user, x.name, x.status, x.ts, x.node);
}

/// Last writer wins: the later ts, then the greater node name, so that
/// copies merged in any order end the same on every node.
inline bool written_after(const profile& a, const profile& b) {
  return std::tie(a.ts, a.node) > std::tie(b.ts, b.node);
}

/// Longest display name and status text, in Unicode code points.
constexpr std::size_t max_profile_name_chars = 64;
constexpr std::size_t max_profile_status_chars = 140;

/// Why these fields cannot be stored (an empty message when they can):
/// what the HTTP answer and a peer's copy are checked against.
std::string profile_fault(const std::string& name, const std::string& status);

/// A PUT /api/users/USER/profile body, read (docs/protocol.md, "Profiles"):
/// a JSON object whose `name` and `status` are each a string, null or left
/// out, within the bounds above.
struct profile_body {
  std::string name;    ///< "" when left out or null
  std::string status;  ///< "" when left out or null
  std::string error;   ///< empty: accepted; else the refusal's code: bad_json, bad_request or too_large
  std::string message; ///< what a refusal says
};

profile_body parse_profile_body(std::string_view body);

} // namespace chat
