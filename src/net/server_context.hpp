#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <caf/actor_system.hpp>

#include "base/config.hpp"
#include "base/node_stats.hpp"
#include "chat/history_store.hpp"

namespace chat::net {

class io_lanes;
class websocket_session;

/// Live sessions by id, for draining and for the debug hooks.
class session_registry {
public:
  void add(const std::string& id, std::weak_ptr<websocket_session> s);
  void remove(const std::string& id);
  std::shared_ptr<websocket_session> find(const std::string& id) const;
  std::vector<std::shared_ptr<websocket_session>> all() const;

private:
  mutable std::mutex mtx_;
  std::map<std::string, std::weak_ptr<websocket_session>> sessions_;
};

/// Which listener a connection came in on. The public port serves clients
/// (page, WebSocket, health, history, the public cluster view); the admin
/// port serves operators (metrics, the full cluster view, debug hooks).
enum class port_role { public_port, admin_port };

/// What the HTTP side shares: one per node, outlives every session.
struct server_context {
  caf::actor_system& sys;
  const config& cfg;
  std::shared_ptr<node_stats> stats;
  std::shared_ptr<history_store> store;
  session_registry sessions;
  std::atomic<std::uint64_t> next_session{0};
  /// WebSocket sessions alive, upgrading or open: what --max-connections caps
  /// (stats->connections counts only those past the handshake).
  std::atomic<std::int64_t> ws_sessions{0};
  /// The I/O threads, set once they exist.
  io_lanes* lanes = nullptr;
};

/// With an auth secret, room names are for token holders only: what anyone
/// may read (/api/cluster, /metrics) leaves them out.
inline bool rooms_hidden(const server_context& ctx) { return !ctx.cfg.auth_secret.empty(); }

} // namespace chat::net
