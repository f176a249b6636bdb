#include "chat/relay.hpp"

#include "protocol/frames.hpp"
#include "protocol/names.hpp"

namespace chat::detail {

std::optional<std::string> relay_frame(const std::string& room, const std::string& user, const std::string& kind,
                                       const std::string& value) {
  if (!protocol::valid_room(room) || !protocol::valid_user(user))
    return std::nullopt;
  if (kind == "typing" && (value == "start" || value == "stop"))
    return protocol::typing_frame(room, user, value == "start");
  if (kind == "read" && !value.empty() && value.size() <= protocol::max_id_bytes)
    return protocol::read_receipt_frame(room, user, value);
  return std::nullopt;
}

void fan_out(self_ptr self, const std::string& room, const std::string& user, const std::string& kind,
             const std::string& value) {
  auto& st = self->state;
  auto frame = relay_frame(room, user, kind, value);
  if (!frame)
    return;
  auto want = [&](const member& m) { return m.user != user; };
  auto remote = remote_members(self, room, want);
  push_local(self, room, push_msg(room, *frame), want);
  for (const auto& [node, cs] : st.peers) {
    auto it = remote.find(node);
    if (it == remote.end())
      continue;
    self->send(cs, relay_atom::value, room, user, kind, value, it->second);
    ++st.stats->node_msgs_out;
  }
}

void relay_here(self_ptr self, const std::string& room, const std::string& frame,
                const std::vector<caf::actor>& recipients) {
  recipient_ids chosen(self, recipients);
  push_local(self, room, push_msg(room, frame), [&](const member& mem) { return chosen.contains(mem.actor); });
}

} // namespace chat::detail
