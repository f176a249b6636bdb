#pragma once

#include "base/config.hpp"

namespace chat {

/// Runs one node until SIGTERM/SIGINT (then drains) or until its supervisor
/// gives up. Returns the process exit code.
int run_node(const config& cfg);

} // namespace chat
