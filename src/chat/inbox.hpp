#pragma once

// A user's DM conversations as the inbox shows them (protocol 1.1), computed
// from what the store holds: its conversation index, the rooms' messages and
// the user's read marks. Every node computes them from its own copy, so the
// counts agree once the messages and marks have reached every node.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "chat/history_store.hpp"
#include "protocol/frames.hpp"

namespace chat {

/// Conversations listed in an `inbox` frame, newest activity first: a user
/// with more sees the older ones again when they get a message. Bounds the
/// work of a connect and the frame, whoever wrote to the user.
constexpr std::size_t max_inbox = 200;
/// Unread counts stop here.
constexpr std::size_t max_unread = 10000;

/// The conversation in DM room `room` as `user` (one of its two users) sees
/// it; nullopt when the room holds no message or is not theirs.
std::optional<protocol::conversation> conversation_of(const history_store& store, const std::string& room,
                                                      const std::string& user);

/// The user's conversations, newest activity first, at most `max`.
std::vector<protocol::conversation> inbox_of(const history_store& store, const std::string& user,
                                             std::size_t max = max_inbox);

} // namespace chat
