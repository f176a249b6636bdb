#pragma once

// Who is in which room, on every node, as the chat server sees it: its own
// node's connections (joined through it, monitored, announced to the group
// scope) and the peers' members (from the scope's notices); presence frames
// when a user's first connection joins a room or its last one leaves; the
// binding to the scope, again after it restarts.

#include <map>
#include <string>
#include <vector>

#include "chat/chat_server_parts.hpp"

namespace chat::detail {

/// Joins `conn` to each room and answers with what it needs to start there:
/// members, and the history window or what it missed since an id.
std::vector<room_snapshot> subscribe(self_ptr self, const std::vector<std::string>& rooms,
                                     const std::map<std::string, std::string>& since, const member& conn);

void local_leave(self_ptr self, const std::string& room, const caf::actor& a);

/// The scope's notices: other nodes' members joined or left groups (rooms,
/// or the chat servers'); this node's own members are known here first.
void on_group_changes(self_ptr self, const cluster::changes& cs);

/// Finds the node's group scope (retrying until it is registered), joins
/// our connections and this chat server, and adopts the scope's view.
void bind_scope(self_ptr self);

/// The scope died (bind the next one) or one of our connections did (it
/// leaves its rooms).
void on_down(self_ptr self, const caf::down_msg& dm);

/// Joined `room` on this node within the join settle time: the originator
/// of a message may not have known it yet.
bool recently_joined(self_ptr self, const caf::actor& a, const std::string& room);

} // namespace chat::detail
