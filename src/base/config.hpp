#pragma once

// The settings of a node, read by every layer; app/config.hpp parses them.

#include <cstdint>
#include <string>
#include <vector>

namespace chat {

/// Everything a node can be told, from flags and environment variables
/// (see docs/config.md; a flag wins over its variable).
struct config {
  std::string node_name;
  std::string http_addr = "0.0.0.0";
  std::uint16_t http_port = 8080;
  /// Metrics, the full cluster view and debug hooks; port 0: none.
  std::string admin_addr = "127.0.0.1";
  std::uint16_t admin_port = 9180;
  std::string cluster_addr = "0.0.0.0";
  std::uint16_t cluster_port = 9100;
  std::string advertise_addr;
  std::string public_url; ///< where browsers reach this node; default from advertise addr and http port
  std::string discovery_dns;
  std::vector<std::string> peers;
  std::int64_t discovery_interval_ms = 2000;
  std::int64_t peer_timeout_ms = 4000;
  std::size_t peer_backlog_bytes = std::size_t{64} << 20;
  std::size_t history = 50;
  /// The on-disk history store; empty: history in memory only.
  std::string data_dir;
  std::size_t history_keep = 10000;
  std::size_t history_cache_bytes = std::size_t{64} << 20;
  bool fsync = false;
  std::size_t max_frame_bytes = 65536;
  std::size_t max_text_chars = 4000;
  std::size_t max_rooms = 50;
  double rate_per_s = 20;
  double burst = 40;
  std::size_t max_queue_bytes = 4194304;
  std::int64_t idle_ping_ms = 20000;
  std::int64_t drain_grace_ms = 2000;
  std::string auth_secret;
  /// Mutual TLS on the cluster port: all three set, or none (plaintext, warned).
  std::string cluster_tls_cert;
  std::string cluster_tls_key;
  std::string cluster_tls_ca;
  /// Origins allowed at the WebSocket upgrade: empty means the request's own
  /// origin only; "*" allows any. Requests without Origin are allowed.
  std::vector<std::string> allowed_origins;
  /// Node-wide bounds, whatever the clients do.
  std::size_t max_connections = 20000;
  std::size_t max_node_queue_bytes = std::size_t{512} << 20;
  std::size_t max_node_rooms = 10000; ///< rooms held in memory; idle ones beyond are evicted
  std::string log_level = "info";
  /// I/O lanes and CAF scheduler threads; 0 until parse_config picks them
  /// by core count (default_threads).
  int threads = 0;
  int workers = 0;
  bool debug_endpoints = false;
  /// One /metrics series per room (history length, group members); room
  /// names are users' words and rooms are unbounded, so off by default, and
  /// never with an auth secret.
  bool metrics_per_room = false;
};

} // namespace chat
