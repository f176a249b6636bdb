#pragma once

#include <cstdint>
#include <string>
#include <tuple>

namespace chat {

/// One chat message as stored in history and replicated between nodes.
struct message {
  std::string room;
  std::string id; ///< unique across the cluster, opaque to clients
  std::string user;
  std::string text;
  std::string client_id; ///< the sender's retry key; empty when none was given
  std::int64_t ts = 0;   ///< hybrid logical clock, microseconds since the epoch
};

/// History order, the same on every node: ts, then id as plain bytes.
inline bool history_before(const message& a, const message& b) { return std::tie(a.ts, a.id) < std::tie(b.ts, b.id); }

/// Every id starts with its message's ts as 14 lowercase hex digits
/// (id_generator), so ids alone sort a room's messages in history order:
/// the on-disk store keys on them. Peers' messages are checked for it.
inline bool id_carries_ts(const message& m) {
  static constexpr char digits[] = "0123456789abcdef";
  if (m.id.size() < 15 || m.id[14] != '-' || m.ts < 0)
    return false;
  auto ts = static_cast<std::uint64_t>(m.ts);
  for (int i = 13; i >= 0; --i, ts >>= 4)
    if (m.id[static_cast<std::size_t>(i)] != digits[ts & 0xf])
      return false;
  return ts == 0;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message& x) {
  return f(x.room, x.id, x.user, x.text, x.client_id, x.ts);
}

} // namespace chat
