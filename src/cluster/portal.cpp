#include "cluster/portal.hpp"

#include "cluster/messages.hpp"
#include "cluster/sender_checks.hpp"

namespace chat::cluster {

caf::behavior portal(caf::event_based_actor* self, std::string public_url) {
  // Anyone reaching the cluster port can send here: no stderr line per stray message.
  drop_strays(self);
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
