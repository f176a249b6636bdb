#include "chat/replication.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "chat/inbox_updates.hpp"
#include "chat/membership.hpp"
#include "chat/wake_batch.hpp"
#include "protocol/frames.hpp"

namespace chat::detail {

namespace {

/// Acks the sender and delivers to the other local members: only now, so
/// that what a client saw or was acked is on two nodes (one if alone).
void complete(self_ptr self, pending_publish& p, const message& m, const std::string& frame) {
  wake_batch one_wake; // the deliveries and the ack
  p.acked = true;
  self->state.unfinished->finish(p.msg.id);
  observe_lag(self, m);
  push_local(self, m.room, deliver_msg(m, frame), [&](const member& mem) { return mem.actor != p.sender; });
  conversation_changed(self, m, p.starts_conversation);
  publish_result r{m.id, m.ts, false, false};
  // The ack goes to the socket's I/O thread with the deliveries above (one
  // wake-up there, not a second one after the connection actor's turn).
  if (auto sink = self->state.connections->sink_of(p.sender)) {
    sink->mark_sent(m.room, m.id); // never echo the sender's own message back to it
    sink->send(std::make_shared<const std::string>(protocol::ack_frame(
      m.client_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.client_id), m.id, m.ts, m.room)));
    r.ack_sent = true;
  }
  answer(self, p.sender, p.seq, r);
}

/// Acks and delivers what was confirmed: the message, or a peer's copy.
void complete(self_ptr self, pending_publish& p) {
  if (p.kept.id.empty())
    complete(self, p, p.msg, p.frame);
  else
    complete(self, p, p.kept, p.kept_frame);
}

/// A peer confirmed (or none can): acked once the local copy is synced.
void confirmed(self_ptr self, pending_publish& p) {
  if (p.acked || p.confirmed)
    return;
  p.confirmed = true;
  if (p.synced)
    complete(self, p);
}

/// The local fsync of a publish (--fsync) is done.
void synced(self_ptr self, pending_publish& p, bool ok) {
  if (p.acked)
    return;
  if (!ok) { // not durable here: the sender retries (same client_id)
    p.acked = true;
    answer(self, p.sender, p.seq, publish_result{{}, 0, false, false, true});
    return;
  }
  p.synced = true;
  if (p.confirmed)
    complete(self, p);
}

/// A peer answered a replicate with the copy it keeps for the message's
/// retry key. A different copy means the client's retry raced a node that
/// died after replicating the first attempt: that earlier copy wins on
/// every node (room_history keeps the first in history order), so it is
/// the one we ack and deliver.
void on_replicated(self_ptr self, const std::shared_ptr<pending_publish>& p, const message& kept) {
  auto& st = self->state;
  bool same_key = kept.room == p->msg.room && kept.user == p->msg.user && kept.client_id == p->msg.client_id;
  if (kept.id != p->msg.id && (!same_key || !valid_from_peer(self, kept))) {
    refuse(self, "replicate answer");
  } else if (kept.id != p->msg.id) {
    st.clock.observe(kept.ts);
    bool added = stored(self, st.store->insert(kept)) == room_history::insert_result::added;
    auto frame = protocol::message_frame(kept);
    if (added) // peers that took our copy replace it too
      for (const auto& [_, cs] : st.peers)
        self->send(cs, replicate_atom::value, kept, std::vector<caf::actor>{});
    auto here = st.store->find_retry(kept.room, kept.user, kept.client_id);
    if (here && here->id == kept.id) {
      if (!p->acked && !p->confirmed) {
        p->kept = kept;
        p->kept_frame = frame;
        confirmed(self, *p);
      } else if (added)
        push_local(self, kept.room, deliver_msg(kept, frame), [](const member&) { return true; });
      return;
    }
  }
  confirmed(self, *p);
}

/// A peer did not confirm (gone, silent, or refused the batch).
void unconfirmed(self_ptr self, const std::shared_ptr<pending_publish>& p) {
  // Every peer gone or silent: the message is only here, and the node keeps
  // serving (a partition must not stop chat).
  if (--p->unanswered == 0)
    confirmed(self, *p);
}

/// About the bytes `item` takes on the wire: what a peer that does not read
/// makes CAF hold for it.
std::size_t wire_size(const replicate_item& item) {
  const auto& m = item.msg;
  return 64 + m.room.size() + m.id.size() + m.user.size() + m.text.size() + m.client_id.size()
    + 32 * item.recipients.size();
}

/// A peer that stays connected but does not keep up is dropped: CAF would
/// hold what we send it for as long as the connection lasts.
void drop(self_ptr self, const caf::node_id& node, const std::string& why) {
  auto& st = self->state;
  auto now = steady::now();
  auto [it, first] = st.dropping.emplace(node, now);
  if (!first && now - it->second < st.cfg.replicate_timeout)
    return;
  it->second = now;
  ++st.stats->peers_dropped;
  spdlog::warn("chat: dropping peer node_id={}: {}", to_string(node), why);
  if (st.cfg.drop_peer)
    st.cfg.drop_peer(self->system(), node);
}

/// Takes a batch off its peer's account, answered or not.
void settle(self_ptr self, const replicate_batch& batch) {
  auto& st = self->state;
  auto it = st.unanswered_bytes.find(batch.to.node());
  if (it == st.unanswered_bytes.end())
    return;
  it->second -= std::min(it->second, batch.bytes);
  if (it->second == 0)
    st.unanswered_bytes.erase(it);
}

/// Batches to a chat server that `gone` names count as not confirmed by it.
template <class Pred>
void abandon_batches_if(self_ptr self, Pred gone) {
  auto& st = self->state;
  for (auto it = st.in_flight.begin(); it != st.in_flight.end();) {
    if (!gone(it->second.to)) {
      ++it;
      continue;
    }
    auto batch = std::move(it->second);
    it = st.in_flight.erase(it);
    settle(self, batch);
    for (const auto& p : batch.waiting)
      unconfirmed(self, p);
  }
}

} // namespace

/// One message to one peer's chat server with every item queued for it; its
/// answer (replicated_atom, same number) holds the copy the peer keeps of
/// each item, in the same order.
void send_batch(self_ptr self, const chat_server_actor& cs) {
  auto& st = self->state;
  auto node = st.outbox.extract(cs);
  if (node.empty())
    return;
  auto seq = st.next_batch++;
  auto& batch = st.in_flight[seq];
  batch = std::move(node.mapped());
  batch.to = cs;
  batch.sent = steady::now();
  batch.deadline = batch.sent + st.cfg.replicate_timeout;
  for (const auto& item : batch.items)
    batch.bytes += wire_size(item);
  auto& owed = st.unanswered_bytes[cs.node()];
  owed += batch.bytes;
  self->send(cs, replicate_batch_atom::value, seq, std::move(batch.items));
  ++st.stats->node_msgs_out;
  if (owed > st.cfg.peer_backlog_bytes)
    drop(self, cs.node(), fmt::format("{} bytes of replicates unanswered (bound {})", owed, st.cfg.peer_backlog_bytes));
  if (!st.expiry_scheduled) {
    st.expiry_scheduled = true;
    self->delayed_send(self, st.cfg.expiry_check, expire_atom::value);
  }
}

/// A peer's answer to batch `seq`: the copies it keeps, or none if it
/// refused the batch.
void on_batch_answer(self_ptr self, std::uint64_t seq, const std::vector<message>& kept) {
  auto& st = self->state;
  auto it = st.in_flight.find(seq);
  if (it == st.in_flight.end() || self->current_sender() != caf::actor_cast<caf::strong_actor_ptr>(it->second.to))
    return; // expired already, or not from the peer we asked
  auto batch = std::move(it->second);
  st.in_flight.erase(it);
  settle(self, batch);
  st.stats->metrics.replication_rtt_seconds.Observe(std::chrono::duration<double>(steady::now() - batch.sent).count());
  if (kept.size() != batch.waiting.size()) {
    if (!kept.empty())
      refuse(self, "replicate batch answer");
    for (const auto& p : batch.waiting)
      unconfirmed(self, p);
    return;
  }
  wake_batch one_wake;
  for (std::size_t i = 0; i < kept.size(); ++i)
    on_replicated(self, batch.waiting[i], kept[i]);
}

void send_batches(self_ptr self) {
  auto& st = self->state;
  st.batches_scheduled = false;
  while (!st.outbox.empty())
    send_batch(self, st.outbox.begin()->first);
}

/// A node that went down answers nothing more: its batches need not wait out
/// the timeout.
void abandon_batches_to(self_ptr self, const chat_server_actor& cs) {
  abandon_batches_if(self, [&](const chat_server_actor& to) { return to == cs; });
}

void abandon_batches_to(self_ptr self, const caf::node_id& node) {
  abandon_batches_if(self, [&](const chat_server_actor& to) { return to.node() == node; });
  self->state.dropping.erase(node);
}

/// Batches a peer left unanswered past the replicate timeout count as not
/// confirmed by it, and a peer still connected that left one so is dropped;
/// the check repeats while any batch is out.
void expire_batches(self_ptr self) {
  auto& st = self->state;
  auto now = steady::now();
  while (!st.in_flight.empty() && st.in_flight.begin()->second.deadline <= now) {
    auto batch = std::move(st.in_flight.begin()->second);
    st.in_flight.erase(st.in_flight.begin());
    settle(self, batch);
    // Only the node's current chat server answers for it: a batch to one
    // that crashed meanwhile (and was restarted) is not the node's fault.
    auto node = batch.to.node();
    if (auto peer = st.peers.find(node); peer != st.peers.end() && peer->second == batch.to)
      drop(self, node, fmt::format("a replicate batch unanswered for {} ms", st.cfg.replicate_timeout.count()));
    for (const auto& p : batch.waiting)
      unconfirmed(self, p);
  }
  st.expiry_scheduled = !st.in_flight.empty();
  if (st.expiry_scheduled)
    self->delayed_send(self, st.cfg.expiry_check, expire_atom::value);
}

/// Stores a new message on every other node, handing each node's chat
/// server the message and exactly the recipients it has (one message
/// per node, never re-resolved there: that is how the duplicate bug was
/// born). The ack waits for the first peer to confirm.
void replicate(self_ptr self, const message& m, const caf::actor& sender, std::uint64_t seq, bool starts_conversation) {
  auto& st = self->state;
  auto p = std::make_shared<pending_publish>();
  p->starts_conversation = starts_conversation;
  p->seq = seq;
  p->msg = m;
  p->frame = protocol::message_frame(m);
  p->sender = sender;
  p->unanswered = st.peers.size();
  p->synced = !st.store->syncs();
  if (!p->synced)
    after_sync(self, [self, p](bool ok) { synced(self, *p, ok); });
  if (st.peers.empty()) {
    confirmed(self, *p);
    return;
  }
  auto remote = remote_members(self, m.room, [&](const member& mem) { return mem.actor != sender; });
  for (const auto& [node, cs] : st.peers) {
    auto it = remote.find(node);
    auto& batch = st.outbox[cs];
    batch.items.push_back(replicate_item{m, it == remote.end() ? std::vector<caf::actor>{} : std::move(it->second)});
    batch.waiting.push_back(p);
    if (batch.items.size() >= st.cfg.max_batch)
      send_batch(self, cs);
  }
  // Queued behind everything already in the mailbox: what this drain
  // publishes goes out together, and at low load right away.
  if (!st.batches_scheduled && !st.outbox.empty()) {
    st.batches_scheduled = true;
    self->send(self, send_batches_atom::value);
  }
}

/// A peer's new message: stored, and delivered to the recipients the
/// originator chose. A connection that joined here so recently that the
/// originator cannot have known it yet is added, so that a subscriber never
/// misses a message between its history and its first live one.
std::optional<message> on_replicate(self_ptr self, const message& m, const std::vector<caf::actor>& recipients) {
  auto& st = self->state;
  st.clock.observe(m.ts);
  bool starts = starts_conversation(self, m);
  auto r = stored(self, st.store->insert(m));
  if (r == room_history::insert_result::failed)
    return std::nullopt;
  // Only a copy already here is not delivered. One too old for the window
  // (newer messages of the room got here first, as on a node that fell
  // behind) is not kept in memory but is as live as any for the recipients
  // the originator named: dropping it lost it on this node.
  if (r == room_history::insert_result::duplicate) {
    auto kept = st.store->find_retry(m.room, m.user, m.client_id);
    return kept ? *kept : m;
  }
  observe_lag(self, m);
  recipient_ids chosen(self, recipients);
  push_local(self, m.room, deliver_msg(m, protocol::message_frame(m)),
             [&](const member& mem) { return chosen.contains(mem.actor) || recently_joined(self, mem.actor, m.room); });
  conversation_changed(self, m, starts);
  return m;
}

/// A peer's batch: every item stored here and delivered to its recipients,
/// then answered with the copy kept of each (after the fsync, with --fsync),
/// or with nothing if the batch is malformed or was not stored.
void store_batch(self_ptr self, std::uint64_t seq, const std::vector<replicate_item>& items,
                 const chat_server_actor& answer_to) {
  auto& st = self->state;
  bool valid = !items.empty() && items.size() <= st.cfg.max_batch
    && std::all_of(items.begin(), items.end(), [&](const replicate_item& it) { return valid_from_peer(self, it.msg); });
  std::vector<message> kept;
  if (valid) {
    wake_batch one_wake; // every item's deliveries
    ++st.stats->node_msgs_in;
    kept.reserve(items.size());
    for (const auto& it : items) {
      auto one = on_replicate(self, it.msg, it.recipients);
      if (!one) { // not stored here: confirm none of them
        kept.clear();
        break;
      }
      kept.push_back(std::move(*one));
    }
  } else {
    refuse(self, "replicate batch");
  }
  // An empty answer refuses the batch at once, so no one waits for it.
  after_sync(self, [self, answer_to, seq, kept = std::move(kept)](bool ok) mutable {
    self->send(answer_to, replicated_atom::value, seq, ok ? std::move(kept) : std::vector<message>{});
  });
}

} // namespace chat::detail
