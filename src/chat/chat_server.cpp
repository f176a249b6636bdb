#include "chat/chat_server.hpp"

#include <algorithm>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "chat/chat_server_parts.hpp"
#include "chat/fanout_shard.hpp"
#include "chat/history_sync.hpp"
#include "chat/inbox_updates.hpp"
#include "chat/membership.hpp"
#include "chat/messages.hpp"
#include "chat/relay.hpp"
#include "chat/replication.hpp"
#include "cluster/sender_checks.hpp"
#include "protocol/frames.hpp"
#include "protocol/names.hpp"

namespace chat {

using namespace detail;
using cluster::from_this_node;

namespace {

/// A sender that has not retried an unfinished publish in this long is gone
/// (clients retry within seconds); its message was pulled by the peers
/// meanwhile.
constexpr auto forget_unfinished_after = std::chrono::minutes(10);

void publish(self_ptr self, std::uint64_t seq, message& draft, const caf::actor& conn, bool may_publish) {
  auto& st = self->state;
  if (auto prev = st.store->find_retry(draft.room, draft.user, draft.client_id)) {
    if (st.unfinished->contains(prev->id))
      replicate(self, *prev, conn, seq); // its first attempt died with a chat server
    else
      answer(self, conn, seq, publish_result{prev->id, prev->ts, true, false});
    return;
  }
  if (!may_publish) {
    answer(self, conn, seq, publish_result{{}, 0, false, true});
    return;
  }
  draft.ts = st.clock.now();
  draft.id = st.ids->next(draft.ts);
  bool starts = starts_conversation(self, draft);
  if (stored(self, st.store->insert(draft)) == room_history::insert_result::failed) {
    answer(self, conn, seq, publish_result{{}, 0, false, false, true});
    return;
  }
  st.unfinished->add(draft.id);
  ++st.stats->published;
#ifdef CHAT_FAULT_HOOKS
  if (st.crash_on_publish)
    throw std::runtime_error("chat server crash after storing a message, as requested");
#endif
  replicate(self, draft, conn, seq, starts);
}

/// Forgets the history of rooms nobody in the cluster is in, least recently
/// used first, until at most max_rooms are held: rooms are user-made, so
/// without this a script could fill the node's memory with them.
void sweep_rooms(self_ptr self) {
  auto& st = self->state;
  auto count = st.store->room_count();
  if (count <= st.cfg.max_rooms)
    return;
  std::size_t evicted = 0;
  for (const auto& room : st.store->rooms_by_last_use()) {
    if (count - evicted <= st.cfg.max_rooms)
      break;
    if (!st.rooms.empty(room))
      continue;
    st.store->evict(room);
    ++evicted;
  }
  st.stats->rooms_evicted += static_cast<std::int64_t>(evicted);
  spdlog::info("chat: {} room(s) held, over the bound of {}: forgot {} idle room(s)", count, st.cfg.max_rooms, evicted);
}

/// The store's recovery, idle rooms, forgotten unfinished publishes: every
/// sweep_interval.
void on_sweep(self_ptr self) {
  auto& st = self->state;
  st.store->recover();
  st.stats->store_writable = st.store->writable();
  sweep_rooms(self);
  st.unfinished->forget_older_than(forget_unfinished_after);
  self->delayed_send(self, st.cfg.sweep_interval, sweep_atom::value);
}

/// Timers and fsync notices this actor sends itself.
bool from_itself(self_ptr self) { return self->current_sender().get() == self->ctrl(); }

/// A peer's message counts when a peer sent it and it is `valid`; otherwise
/// it is refused (logged, rate-limited).
bool accept_from_peer(self_ptr self, const char* what, bool valid) {
  if (!from_peer(self) || !valid) {
    refuse(self, what);
    return false;
  }
  ++self->state.stats->node_msgs_in;
  return true;
}

void on_node_down(self_ptr self, const caf::node_id& node) {
  auto& st = self->state;
  st.peer_nodes.erase(node);
  abandon_batches_to(self, node);
  peer_lost(self, node);
  st.awaiting_pull.erase(node);
  check_ready(self);
}

} // namespace

chat_server_actor::behavior_type chat_server(self_ptr self, chat_server_config cfg,
                                             std::shared_ptr<history_store> store,
                                             std::shared_ptr<unfinished_publishes> unfinished,
                                             std::shared_ptr<local_connections> connections,
                                             std::shared_ptr<node_stats> stats) {
  auto& state = self->state;
  state.cfg = std::move(cfg);
  state.store = std::move(store);
  state.unfinished = std::move(unfinished);
  state.connections = std::move(connections);
  state.stats = std::move(stats);
  // A restarted chat server never hands out a timestamp below what it stored.
  state.clock.observe(state.store->max_ts());
  state.ids = std::make_unique<id_generator>(state.cfg.node_name, random_nonce());
  cluster::drop_strays(self);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  for (std::size_t i = 0; i < std::max<std::size_t>(1, state.cfg.fanout_shards); ++i) {
    auto done = std::make_shared<shard_progress>(0);
    state.shards.push_back({caf::actor_cast<fanout_shard_actor>(self->spawn<caf::linked>(fanout_shard, done)), done});
  }
  adopt_inboxes(self);
  bind_scope(self);
  self->delayed_send(self, state.cfg.sweep_interval, sweep_atom::value);
  return {
    // this node's connections
    // Subscribes and the inbox are plain messages answered by plain
    // messages, as publishes are: a CAF request costs a clock entry that
    // lives for its whole timeout, answered or not (a third of a KiB per
    // connection while it lasts), and a wake-up when it fires.
    [=](subscribe_atom, std::uint64_t seq, const std::vector<std::string>& rooms,
        const std::map<std::string, std::string>& since, const member& conn) {
      if (from_this_node(self) && conn.actor)
        answer_subscribe(self, conn.actor, seq, subscribe(self, rooms, since, conn));
    },
    [=](unsubscribe_atom, const std::vector<std::string>& rooms, const caf::actor& conn) {
      if (from_this_node(self))
        for (const auto& room : rooms)
          local_leave(self, room, conn);
    },
    [=](publish_atom, std::uint64_t seq, message& draft, const caf::actor& conn, bool may_publish) {
      if (from_this_node(self) && conn)
        publish(self, seq, draft, conn, may_publish);
    },
    [=](typing_atom, const std::string& room, const std::string& user, bool start) {
      if (from_this_node(self))
        fan_out(self, room, user, "typing", start ? "start" : "stop");
    },
    [=](read_atom, const std::string& room, const std::string& user, const std::string& id, const caf::actor& conn) {
      if (from_this_node(self))
        on_read(self, room, user, id, conn);
    },
    [=](inbox_atom, const member& conn, std::weak_ptr<frame_sink> sink) {
      if (from_this_node(self) && conn.actor)
        open_inbox(self, conn, std::move(sink));
    },
    // the other nodes' chat servers
    [=](replicate_atom, const message& m, const std::vector<caf::actor>& recipients) {
      if (accept_from_peer(self, "replicate", valid_from_peer(self, m)))
        on_replicate(self, m, recipients);
    },
    [=](replicate_batch_atom, std::uint64_t seq, const std::vector<replicate_item>& items) {
      if (from_peer(self))
        store_batch(self, seq, items, caf::actor_cast<chat_server_actor>(self->current_sender()));
      else
        refuse(self, "replicate batch");
    },
    [=](replicated_atom, std::uint64_t seq, const std::vector<message>& kept) { on_batch_answer(self, seq, kept); },
    [=](relay_atom, const std::string& room, const std::string& user, const std::string& kind, const std::string& value,
        const std::vector<caf::actor>& recipients) {
      auto frame = relay_frame(room, user, kind, value);
      if (accept_from_peer(self, "relay", frame.has_value()))
        relay_here(self, room, *frame, recipients);
    },
    [=](pull_atom, const room_marks& theirs, const std::string& from_room,
        const std::string& after_id) -> caf::result<pull_page> {
      if (!from_peer(self)) {
        refuse(self, "pull");
        return caf::sec::request_receiver_down;
      }
      return serve_pull(self, theirs, from_room, after_id);
    },
    [=](read_mark_atom, const read_mark& m) {
      if (accept_from_peer(self, "read mark", valid_read_mark(m)))
        on_peer_read_mark(self, m);
    },
    [=](read_marks_atom, const std::string& after_room,
        const std::string& after_user) -> caf::result<std::vector<read_mark>> {
      if (!from_peer(self)) {
        refuse(self, "read mark pull");
        return caf::sec::request_receiver_down;
      }
      return serve_read_marks(self, after_room, after_user);
    },
    // the scope, to its watchers
    [=](pg_changes_atom, const cluster::changes& cs) {
      if (from_this_node(self))
        on_group_changes(self, cs);
    },
    [=](node_up_atom, const caf::node_id& node) {
      if (from_this_node(self))
        self->state.peer_nodes.insert(node);
    },
    [=](node_down_atom, const caf::node_id& node) {
      if (from_this_node(self))
        on_node_down(self, node);
    },
    // discovery
    [=](resolved_atom, const std::vector<caf::node_id>& reached) {
      if (from_this_node(self))
        on_first_round(self, reached);
    },
    // itself
    [=](resolved_atom) { on_ready_timeout(self); },
    [=](tick_atom) {
      if (!self->state.scope)
        bind_scope(self);
    },
    [=](sweep_atom) { on_sweep(self); },
    [=](sync_atom) {
      if (from_itself(self))
        start_sync(self);
    },
    [=](synced_atom, std::uint64_t n, bool ok, local_proof) { on_synced(self, n, ok); },
    [=](expire_atom) {
      if (from_itself(self))
        expire_batches(self);
    },
    [=](send_batches_atom) {
      if (from_itself(self))
        send_batches(self);
    },
    // /healthz and the fault hooks
    [=](health_atom) { return health_atom::value; },
#ifdef CHAT_FAULT_HOOKS
    [=](crash_atom, local_proof) -> caf::result<void> { throw std::runtime_error("chat server crash requested"); },
    [=](crash_on_publish_atom, local_proof) { self->state.crash_on_publish = true; },
#endif
  };
}

} // namespace chat
