#pragma once

// Storing each new message on every other node (docs/architecture.md, "The
// message path"). The origin's side: items go to each peer's outbox and
// leave as one batch per peer and mailbox drain; the first peer's
// confirmation acks the message; batches a peer leaves unanswered expire, and
// a peer that stays connected without keeping up is dropped. The peer's
// side: each item stored and delivered to the recipients the origin named.

#include <cstdint>
#include <optional>
#include <vector>

#include "chat/chat_server_parts.hpp"

namespace chat::detail {

/// Stores `m` (published by `sender` as its number `seq`) on every other
/// node; acks and delivers locally once a peer confirmed it, or at once alone.
void replicate(self_ptr self, const message& m, const caf::actor& sender, std::uint64_t seq,
               bool starts_conversation = false);

/// Sends everything queued for `cs` as one batch (see the outbox).
void send_batch(self_ptr self, const chat_server_actor& cs);

/// Every outbox that a mailbox drain filled goes out (send_batches_atom).
void send_batches(self_ptr self);

/// A peer's answer to batch `seq`: the copies it keeps, or none if it refused.
void on_batch_answer(self_ptr self, std::uint64_t seq, const std::vector<message>& kept);

/// A peer chat server that left its group (it crashed, or its node went
/// down) answers nothing more: its batches fail at once. By node: every
/// batch to that node.
void abandon_batches_to(self_ptr self, const chat_server_actor& cs);
void abandon_batches_to(self_ptr self, const caf::node_id& node);

/// Expires batches unanswered past the replicate timeout; repeats while any is out.
void expire_batches(self_ptr self);

// The peer's side.

/// A peer's new message: stored, and delivered to the recipients its
/// originator chose; returns the copy kept (a retry's first copy may win),
/// nothing if the store failed.
std::optional<message> on_replicate(self_ptr self, const message& m, const std::vector<caf::actor>& recipients);

/// A peer's batch: stored item by item and answered to `answer_to`.
void store_batch(self_ptr self, std::uint64_t seq, const std::vector<replicate_item>& items,
                 const chat_server_actor& answer_to);

} // namespace chat::detail
