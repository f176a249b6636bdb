#pragma once

#include <cstdint>
#include <string>
#include <tuple>

namespace chat {

/// One chat message as stored in history and replicated between nodes.
struct message {
  std::string room;
  std::string id;   ///< unique across the cluster, opaque to clients
  std::string user;
  std::string text;
  std::string client_id; ///< the sender's retry key; empty when none was given
  std::int64_t ts = 0;   ///< hybrid logical clock, microseconds since the epoch
};

/// History order, the same on every node: ts, then id as plain bytes.
inline bool history_before(const message& a, const message& b) {
  return std::tie(a.ts, a.id) < std::tie(b.ts, b.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message& x) {
  return f(x.room, x.id, x.user, x.text, x.client_id, x.ts);
}

} // namespace chat
