#pragma once

// Reading the node's settings from its flags and environment.

#include <optional>
#include <string>

#include "base/config.hpp"

namespace chat {

/// Half the cores, at least one: measured best for both I/O lanes and CAF
/// workers on 2 cores (docs/benchmarks.md, "Thread layout"), where every
/// extra thread mostly adds wake-ups.
int default_threads(unsigned cores);

/// Parses flags (`--name value` or `--name=value`) over the environment.
/// Returns an error text for an unknown flag or a bad value; `help` is set
/// for --help.
std::optional<std::string> parse_config(int argc, char** argv, config& out, bool& help);

std::string config_usage();

} // namespace chat
