#include "chat/history_reader.hpp"

#include "app/messages.hpp"
#include "cluster/sender_checks.hpp"

namespace chat {

caf::behavior history_reader(caf::event_based_actor* self, std::shared_ptr<history_store> store) {
  cluster::drop_strays(self);
  return {
    [=](history_atom, const std::string& room, const std::string& before, std::size_t limit) -> caf::result<scrollback> {
      if (!cluster::from_this_node(self))
        return caf::sec::request_receiver_down;
      return store->before(room, before, limit);
    },
  };
}

} // namespace chat
