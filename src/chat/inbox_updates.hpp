#pragma once

// The chat server's side of the inbox (protocol 1.1): each connection's
// `inbox` at start and its `inbox_update` frames after, the read marks
// (from this node's connections, from peers, pulled when a peer arrives).
// Every node stores every DM message and every read mark, and tells only
// its own connections: each change reaches each connection once.

#include <string>
#include <vector>

#include "chat/chat_server_parts.hpp"

namespace chat::detail {

/// A connection's first request: from now on it hears of its user's
/// conversations, and its frames go to `sink`; it is answered with the
/// `inbox` frame.
void open_inbox(self_ptr self, const member& conn, std::weak_ptr<frame_sink> sink);

/// At start: the connections a chat server before this one knew, watched
/// again (this chat server restarted).
void adopt_inboxes(self_ptr self);

/// Whether a local connection is known here through its inbox (and so
/// watched for as long as it lives).
bool has_inbox(self_ptr self, const caf::actor& conn);

/// The connection went away.
void close_inbox(self_ptr self, const caf::actor& conn);

/// A message of a DM room reached this node's connections: its other user's
/// connections here hear of it, and its sender's when it `started` the
/// conversation or answered messages the sender had not read (their read
/// position moved).
void conversation_changed(self_ptr self, const message& m, bool started);

/// Whether storing `m` here starts its DM conversation on this node.
bool starts_conversation(self_ptr self, const message& m);

/// A `read` from a local connection. In a DM room the id must be held here
/// (else `not_found`), and the read mark moves on every node.
void on_read(self_ptr self, const std::string& room, const std::string& user, const std::string& id,
             const caf::actor& conn);

/// A read mark this protocol could have made: a DM room, one of its users,
/// an id.
bool valid_read_mark(const read_mark& m);

/// A peer's read mark (checked).
void on_peer_read_mark(self_ptr self, const read_mark& m);

/// Pulls a peer's read marks, a page at a time, then calls `done`.
void pull_read_marks(self_ptr self, const chat_server_actor& cs, std::string after_room, std::string after_user,
                     std::function<void()> done);

/// A page of this node's read marks for a peer's pull: a bounded scan,
/// answered from here.
std::vector<read_mark> serve_read_marks(self_ptr self, const std::string& after_room, const std::string& after_user);

} // namespace chat::detail
