#pragma once

// Whether a session may queue one more outgoing frame: the per-connection
// bound, then the node-wide one. Pure, so the policy is unit tested.

#include <cstddef>

namespace chat::net {

enum class admission {
  queue,               ///< queue the frame
  over_own_bound,      ///< close: this connection's queue would pass --max-queue-bytes
  behind_on_full_node, ///< close: the node's queues would pass --max-node-queue-bytes and this one is behind
};

/// `own`: bytes this session has queued and not yet written (the frame in
/// flight included); `node`: the same summed over every session. A session
/// with nothing queued is keeping up and gets the frame even on a full
/// node: the sessions that are behind are the ones to go.
inline admission admit(std::size_t frame, std::size_t own, std::size_t node, std::size_t max_own,
                       std::size_t max_node) {
  if (own + frame > max_own)
    return admission::over_own_bound;
  if (own > 0 && node + frame > max_node)
    return admission::behind_on_full_node;
  return admission::queue;
}

} // namespace chat::net
