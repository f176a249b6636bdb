#pragma once

#include "loadgen/options.hpp"

namespace loadgen {

/// Fan-out: senders publish at a fixed rate, every client counts what it
/// gets; the JSON result has deliveries, latency, losses and server CPU.
int run_fanout(const options& o);

/// Idle connections: what each costs the server in memory.
int run_idle(const options& o);

} // namespace loadgen
