#include "chat/fanout_shard.hpp"

#include "chat/messages.hpp"

namespace chat {

using protocol::frame_ptr;

void hand_to(const std::vector<sink_ptr>& sinks, const caf::message& msg) {
  if (msg.match_elements<deliver_atom, std::string, std::string, frame_ptr>()) {
    const auto& room = msg.get_as<std::string>(1);
    const auto& id = msg.get_as<std::string>(2);
    const auto& frame = msg.get_as<frame_ptr>(3);
    for (const auto& s : sinks)
      s->deliver(room, id, frame);
  } else if (msg.match_elements<push_atom, std::string, frame_ptr>()) {
    const auto& room = msg.get_as<std::string>(1);
    const auto& frame = msg.get_as<frame_ptr>(2);
    for (const auto& s : sinks)
      s->push(room, frame);
  } else if (msg.match_elements<notify_atom, frame_ptr>()) {
    const auto& frame = msg.get_as<frame_ptr>(1);
    for (const auto& s : sinks)
      s->send(frame);
  } else if (msg.match_elements<subscribed_atom, std::uint64_t, std::vector<room_snapshot>>()) {
    const auto& snaps = msg.get_as<std::vector<room_snapshot>>(2);
    for (const auto& s : sinks)
      open_rooms(*s, snaps);
  }
}

caf::behavior fanout_shard(caf::event_based_actor* self, std::shared_ptr<shard_progress> done) {
  return {
    [=](fanout_atom, const std::vector<caf::actor>& to, const std::vector<sink_ptr>& sinks, const caf::message& msg) {
      if (!sinks.empty())
        hand_to(sinks, msg);
      for (const auto& a : to)
        self->send(a, msg);
      done->fetch_add(1, std::memory_order_release);
    },
  };
}

} // namespace chat
