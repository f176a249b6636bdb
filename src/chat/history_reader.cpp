#include "chat/history_reader.hpp"

#include "chat/messages.hpp"
#include "cluster/sender_checks.hpp"

namespace chat {

caf::behavior history_reader(caf::event_based_actor* self, std::shared_ptr<history_store> store) {
  cluster::drop_strays(self);
  return {
    [=](history_atom, const std::string& room, const std::string& before,
        std::size_t limit) -> caf::result<scrollback> {
      if (!cluster::from_this_node(self))
        return caf::sec::request_receiver_down;
      return store->before(room, before, limit);
    },
    [=](marks_atom, local_proof) { return store->marks(); },
    [=](pull_atom, const room_marks& theirs, const std::string& from_room, const std::string& after_id, std::size_t max,
        local_proof) { return store->pull(theirs, from_room, after_id, max); },
  };
}

} // namespace chat
