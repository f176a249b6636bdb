#include "cluster/portal.hpp"

#include "app/messages.hpp"

namespace chat::cluster {

caf::behavior portal(caf::event_based_actor* self, std::string public_url) {
  // Anyone reaching the cluster port can send here: no stderr line per stray message.
  self->set_default_handler(caf::drop);
  // An error message that is not the answer to a request of ours (anyone
  // can send one, and an actor whose default handler drops our message
  // answers with one) would end the actor under CAF's default error handler.
  self->set_error_handler([](caf::error&) {});
  return {
    [=](peer_addr_atom) { return public_url; },
    [=](pg_peer_atom) -> caf::result<caf::actor> {
      auto scope = lookup(self->system(), registry_name::pg_scope);
      if (!scope)
        return caf::make_error(caf::sec::no_actor_published_at_port);
      return scope;
    },
  };
}

} // namespace chat::cluster
