#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "base/node_stats.hpp"

namespace chat::cluster {

struct discovery_config {
  std::string dns_name;           ///< resolved to every A/AAAA record
  std::uint16_t port = 9100;      ///< cluster port of the DNS-found peers
  std::vector<std::string> peers; ///< static host:port entries
  std::string self_addr;          ///< skipped: that is us
  std::uint16_t self_port = 9100;
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds connect_timeout{1000};
  bool tls = false; ///< connect through CAF's OpenSSL module
  /// Told (resolved_atom, reached nodes) once the first round is over, by
  /// registry name (the chat server, which waits for it to report ready).
  caf::atom_value first_round_listener = caf::atom("");
};

struct endpoint {
  std::string host;
  std::uint16_t port;
  std::string key() const;
};

/// Resolves a name to all its addresses (blocking; run it off actor threads).
std::vector<std::string> resolve_all(const std::string& name);

/// Parses "host:port" or "[v6]:port"; nullopt-like empty host when malformed.
endpoint parse_endpoint(const std::string& text, std::uint16_t default_port);

struct discovery_state {
  discovery_config cfg;
  std::shared_ptr<node_stats> stats;
  /// Endpoint key -> the peer's portal, for endpoints we are connected to.
  std::map<std::string, caf::actor> portals;
  /// Endpoint key -> the peer's scope, re-announced every round so that a
  /// restarted local scope learns of its peers again.
  std::map<std::string, caf::actor> scopes;
  std::set<std::string> pending;
  std::set<std::string> self_keys;
  /// Endpoints whose last connect failed (logged once until one succeeds).
  std::set<std::string> failing;
  /// Rounds an endpoint below our own was left for it to dial us (see round()).
  std::map<std::string, int> deferred;
  bool first_round = true;
  /// The first round left a peer to dial first (see round()): it is not
  /// over until that peer is dialled, or the node would report ready
  /// without having pulled that peer's history.
  bool first_round_deferred = false;
  std::vector<caf::node_id> reached;
  static inline const char* name = "discovery";
};

/// Finds peers by DNS and the static list, connects to each through CAF's
/// middleman and hands their scopes to the local scope. Runs detached (its
/// own thread), because name resolution and the reachability probe block.
caf::behavior discovery(caf::stateful_actor<discovery_state>* self, discovery_config cfg,
                        std::shared_ptr<node_stats> stats);

} // namespace chat::cluster
