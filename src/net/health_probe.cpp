#include "net/health_probe.hpp"

#include <string>

#include <caf/all.hpp>

#include "chat/messages.hpp"

namespace chat::net {

void probe_health(caf::actor_system& sys, std::chrono::milliseconds timeout, std::function<void(std::string)> done) {
  auto cs = lookup<chat_server_actor>(sys, registry_name::chat_server);
  if (!cs) {
    done("no chat server right now");
    return;
  }
  // A throwaway actor: it lives until its one request is answered or times out.
  sys.spawn([cs, timeout, done = std::move(done)](caf::event_based_actor* self) {
    self->request(cs, timeout, health_atom::value)
      .then([done](health_atom) { done(""); },
            [done](const caf::error&) { done("the chat server did not answer in time"); });
  });
}

} // namespace chat::net
