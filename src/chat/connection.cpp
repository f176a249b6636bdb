#include "chat/connection.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "chat/messages.hpp"
#include "cluster/sender_checks.hpp"
#include "protocol/names.hpp"

namespace chat {

namespace {

using self_ptr = connection_actor::stateful_pointer<connection_state>;
using namespace protocol;
using nlohmann::json;

const auto request_timeout = std::chrono::seconds(10); // scrollback reads

void send_text(self_ptr self, std::string text) {
  if (auto sink = self->state.sink.lock())
    sink->send(std::make_shared<const std::string>(std::move(text)));
}

void send_error(self_ptr self, error_code code, const std::string& msg, const json& ref) {
  ++self->state.stats->bad_frames;
  send_text(self, error_frame(code, msg, ref));
}

chat_server_actor chat_server(self_ptr self) {
  return lookup<chat_server_actor>(self->system(), registry_name::chat_server);
}

caf::actor handle(self_ptr self) { return caf::actor_cast<caf::actor>(self); }

cluster::member me(self_ptr self) { return {handle(self), self->state.cfg.user}; }

/// Whether the connection holds `room` (its sink keeps the rooms; a
/// connection whose session is gone holds none).
bool holds(self_ptr self, const std::string& room) {
  auto sink = self->state.sink.lock();
  return sink && sink->holds(room);
}

/// Before asking the chat server anything: its down message stands in for
/// a timeout (see connection_state::watched).
void watch_server(self_ptr self, const chat_server_actor& cs) {
  auto& st = self->state;
  if (cs.address() == st.watched)
    return;
  if (st.watched)
    self->demonitor(st.watched);
  self->monitor(cs);
  st.watched = cs.address();
}

/// After an answer: nothing left to wait for, no monitor kept.
void unwatch_if_idle(self_ptr self) {
  auto& st = self->state;
  if (!st.watched || !st.publishing.empty() || !st.subscribing.empty() || st.inbox_from)
    return;
  self->demonitor(st.watched);
  st.watched = caf::actor_addr{};
}

void subscribe(self_ptr self, const std::vector<std::string>& rooms, const std::map<std::string, std::string>& since,
               const json& ref) {
  auto& st = self->state;
  for (const auto& room : rooms) {
    if (!protocol::may_hold(st.cfg.user, room)) {
      send_error(self, error_code::forbidden, "room '" + room + "' is a conversation of two other users", ref);
      return;
    }
    if (st.cfg.allowed_rooms && !st.cfg.allowed_rooms->count(room) && !own_dm_room(st.cfg.user, room)) {
      send_error(self, error_code::unauthorized, "your token does not allow room '" + room + "'", ref);
      return;
    }
  }
  auto sink = st.sink.lock();
  if (!sink)
    return; // the session is gone: nobody to answer
  std::size_t total = sink->rooms_held();
  for (const auto& room : rooms)
    total += sink->holds(room) ? 0 : 1;
  if (total > st.cfg.limits.max_rooms) {
    send_error(self, error_code::too_many_rooms,
               "at most " + std::to_string(st.cfg.limits.max_rooms) + " rooms per connection", ref);
    return;
  }
  auto cs = chat_server(self);
  if (!cs) {
    send_error(self, error_code::internal, "chat server is restarting, try again", ref);
    return;
  }
  // Rooms count as held from now on, so a message sent right behind the
  // subscribe is accepted; the chat server handles both in order.
  for (const auto& room : rooms)
    sink->hold(room, st.cfg.seen_per_room);
  watch_server(self, cs);
  auto seq = st.next_subscribe++;
  st.subscribing.emplace(seq, subscribe_in_flight{rooms, ref, cs.address()});
  self->send(cs, subscribe_atom::value, seq, rooms, since, me(self));
}

void on_subscribed(self_ptr self, std::uint64_t seq, const std::vector<room_snapshot>& snaps) {
  auto& st = self->state;
  auto it = st.subscribing.find(seq);
  if (it == st.subscribing.end() || caf::actor_cast<caf::actor_addr>(self->current_sender()) != it->second.server)
    return;
  st.subscribing.erase(it);
  // Empty when the rooms went through the fan-out shard, straight to the
  // sink (ordered with the rooms' messages, see the chat server).
  if (auto sink = st.sink.lock())
    open_rooms(*sink, snaps);
  unwatch_if_idle(self);
}

void subscribe_failed(self_ptr self, const subscribe_in_flight& s) {
  if (auto sink = self->state.sink.lock())
    for (const auto& room : s.rooms)
      sink->release(room);
  send_error(self, error_code::internal, "subscribe failed, try again", s.ref);
}

void unsubscribe(self_ptr self, const std::vector<std::string>& rooms) {
  auto sink = self->state.sink.lock();
  std::vector<std::string> held;
  for (const auto& room : rooms)
    if (sink && sink->release(room))
      held.push_back(room);
  if (!held.empty())
    if (auto cs = chat_server(self))
      self->send(cs, unsubscribe_atom::value, held, handle(self));
  for (const auto& room : rooms)
    send_text(self, unsubscribed_frame(room));
}

void publish(self_ptr self, message_req& req) {
  auto& st = self->state;
  auto ref = req.client_id ? json(*req.client_id) : json("message");
  auto cs = chat_server(self);
  if (!cs) {
    send_error(self, error_code::internal, "chat server is restarting, try again", ref);
    return;
  }
  bool may_publish = st.bucket->try_take(token_bucket::clock::now());
  message draft{req.room, {}, st.cfg.user, std::move(req.text), req.client_id.value_or(""), 0};
  // A plain message, not a request: see the chat server's answer(). The
  // monitor stands in for a timeout: a chat server answers every publish
  // unless it dies first.
  watch_server(self, cs);
  auto seq = st.next_publish++;
  st.publishing.emplace(
    seq, publish_in_flight{req.room, req.client_id, may_publish, cs.address(), std::chrono::steady_clock::now()});
  self->send(cs, publish_atom::value, seq, std::move(draft), handle(self), may_publish);
}

json publish_ref(const publish_in_flight& p) { return p.client_id ? json(*p.client_id) : json("message"); }

void on_published(self_ptr self, std::uint64_t seq, const publish_result& r) {
  auto& st = self->state;
  auto it = st.publishing.find(seq);
  if (it == st.publishing.end() || caf::actor_cast<caf::actor_addr>(self->current_sender()) != it->second.server)
    return;
  auto p = std::move(it->second);
  st.publishing.erase(it);
  unwatch_if_idle(self);
  if (r.refused) {
    ++st.stats->drops_rate;
    send_error(self, error_code::rate_limited, "over the publish rate limit; message dropped", publish_ref(p));
    return;
  }
  if (r.failed) {
    if (p.may_publish)
      st.bucket->refund();
    send_error(self, error_code::internal, "message not stored on this node, retry with the same client_id",
               publish_ref(p));
    return;
  }
  if (r.duplicate && p.may_publish)
    st.bucket->refund();
  if (!r.ack_sent) {
    if (auto sink = st.sink.lock())
      sink->mark_sent(p.room, r.id); // never echo our own message back to us
    send_text(self, ack_frame(p.client_id ? json(*p.client_id) : json(nullptr), r.id, r.ts, p.room));
  }
  st.stats->metrics.publish_ack_seconds.Observe(
    std::chrono::duration<double>(std::chrono::steady_clock::now() - p.started).count());
}

/// The chat server died with publishes of ours: each gets an error, so the
/// client retries it (with its client_id, a retry is never stored twice).
void server_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (!cluster::genuine(self, dm))
    return;
  for (auto it = st.publishing.begin(); it != st.publishing.end();) {
    if (it->second.server != dm.source) {
      ++it;
      continue;
    }
    if (it->second.may_publish)
      st.bucket->refund();
    send_error(self, error_code::internal, "message not accepted, retry with the same client_id",
               publish_ref(it->second));
    it = st.publishing.erase(it);
  }
  for (auto it = st.subscribing.begin(); it != st.subscribing.end();) {
    if (it->second.server != dm.source) {
      ++it;
      continue;
    }
    subscribe_failed(self, it->second);
    it = st.subscribing.erase(it);
  }
  if (st.inbox_from == dm.source) {
    st.inbox_from = caf::actor_addr{};
    send_error(self, error_code::internal, "inbox not available: reconnect to get it", "inbox");
  }
  if (dm.source == st.watched)
    st.watched = caf::actor_addr{};
}

/// The answer to a scrollback request, at most half the connection's queue
/// bound: a page of long messages could otherwise exceed it and close the
/// client as a slow consumer. The oldest messages are left out (`more` then
/// says older ones exist), never the newest, so paging goes on from there.
std::string fitted_scrollback(self_ptr self, const history_req& req, const scrollback& page) {
  auto budget = self->state.cfg.limits.max_queue_bytes / 2;
  std::size_t total = 256 + req.room.size() + req.before.size();
  std::size_t first = page.messages.size();
  while (first > 0) {
    auto size = protocol::message_json(page.messages[first - 1]).dump().size() + 1;
    if (total + size > budget && first < page.messages.size())
      break;
    total += size;
    --first;
  }
  std::vector<message> kept(page.messages.begin() + static_cast<std::ptrdiff_t>(first), page.messages.end());
  return scrollback_frame(req.room, req.before, kept, page.more || first > 0);
}

/// Scrollback: read by the history reader, off the actors that carry live
/// traffic.
void scroll_back(self_ptr self, const history_req& req) {
  auto reader = lookup(self->system(), registry_name::history_reader);
  if (!reader) {
    send_error(self, error_code::internal, "history is not available right now, try again", "history");
    return;
  }
  self->request(reader, request_timeout, history_atom::value, req.room, req.before, req.limit)
    .then(
      [=](const scrollback& page) {
        if (!page.found)
          send_error(self, error_code::not_found,
                     "no message '" + req.before + "' in the history of room '" + req.room + "' on this node",
                     "history");
        else
          send_text(self, fitted_scrollback(self, req, page));
      },
      [=](const caf::error&) { send_error(self, error_code::internal, "history read failed, try again", "history"); });
}

/// The `inbox` frame, first after `welcome`: the chat server answers this
/// before any subscribe sent after it. From then on the chat server sends
/// this connection its user's inbox updates.
void open_inbox(self_ptr self) {
  auto cs = chat_server(self);
  if (!cs) {
    send_error(self, error_code::internal, "chat server is restarting: no inbox for this connection, reconnect",
               "inbox");
    return;
  }
  watch_server(self, cs);
  self->state.inbox_from = cs.address();
  // The sink goes along: the chat server's fan-out hands this connection's
  // frames to it directly.
  self->send(cs, inbox_atom::value, me(self), self->state.sink);
}

void on_inboxed(self_ptr self, const frame_ptr& frame) {
  auto& st = self->state;
  if (!st.inbox_from || caf::actor_cast<caf::actor_addr>(self->current_sender()) != st.inbox_from)
    return;
  st.inbox_from = caf::actor_addr{};
  if (auto out = st.sink.lock(); out && frame) // else it went through the fan-out shard
    out->send(frame);
  unwatch_if_idle(self);
}

void handle_frame(self_ptr self, const std::string& text) {
  auto& st = self->state;
  ++st.stats->messages_in;
  auto parsed = parse_request(text, parse_limits{st.cfg.limits.max_text_chars});
  if (auto* err = std::get_if<wire_error>(&parsed)) {
    send_error(self, err->code, err->message, err->ref);
    return;
  }
  auto& req = std::get<request>(parsed);
  auto ref = ref_of(req);
  auto require_room = [&](const std::string& room) {
    if (holds(self, room))
      return true;
    send_error(self, error_code::not_subscribed, "not subscribed to room '" + room + "'", ref);
    return false;
  };
  // Checked after not_subscribed, as the protocol orders the errors.
  auto within_budget = [&](budget_kind kind, std::size_t n = 1) {
    auto now = token_bucket::clock::now();
    if (!st.budget)
      st.budget = std::make_unique<request_budget>(now);
    if (st.budget->take(kind, now, static_cast<double>(std::max<std::size_t>(n, 1))))
      return true;
    ++st.stats->drops_rate;
    send_error(self, error_code::rate_limited, "too many '" + ref.get<std::string>() + "' frames; slow down", ref);
    return false;
  };
  if (auto* sub = std::get_if<subscribe_req>(&req)) {
    if (within_budget(budget_kind::subscribe, sub->rooms.size()))
      subscribe(self, sub->rooms, sub->since, ref);
  } else if (auto* unsub = std::get_if<unsubscribe_req>(&req)) {
    if (within_budget(budget_kind::unsubscribe, unsub->rooms.size()))
      unsubscribe(self, unsub->rooms);
  } else if (auto* msg = std::get_if<message_req>(&req)) {
    if (require_room(msg->room))
      publish(self, *msg);
  } else if (auto* typing = std::get_if<typing_req>(&req)) {
    if (require_room(typing->room) && within_budget(budget_kind::typing))
      if (auto cs = chat_server(self))
        self->send(cs, typing_atom::value, typing->room, st.cfg.user, typing->start);
  } else if (auto* receipt = std::get_if<read_req>(&req)) {
    if (require_room(receipt->room) && within_budget(budget_kind::read))
      if (auto cs = chat_server(self))
        self->send(cs, read_atom::value, receipt->room, st.cfg.user, receipt->id, handle(self));
  } else if (auto* hist = std::get_if<history_req>(&req)) {
    if (require_room(hist->room) && within_budget(budget_kind::history))
      scroll_back(self, *hist);
  } else if (auto* ping = std::get_if<ping_req>(&req)) {
    if (within_budget(budget_kind::ping))
      send_text(self, pong_frame(ping->t));
  }
}

} // namespace

connection_actor::behavior_type connection(self_ptr self, connection_config cfg, std::weak_ptr<frame_sink> sink,
                                           std::shared_ptr<node_stats> stats) {
  auto& state = self->state;
  state.cfg = std::move(static_cast<connection_settings&>(cfg));
  state.sink = std::move(sink);
  state.stats = std::move(stats);
  state.bucket.emplace(state.cfg.limits.rate_per_s, state.cfg.limits.burst, token_bucket::clock::now());
  // Peers see this actor's handle in the room groups: what they may send it
  // matches nothing (local_proof, frame_ptr), and must not print or kill.
  cluster::drop_strays(self);
  self->set_down_handler([=](caf::down_msg& dm) { server_down(self, dm); });
  send_text(self, welcome_frame(cfg.node, cfg.session, state.cfg.user, state.cfg.limits));
  open_inbox(self);
  if (!cfg.rooms.empty())
    subscribe(self, cfg.rooms, {}, "subscribe");
  return {
    [=](frame_atom, const frame_ptr& text, local_proof) {
      handle_frame(self, *text);
      if (auto out = self->state.sink.lock())
        out->frame_done();
    },
    // What reaches the actor rather than its sink (a connection the chat
    // server knows no sink of): the same checks, in the sink.
    [=](deliver_atom, const std::string& room, const std::string& id, const frame_ptr& frame) {
      if (auto out = self->state.sink.lock())
        out->deliver(room, id, frame);
    },
    [=](push_atom, const std::string& room, const frame_ptr& frame) {
      if (auto out = self->state.sink.lock())
        out->push(room, frame);
    },
    [=](published_atom, std::uint64_t seq, const publish_result& r) { on_published(self, seq, r); },
    [=](subscribed_atom, std::uint64_t seq, const std::vector<room_snapshot>& snaps) {
      on_subscribed(self, seq, snaps);
    },
    [=](inboxed_atom, const frame_ptr& frame) { on_inboxed(self, frame); },
    [=](notify_atom, const frame_ptr& frame) {
      if (auto out = self->state.sink.lock())
        out->send(frame);
    },
    [=](closed_atom, local_proof) { self->quit(); },
#ifdef CHAT_FAULT_HOOKS
    [=](crash_atom, local_proof) -> caf::result<void> { throw std::runtime_error("connection crash requested"); },
#endif
  };
}

} // namespace chat
