#include "chat/history_sync.hpp"

#include <spdlog/spdlog.h>

#include "chat/inbox_updates.hpp"
#include "protocol/frames.hpp"

namespace chat::detail {

namespace {

/// A page of history from a peer or from the history reader: longer means
/// the peer or the disk is in trouble, and the pull ends there (logged; what
/// it missed comes with the peer's next reconnect, or by scrollback).
constexpr auto pull_timeout = std::chrono::seconds(10);

} // namespace

void check_ready(self_ptr self) {
  auto& st = self->state;
  if (!st.stats->ready && st.stats->resolved && st.awaiting_pull.empty()) {
    st.stats->ready = true;
    spdlog::info("chat: ready, history pulled from {} peer(s)", st.pulled.size());
  }
}

/// Stores messages that came from a peer; those new here go live to the
/// room's local connections (which drop ids they already have).
void merge(self_ptr self, const std::vector<message>& msgs) {
  auto& st = self->state;
  for (const auto& m : msgs) {
    if (!valid_from_peer(self, m)) {
      refuse(self, "pulled message");
      continue;
    }
    st.clock.observe(m.ts);
    bool starts = starts_conversation(self, m);
    if (stored(self, st.store->insert(m)) == room_history::insert_result::added) {
      push_local(self, m.room, deliver_msg(m, protocol::message_frame(m)), [](const member&) { return true; });
      conversation_changed(self, m, starts);
    }
  }
}

namespace {

void pull_done(self_ptr self, const caf::node_id& node) {
  auto& st = self->state;
  st.pulled.insert(node);
  st.awaiting_pull.erase(node);
  check_ready(self);
}

/// Pulls what a peer holds that we may not, a page at a time: a node that
/// was down gets what it missed after its newest message of each room; an
/// empty one gets every room's retained history.
void pull_pages(self_ptr self, const caf::node_id& node, const chat_server_actor& cs,
                std::shared_ptr<const room_marks> marks, std::string from_room, std::string after_id,
                std::size_t total) {
  self->request(cs, pull_timeout, pull_atom::value, *marks, from_room, after_id)
    .then(
      [=](const pull_page& page) {
        auto& st = self->state;
        merge(self, page.messages);
        auto n = total + page.messages.size();
        if (!page.done && !page.messages.empty() && st.peers.count(node) && st.peers.at(node) == cs) {
          pull_pages(self, node, cs, marks, page.next_room, page.next_id, n);
          return;
        }
        spdlog::info("chat: pulled {} message(s) from node {}", n, to_string(node));
        // Read marks after the messages they point at.
        pull_read_marks(self, cs, {}, {}, [=] { pull_done(self, node); });
      },
      [=](const caf::error& err) {
        spdlog::warn("chat: history pull from {} failed: {}", to_string(node), self->system().render(err));
        pull_done(self, node);
      });
}

} // namespace

/// What this node holds is read by the history reader (a scan of the store).
void pull_from(self_ptr self, const caf::node_id& node, const chat_server_actor& cs) {
  auto reader = lookup(self->system(), registry_name::history_reader);
  if (!reader) {
    pull_pages(self, node, cs, std::make_shared<const room_marks>(), {}, {}, 0);
    return;
  }
  self->request(reader, pull_timeout, marks_atom::value, local_proof{})
    .then(
      [=](room_marks& marks) {
        pull_pages(self, node, cs, std::make_shared<const room_marks>(std::move(marks)), {}, {}, 0);
      },
      [=](const caf::error&) { pull_pages(self, node, cs, std::make_shared<const room_marks>(), {}, {}, 0); });
}

void peer_lost(self_ptr self, const caf::node_id& node) {
  auto& st = self->state;
  if (st.peers.erase(node) == 0)
    return;
  // What the lost node replicated to only some of us before it went is
  // exchanged now, so that the survivors' histories agree.
  for (const auto& [n, cs] : st.peers)
    pull_from(self, n, cs);
}

/// A peer's pull: read by the history reader (a scan of the store), answered
/// from here, where the peer was checked.
caf::result<pull_page> serve_pull(self_ptr self, const room_marks& theirs, const std::string& from_room,
                                  const std::string& after_id) {
  auto reader = lookup(self->system(), registry_name::history_reader);
  if (!reader)
    return caf::sec::request_receiver_down;
  auto rp = self->make_response_promise<pull_page>();
  self
    ->request(reader, pull_timeout, pull_atom::value, theirs, from_room, after_id, self->state.cfg.pull_page,
              local_proof{})
    .then([rp](pull_page& page) mutable { rp.deliver(std::move(page)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

void start_sync(self_ptr self) {
  auto& st = self->state;
  st.sync_scheduled = false;
  auto n = st.next_sync++;
  st.syncing[n] = std::move(st.sync_waiting);
  st.sync_waiting.clear();
  st.store->sync(
    [cs = chat_server_actor{self}, n](bool ok) { caf::anon_send(cs, synced_atom::value, n, ok, local_proof{}); });
}

void on_synced(self_ptr self, std::uint64_t n, bool ok) {
  auto& st = self->state;
  auto it = st.syncing.find(n);
  if (it == st.syncing.end())
    return;
  auto waiting = std::move(it->second);
  st.syncing.erase(it);
  if (!ok)
    st.stats->store_writable = false;
  for (auto& fn : waiting)
    fn(ok);
}

void on_first_round(self_ptr self, const std::vector<caf::node_id>& reached) {
  auto& st = self->state;
  for (const auto& n : reached)
    if (!st.pulled.count(n))
      st.awaiting_pull.insert(n);
  check_ready(self);
  self->delayed_send(self, st.cfg.ready_timeout, resolved_atom::value);
}

void on_ready_timeout(self_ptr self) {
  if (self->state.stats->ready)
    return;
  spdlog::warn("chat: peers' history not pulled in time, serving anyway");
  self->state.awaiting_pull.clear();
  check_ready(self);
}

} // namespace chat::detail
