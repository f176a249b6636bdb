#include "chat/chat_server_parts.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "chat/clock.hpp"

#include "protocol/frames.hpp"
#include "protocol/names.hpp"

namespace chat::detail {

bool is_local(self_ptr self, const caf::actor& a) {
  // By reference: actor::node() returns a copy (two atomic reference counts
  // for every member of every fan-out).
  auto* ctrl = caf::actor_cast<caf::actor_control_block*>(a);
  return ctrl && ctrl->node() == self->home_system().node();
}

recipient_ids::recipient_ids(self_ptr self, const std::vector<caf::actor>& recipients) {
  ids_.reserve(recipients.size());
  for (const auto& r : recipients)
    if (is_local(self, r))
      ids_.push_back(r.id());
  std::sort(ids_.begin(), ids_.end());
}

bool recipient_ids::contains(const caf::actor& a) const { return std::binary_search(ids_.begin(), ids_.end(), a.id()); }

bool from_peer(self_ptr self) {
  const auto& sender = self->current_sender();
  return sender && sender->node() != self->node() && self->state.peer_nodes.count(sender->node()) > 0;
}

void refuse(self_ptr self, const char* what) {
  auto& st = self->state;
  ++st.stats->peer_msgs_refused;
  auto now = steady::now();
  ++st.refused_since_log;
  if (now - st.last_refusal_log >= std::chrono::seconds(1)) {
    const auto& sender = self->current_sender();
    spdlog::warn("chat: refused {} peer message(s), latest: {} from {}", st.refused_since_log, what,
                 sender ? to_string(sender->node()) : std::string("anonymous"));
    st.refused_since_log = 0;
    st.last_refusal_log = now;
  }
}

bool valid_from_peer(self_ptr self, const message& m) {
  const auto& cfg = self->state.cfg;
  auto horizon = wall_micros() + cfg.max_clock_skew.count();
  return protocol::valid_room(m.room) && protocol::valid_user(m.user) && !m.id.empty()
    && m.id.size() <= protocol::max_id_bytes && !m.text.empty() && m.text.size() <= cfg.max_text_bytes
    && m.client_id.size() <= 4 * 64 && m.ts > 0 && m.ts <= horizon && id_carries_ts(m);
}

room_history::insert_result stored(self_ptr self, room_history::insert_result r) {
  self->state.stats->store_writable = r != room_history::insert_result::failed;
  return r;
}

void after_sync(self_ptr self, std::function<void(bool)> fn) {
  auto& st = self->state;
  if (!st.store->syncs()) {
    fn(true);
    return;
  }
  st.sync_waiting.push_back(std::move(fn));
  // Queued behind the mailbox: all this drain wrote shares one fsync.
  if (!st.sync_scheduled) {
    st.sync_scheduled = true;
    self->send(self, sync_atom::value);
  }
}

caf::message deliver_msg(const message& m, const std::string& frame) {
  return caf::make_message(deliver_atom::value, m.room, m.id,
                           protocol::frame_ptr{std::make_shared<const std::string>(frame)});
}

void observe_lag(self_ptr self, const message& m) {
  auto lag_us = std::max<std::int64_t>(0, wall_micros() - m.ts); // a peer's clock may be ahead
  self->state.stats->metrics.delivery_lag_seconds.Observe(static_cast<double>(lag_us) / 1e6);
}

caf::message push_msg(const std::string& room, const std::string& frame) {
  return caf::make_message(push_atom::value, room, protocol::frame_ptr{std::make_shared<const std::string>(frame)});
}

void shard_batch::add(self_ptr self, const caf::actor& conn) {
  if (auto sink = self->state.connections->sink_of(conn))
    sinks.push_back(std::move(sink));
  else
    actors.push_back(conn);
}

std::size_t shard_of(self_ptr self, const caf::actor& conn) { return conn.id() % self->state.shards.size(); }

namespace {

/// The largest fan-out (per shard) the chat server does itself. Handing it
/// to a shard wakes a scheduler thread (the chat server runs on the
/// multiplexer), which costs more than a few sinks' worth of frames; a
/// big room's fan-out still runs beside the chat server.
constexpr std::size_t inline_fanout_max = 32;

} // namespace

void hand_over(self_ptr self, std::size_t i, shard_batch&& b, const caf::message& msg) {
  auto& sh = self->state.shards[i];
  if (b.actors.size() + b.sinks.size() <= inline_fanout_max && sh.idle()) {
    hand_to(b.sinks, msg);
    for (const auto& a : b.actors) // untyped: msg is any prebuilt message
      caf::send_as(me(self), a, msg);
    return;
  }
  ++sh.sent;
  self->send(sh.actor, fanout_atom::value, std::move(b.actors), std::move(b.sinks), msg);
}

void send_through_shard(self_ptr self, const caf::actor& conn, const caf::message& msg) {
  shard_batch b;
  b.add(self, conn);
  hand_over(self, shard_of(self, conn), std::move(b), msg);
}

void to_sink(self_ptr self, const caf::actor& conn, sink_ptr sink, const caf::message& msg) {
  shard_batch b;
  b.sinks.push_back(std::move(sink));
  hand_over(self, shard_of(self, conn), std::move(b), msg);
}

void answer_subscribe(self_ptr self, const caf::actor& conn, std::uint64_t seq, std::vector<room_snapshot> snaps) {
  auto c = caf::actor_cast<connection_actor>(conn);
  auto sink = self->state.connections->sink_of(conn);
  if (!sink) {
    self->send(c, subscribed_atom::value, seq, std::move(snaps));
    return;
  }
  to_sink(self, conn, std::move(sink), caf::make_message(subscribed_atom::value, seq, std::move(snaps)));
  self->send(c, subscribed_atom::value, seq, std::vector<room_snapshot>{});
}

void answer(self_ptr self, const caf::actor& conn, std::uint64_t seq, const publish_result& r) {
  self->send(caf::actor_cast<connection_actor>(conn), published_atom::value, seq, r);
}

} // namespace chat::detail
