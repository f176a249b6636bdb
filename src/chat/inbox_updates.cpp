#include "chat/inbox_updates.hpp"

#include <tuple>

#include <spdlog/spdlog.h>

#include "chat/inbox.hpp"
#include "chat/relay.hpp"
#include "protocol/frames.hpp"
#include "protocol/names.hpp"

namespace chat::detail {

namespace {

/// A peer's page of read marks longer than this means trouble: the pull
/// ends there (what it missed comes with the next one).
constexpr auto pull_timeout = std::chrono::seconds(10);

/// Through the connection's fan-out shard, the one that carries its
/// messages: an update never overtakes the message it tells of.
void notify(self_ptr self, const caf::actor& conn, const std::shared_ptr<const std::string>& frame) {
  send_through_shard(self, conn, caf::make_message(notify_atom::value, protocol::frame_ptr{frame}));
}

/// The user's connections here get the conversation as it is now.
void tell_user(self_ptr self, const std::string& user, const std::string& room) {
  auto& st = self->state;
  const auto& conns = st.connections->of(user);
  if (conns.empty())
    return;
  auto c = conversation_of(*st.store, room, user);
  if (!c)
    return;
  auto frame = std::make_shared<const std::string>(protocol::inbox_update_frame(*c));
  for (const auto& conn : conns)
    notify(self, conn, frame);
}

/// Whether the sender's message `m` answered messages of the other user that
/// the sender had not read: their read position (their own newest message
/// counts) moved past those, so their unread count dropped to 0.
bool answers_unread(const history_store& store, const message& m) {
  auto prev = store.before(m.room, m.id, 1);
  if (!prev.found || prev.messages.empty())
    return false;
  const auto& last = prev.messages.back();
  auto mark = store.read_mark_of(m.room, m.user);
  return last.user != m.user && (mark.empty() || last.id > mark);
}

void watch(self_ptr self, const member& conn, std::weak_ptr<frame_sink> sink) {
  auto& st = self->state;
  if (st.connections->add(conn.actor, conn.user, std::move(sink))
      && st.rooms.rooms_of(conn.actor).empty()) // else watched already
    self->monitor(conn.actor);
}

/// The mark moved here: this node's connections of its user hear of it,
/// and so do the peers when it came from one of ours.
void mark_moved(self_ptr self, const read_mark& m, bool tell_peers) {
  auto& st = self->state;
  tell_user(self, m.user, m.room);
  if (!tell_peers)
    return;
  for (const auto& [_, cs] : st.peers) {
    self->send(cs, read_mark_atom::value, m);
    ++st.stats->node_msgs_out;
  }
}

} // namespace

void open_inbox(self_ptr self, const member& conn, std::weak_ptr<frame_sink> sink) {
  watch(self, conn, std::move(sink));
  protocol::frame_ptr frame =
    std::make_shared<const std::string>(protocol::inbox_frame(inbox_of(*self->state.store, conn.user)));
  auto c = caf::actor_cast<connection_actor>(conn.actor);
  if (auto known = self->state.connections->sink_of(conn.actor)) {
    // Through the shard, ahead of the `subscribed` frames that follow it
    // there; the connection only learns that it was answered.
    to_sink(self, conn.actor, std::move(known), caf::make_message(notify_atom::value, frame));
    self->send(c, inboxed_atom::value, protocol::frame_ptr{});
  } else {
    self->send(c, inboxed_atom::value, frame);
  }
}

void adopt_inboxes(self_ptr self) {
  // Before the scope's view arrives, so its rooms' members are not watched
  // twice. One that died meanwhile is reported down at once.
  for (const auto& [conn, known] : self->state.connections->all())
    self->monitor(conn);
  if (auto n = self->state.connections->all().size())
    spdlog::info("chat: watching {} connection(s) for their inboxes again", n);
}

bool has_inbox(self_ptr self, const caf::actor& conn) { return self->state.connections->contains(conn); }

void close_inbox(self_ptr self, const caf::actor& conn) { self->state.connections->remove(conn); }

bool starts_conversation(self_ptr self, const message& m) {
  return protocol::is_dm_room(m.room) && self->state.store->window(m.room).empty();
}

void conversation_changed(self_ptr self, const message& m, bool started) {
  auto parties = protocol::dm_parties(m.room);
  if (!parties)
    return;
  auto& st = self->state;
  for (auto party : {parties->first, parties->second}) {
    std::string user(party);
    if (user != m.user || started || (!st.connections->of(user).empty() && answers_unread(*st.store, m)))
      tell_user(self, user, m.room);
  }
}

void on_read(self_ptr self, const std::string& room, const std::string& user, const std::string& id,
             const caf::actor& conn) {
  auto& st = self->state;
  if (!protocol::is_dm_room(room)) {
    fan_out(self, room, user, "read", id);
    return;
  }
  // What the mark points at must be a message of the conversation: the
  // client saw it here, since a node delivers only what it stored.
  if (!st.store->contains(room, id)) {
    if (conn)
      notify(
        self, conn,
        std::make_shared<const std::string>(protocol::error_frame(
          protocol::error_code::not_found, "no message '" + id + "' in room '" + room + "' on this node", "read")));
    return;
  }
  fan_out(self, room, user, "read", id);
  read_mark m{room, user, id};
  switch (st.store->merge_read_mark(m)) {
  case history_store::mark_result::moved: mark_moved(self, m, true); break;
  case history_store::mark_result::failed:
    st.stats->store_writable = false;
    if (conn)
      notify(self, conn,
             std::make_shared<const std::string>(protocol::error_frame(
               protocol::error_code::internal, "read mark not stored on this node, send the read again", "read")));
    break;
  case history_store::mark_result::unchanged: break;
  }
}

void on_peer_read_mark(self_ptr self, const read_mark& m) {
  if (self->state.store->merge_read_mark(m) == history_store::mark_result::moved)
    mark_moved(self, m, false);
}

void pull_read_marks(self_ptr self, const chat_server_actor& cs, std::string after_room, std::string after_user,
                     std::function<void()> done) {
  self->request(cs, pull_timeout, read_marks_atom::value, after_room, after_user)
    .then(
      [=](const std::vector<read_mark>& page) {
        for (const auto& m : page) {
          if (!valid_read_mark(m)) {
            refuse(self, "pulled read mark");
            continue;
          }
          on_peer_read_mark(self, m);
        }
        // An empty page ends the pull, and so does one that does not move
        // on (a peer must not keep us pulling forever).
        if (page.empty() || std::tie(page.back().room, page.back().user) <= std::tie(after_room, after_user)) {
          done();
          return;
        }
        pull_read_marks(self, cs, page.back().room, page.back().user, done);
      },
      [=](const caf::error& err) {
        spdlog::warn("chat: read mark pull from {} failed: {}", to_string(cs.node()), self->system().render(err));
        done();
      });
}

std::vector<read_mark> serve_read_marks(self_ptr self, const std::string& after_room, const std::string& after_user) {
  return self->state.store->read_marks(after_room, after_user, self->state.cfg.pull_page);
}

bool valid_read_mark(const read_mark& m) {
  auto parties = protocol::dm_parties(m.room);
  return parties && (parties->first == m.user || parties->second == m.user) && !m.id.empty()
    && m.id.size() <= protocol::max_id_bytes;
}

} // namespace chat::detail
