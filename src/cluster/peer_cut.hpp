#pragma once

// CAF 0.17 has no call that closes the connection to one node. A peer that
// stays connected but stops keeping up (its answers stop coming, or what it
// owes us grows past a bound) would otherwise hold our memory for as long
// as it likes. We shut its TCP socket down underneath CAF instead: CAF reads
// that like the peer closing, reports the node down, and the usual recovery
// follows (discovery reconnects, anti-entropy fills the gap).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <caf/fwd.hpp>

namespace chat::cluster {

/// The other end of a connected socket, as "addr" and port with the address
/// formatted as CAF formats it (inet_ntop); nullopt when `fd` is not one.
std::optional<std::pair<std::string, std::uint16_t>> remote_end(int fd);

/// Shuts down, both ways, every TCP socket of this process whose other end
/// is host:port and whose own port is not `except_local_port` (the client
/// port: a client may have the same address and port number as a peer only
/// on a different local end). Returns how many it shut down.
std::size_t shut_down_sockets_to(const std::string& host, std::uint16_t port, std::uint16_t except_local_port);

/// Drops the connection to `node`: asks the middleman for its address and
/// shuts that socket down, from a detached actor (scanning this process's
/// descriptors is no work for a scheduler thread). Logs the outcome.
void drop_peer(caf::actor_system& sys, const caf::node_id& node, std::uint16_t except_local_port);

} // namespace chat::cluster
