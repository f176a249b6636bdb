#include "chat/fanout_shard.hpp"

#include "chat/messages.hpp"

namespace chat {

caf::behavior fanout_shard(caf::event_based_actor* self) {
  return {
    [=](fanout_atom, const std::vector<caf::actor>& to, const caf::message& msg) {
      for (const auto& a : to)
        self->send(a, msg);
    },
  };
}

} // namespace chat
