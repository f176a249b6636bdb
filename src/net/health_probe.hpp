#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <caf/actor_system.hpp>

namespace chat::net {

/// Asks the chat server for a health_atom round trip without blocking the
/// caller: `done("")` once it answered, `done(why)` when there is no chat
/// server or it did not answer within `timeout`. `done` runs on a CAF thread
/// (or, with no chat server, right here); it must only post elsewhere.
void probe_health(caf::actor_system& sys, std::chrono::milliseconds timeout, std::function<void(std::string)> done);

} // namespace chat::net
