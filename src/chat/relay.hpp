#pragma once

// Typing indicators and read receipts: sent to every member of the room but
// the user's own connections, on every node, and never stored.

#include <optional>
#include <string>
#include <vector>

#include "chat/chat_server_parts.hpp"

namespace chat::detail {

/// A typing (`value` "start"/"stop") or read (`value` the id) frame; each
/// node builds it from these fields, so a peer cannot slip in another frame.
std::optional<std::string> relay_frame(const std::string& room, const std::string& user, const std::string& kind,
                                       const std::string& value);

/// Local members directly, each other node's through one message to its
/// chat server naming exactly those recipients.
void fan_out(self_ptr self, const std::string& room, const std::string& user, const std::string& kind,
             const std::string& value);

/// A peer's relay: its frame to exactly the recipients it names here.
void relay_here(self_ptr self, const std::string& room, const std::string& frame,
                const std::vector<caf::actor>& recipients);

} // namespace chat::detail
