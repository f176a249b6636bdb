#include "app/supervisor.hpp"

#include <spdlog/spdlog.h>

#include "chat/messages.hpp"

namespace chat {

namespace {

using self_ptr = caf::stateful_actor<supervisor_state>*;

void start_child(self_ptr self, std::size_t i) {
  auto& spec = self->state.specs[i];
  auto child = spec.start(self);
  self->monitor(child);
  self->system().registry().put(spec.name, caf::actor_cast<caf::strong_actor_ptr>(child));
  self->state.running[i] = child;
}

// Children stop in reverse start order. Their registry entries go too: a
// detached child's thread only ends once nothing holds its handle.
void stop_children(self_ptr self) {
  auto& st = self->state;
  st.stopping = true;
  for (std::size_t i = st.running.size(); i-- > 0;) {
    if (!st.running[i])
      continue;
    self->send_exit(st.running[i], caf::exit_reason::user_shutdown);
    self->system().registry().erase(st.specs[i].name);
    st.running[i] = nullptr;
  }
}

} // namespace

caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self, std::vector<child_spec> specs,
                         restart_intensity intensity, std::shared_ptr<node_stats> stats) {
  auto& state = self->state;
  state.specs = std::move(specs);
  state.running.resize(state.specs.size());
  state.intensity.emplace(intensity);
  state.stats = std::move(stats);
  for (std::size_t i = 0; i < state.specs.size(); ++i)
    start_child(self, i);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    for (std::size_t i = 0; i < st.running.size(); ++i) {
      if (st.running[i].address() != dm.source)
        continue;
      auto name = st.specs[i].name;
      st.running[i] = nullptr;
      self->system().registry().erase(name);
      if (st.stopping)
        return;
      if (!st.intensity->allow(restart_intensity::clock::now())) {
        spdlog::critical("supervisor: {} died ({}) past the restart intensity; stopping the node", to_string(name),
                         self->system().render(dm.reason));
        stop_children(self);
        self->quit(caf::sec::runtime_error);
        return;
      }
      spdlog::error("supervisor: {} died ({}); restarting it", to_string(name), self->system().render(dm.reason));
      ++st.stats->restarts;
      if (name == registry_name::chat_server)
        ++st.stats->chat_restarts;
      start_child(self, i);
      return;
    }
  });
  self->set_exit_handler([=](caf::exit_msg& em) {
    stop_children(self);
    self->quit(em.reason);
  });
  return {
    [](caf::get_atom) { return true; },
  };
}

} // namespace chat
