#pragma once

// A real CAF actor system for the tests that need actor handles or actors.
// Every actor spawned through the fixture is killed when the test ends, so
// the system can shut down.

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "chat/messages.hpp"

namespace chat::test {

inline caf::actor_system_config& quiet(caf::actor_system_config& cfg) {
  chat::add_message_types(cfg);
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.console", caf::atom("none"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  spdlog::set_level(spdlog::level::off);
  return cfg;
}

struct actor_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{quiet(cfg)};
  std::vector<caf::actor> spawned;

  ~actor_fixture() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::kill);
  }

  /// An actor that does nothing but exist: a handle for membership tests.
  caf::actor dummy() {
    auto a = sys.spawn([]() -> caf::behavior { return {[](int) {}}; });
    spawned.push_back(a);
    return a;
  }

  /// Kills `a` at the end of the test too. Typed actors come back as plain
  /// handles: the tests also send what their interface does not allow, as a
  /// peer could.
  template <class Handle>
  caf::actor keep(const Handle& h) {
    auto a = caf::actor_cast<caf::actor>(h);
    spawned.push_back(a);
    return a;
  }
};

/// Polls `pred` until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

} // namespace chat::test
