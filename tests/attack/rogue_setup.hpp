#pragma once

// What every rogue test tool sets up: a CAF system that speaks the node's own
// message types over a plaintext middleman, and logs nothing of its own.

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "chat/messages.hpp"

namespace chat::rogue {

inline void configure(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  add_message_types(cfg);
  cfg.set("logger.console", caf::atom("none"));
}

} // namespace chat::rogue
