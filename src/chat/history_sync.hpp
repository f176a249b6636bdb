#pragma once

// The chat server's side of keeping history in step: pulls from peers (on
// start, on a peer's arrival, when a peer is lost), merging what they send,
// readiness, answering a peer's pull, and the --fsync round trips.

#include <cstdint>
#include <string>
#include <vector>

#include "chat/chat_server_parts.hpp"

namespace chat::detail {

/// Ready once discovery's first round is done and every peer it reached
/// was pulled from.
void check_ready(self_ptr self);

/// Discovery's first round reached these nodes: ready once their history is
/// pulled, or after the ready timeout.
void on_first_round(self_ptr self, const std::vector<caf::node_id>& reached);

/// The ready timeout passed: serve without the pulls still missing.
void on_ready_timeout(self_ptr self);

/// Stores messages that came from a peer; those new here go live.
void merge(self_ptr self, const std::vector<message>& msgs);

/// Pulls, page by page, what `cs` (the chat server of `node`) may hold that
/// this node does not.
void pull_from(self_ptr self, const caf::node_id& node, const chat_server_actor& cs);

/// A peer's chat server went away: the survivors exchange what it may have
/// replicated to only some of them.
void peer_lost(self_ptr self, const caf::node_id& node);

caf::result<pull_page> serve_pull(self_ptr self, const room_marks& theirs, const std::string& from_room,
                                  const std::string& after_id);

/// --fsync: asks the store for the fsync that what waits shares, and runs
/// what waited once it is done.
void start_sync(self_ptr self);
void on_synced(self_ptr self, std::uint64_t n, bool ok);

} // namespace chat::detail
