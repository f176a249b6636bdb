#include "app/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include "protocol/names.hpp"

namespace chat {

namespace {

struct option {
  const char* flag;
  const char* env;
  const char* help;
  std::function<void(config&, const std::string&)> set;
};

template <class T>
T number(const std::string& s, T lo, T hi) {
  std::size_t pos = 0;
  long double v = std::stold(s, &pos);
  if (pos != s.size() || !std::isfinite(v) || v < lo || v > hi)
    throw std::invalid_argument("out of range");
  return static_cast<T>(v);
}

/// "1"/"true" or "0"/"false"; anything else is an error, not a silent "off".
bool boolean(const std::string& v) {
  if (v == "1" || v == "true")
    return true;
  if (v == "0" || v == "false")
    return false;
  throw std::invalid_argument("not a boolean");
}

const std::vector<option>& options() {
  static const std::vector<option> opts = {
    {"node-name", "CHAT_NODE_NAME", "node name (default: host name)",
     [](config& c, const std::string& v) { c.node_name = v; }},
    {"http-addr", "CHAT_HTTP_ADDR", "HTTP/WebSocket listen address",
     [](config& c, const std::string& v) { c.http_addr = v; }},
    {"admin-addr", "CHAT_ADMIN_ADDR", "admin listen address (/metrics, /api/cluster, /debug)",
     [](config& c, const std::string& v) { c.admin_addr = v; }},
    {"admin-port", "CHAT_ADMIN_PORT", "admin port (/metrics, /api/cluster, /debug); 0: none",
     [](config& c, const std::string& v) { c.admin_port = number<std::uint16_t>(v, 0, 65535); }},
    {"http-port", "CHAT_HTTP_PORT", "HTTP/WebSocket port",
     [](config& c, const std::string& v) { c.http_port = number<std::uint16_t>(v, 1, 65535); }},
    {"cluster-addr", "CHAT_CLUSTER_ADDR", "address of the cluster (CAF) port",
     [](config& c, const std::string& v) { c.cluster_addr = v; }},
    {"cluster-port", "CHAT_CLUSTER_PORT", "cluster (CAF) port",
     [](config& c, const std::string& v) { c.cluster_port = number<std::uint16_t>(v, 1, 65535); }},
    {"advertise-addr", "CHAT_ADVERTISE_ADDR", "this node's address as peers see it",
     [](config& c, const std::string& v) { c.advertise_addr = v; }},
    {"public-url", "CHAT_PUBLIC_URL", "URL browsers reach this node at (shown to pages for failover)",
     [](config& c, const std::string& v) { c.public_url = v; }},
    {"discovery-dns", "CHAT_DISCOVERY_DNS", "DNS name listing every node",
     [](config& c, const std::string& v) { c.discovery_dns = v; }},
    {"peers", "CHAT_PEERS", "static peers host:port,host:port",
     [](config& c, const std::string& v) { c.peers = protocol::split_commas(v); }},
    {"discovery-interval-ms", "CHAT_DISCOVERY_INTERVAL_MS", "how often discovery runs",
     [](config& c, const std::string& v) { c.discovery_interval_ms = number<std::int64_t>(v, 50, 600000); }},
    {"peer-timeout-ms", "CHAT_PEER_TIMEOUT_MS", "silent peer declared down after",
     [](config& c, const std::string& v) { c.peer_timeout_ms = number<std::int64_t>(v, 500, 600000); }},
    {"peer-backlog-bytes", "CHAT_PEER_BACKLOG_BYTES",
     "replicate bytes a peer may leave unanswered before it is dropped",
     [](config& c, const std::string& v) {
       c.peer_backlog_bytes = number<std::size_t>(v, 4096, std::size_t{1} << 40);
     }},
    {"history", "CHAT_HISTORY", "messages sent after subscribed (and held in memory per room in use)",
     [](config& c, const std::string& v) { c.history = number<std::size_t>(v, 1, 100000); }},
    {"data-dir", "CHAT_DATA_DIR", "directory of the on-disk history store (empty: history in memory only)",
     [](config& c, const std::string& v) { c.data_dir = v; }},
    {"history-keep", "CHAT_HISTORY_KEEP", "messages kept per room on disk (with --data-dir)",
     [](config& c, const std::string& v) { c.history_keep = number<std::size_t>(v, 1, 10000000); }},
    {"history-cache-bytes", "CHAT_HISTORY_CACHE_BYTES", "bytes of history windows held in memory (with --data-dir)",
     [](config& c, const std::string& v) {
       c.history_cache_bytes = number<std::size_t>(v, 1 << 20, std::size_t{1} << 40);
     }},
    {"fsync", "CHAT_FSYNC", "1: acks wait for a group-committed fsync of the store's log",
     [](config& c, const std::string& v) { c.fsync = boolean(v); }},
    {"max-frame-bytes", "CHAT_MAX_FRAME_BYTES", "largest client frame",
     [](config& c, const std::string& v) { c.max_frame_bytes = number<std::size_t>(v, 256, 16 << 20); }},
    {"max-text-chars", "CHAT_MAX_TEXT_CHARS", "longest text in code points",
     [](config& c, const std::string& v) { c.max_text_chars = number<std::size_t>(v, 1, 1 << 20); }},
    {"max-rooms", "CHAT_MAX_ROOMS", "rooms per connection",
     [](config& c, const std::string& v) { c.max_rooms = number<std::size_t>(v, 1, 100000); }},
    {"rate-per-s", "CHAT_RATE_PER_S", "publishes per second per connection",
     [](config& c, const std::string& v) { c.rate_per_s = number<double>(v, 0.001, 1e9); }},
    {"burst", "CHAT_BURST", "publish burst per connection",
     [](config& c, const std::string& v) { c.burst = number<double>(v, 1, 1e9); }},
    {"max-queue-bytes", "CHAT_MAX_QUEUE_BYTES", "outgoing queue bound per connection",
     [](config& c, const std::string& v) { c.max_queue_bytes = number<std::size_t>(v, 1024, std::size_t{1} << 34); }},
    {"idle-ping-ms", "CHAT_IDLE_PING_MS", "ping after this much silence",
     [](config& c, const std::string& v) { c.idle_ping_ms = number<std::int64_t>(v, 100, 3600000); }},
    {"drain-grace-ms", "CHAT_DRAIN_GRACE_MS", "notice-to-close time on SIGTERM",
     [](config& c, const std::string& v) { c.drain_grace_ms = number<std::int64_t>(v, 0, 600000); }},
    {"auth-secret", "CHAT_AUTH_SECRET", "HMAC secret; tokens required when set",
     [](config& c, const std::string& v) { c.auth_secret = v; }},
    {"cluster-tls-cert", "CHAT_CLUSTER_TLS_CERT", "PEM certificate (chain) of this node on the cluster port",
     [](config& c, const std::string& v) { c.cluster_tls_cert = v; }},
    {"cluster-tls-key", "CHAT_CLUSTER_TLS_KEY", "PEM private key of that certificate",
     [](config& c, const std::string& v) { c.cluster_tls_key = v; }},
    {"cluster-tls-ca", "CHAT_CLUSTER_TLS_CA", "PEM CA that signs every node's certificate (mutual TLS)",
     [](config& c, const std::string& v) { c.cluster_tls_ca = v; }},
    {"allowed-origins", "CHAT_ALLOWED_ORIGINS", "origins allowed to open /ws: a,b,... or * (default: same origin)",
     [](config& c, const std::string& v) { c.allowed_origins = protocol::split_commas(v); }},
    {"max-connections", "CHAT_MAX_CONNECTIONS", "open WebSocket connections per node",
     [](config& c, const std::string& v) { c.max_connections = number<std::size_t>(v, 1, 10000000); }},
    {"max-node-queue-bytes", "CHAT_MAX_NODE_QUEUE_BYTES", "outgoing bytes queued on the whole node",
     [](config& c, const std::string& v) {
       c.max_node_queue_bytes = number<std::size_t>(v, 65536, std::size_t{1} << 40);
     }},
    {"max-node-rooms", "CHAT_MAX_NODE_ROOMS", "rooms kept in memory; idle ones beyond are evicted",
     [](config& c, const std::string& v) { c.max_node_rooms = number<std::size_t>(v, 1, 10000000); }},
    {"log-level", "CHAT_LOG_LEVEL", "trace, debug, info, warn, error",
     [](config& c, const std::string& v) { c.log_level = v; }},
    {"threads", "CHAT_THREADS", "Asio I/O threads (I/O lanes)",
     [](config& c, const std::string& v) { c.threads = number<int>(v, 1, 64); }},
    {"workers", "CHAT_WORKERS", "CAF scheduler threads (actors)",
     [](config& c, const std::string& v) { c.workers = number<int>(v, 1, 64); }},
    {"metrics-per-room", "CHAT_METRICS_PER_ROOM", "one /metrics series per room: 1 or 0 (never with an auth secret)",
     [](config& c, const std::string& v) { c.metrics_per_room = boolean(v); }},
    {"debug-endpoints", "CHAT_DEBUG_ENDPOINTS", "enable /debug/* fault hooks (tests only): 1 or 0",
     [](config& c, const std::string& v) { c.debug_endpoints = v == "1" || v == "true"; }},
  };
  return opts;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0)
    return "node";
  return buf;
}

std::optional<std::string> apply(const option& o, config& out, const std::string& value, const std::string& from) {
  try {
    o.set(out, value);
    return std::nullopt;
  } catch (const std::exception&) { return "bad value '" + value + "' for " + from; }
}

} // namespace

std::optional<std::string> parse_config(int argc, char** argv, config& out, bool& help) {
  help = false;
  for (const auto& o : options())
    if (const char* v = std::getenv(o.env))
      if (auto err = apply(o, out, v, o.env))
        return err;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      return std::nullopt;
    }
    if (arg.rfind("--", 0) != 0)
      return "unexpected argument '" + arg + "'";
    auto name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const option* found = nullptr;
    for (const auto& o : options())
      if (name == o.flag)
        found = &o;
    if (!found)
      return "unknown flag '--" + name + "'";
    if (!value) {
      if (name == "debug-endpoints") {
        value = "1";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return "flag '--" + name + "' needs a value";
      }
    }
    if (auto err = apply(*found, out, *value, "--" + name))
      return err;
  }
  if (out.node_name.empty())
    out.node_name = host_name();
  if (out.threads == 0)
    out.threads = default_threads(std::thread::hardware_concurrency());
  if (out.workers == 0)
    out.workers = default_threads(std::thread::hardware_concurrency());
#ifndef CHAT_FAULT_HOOKS
  if (out.debug_endpoints)
    return "this build has no fault hooks (--debug-endpoints needs a build with CHAT_FAULT_HOOKS=ON)";
#endif
  int tls_set = !out.cluster_tls_cert.empty() + !out.cluster_tls_key.empty() + !out.cluster_tls_ca.empty();
  if (tls_set != 0 && tls_set != 3)
    return "--cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca go together";
  if (!protocol::valid_user(out.node_name))
    return "node name must be 1 to 32 characters from [A-Za-z0-9_.-]";
  if (out.advertise_addr.empty())
    out.advertise_addr = out.cluster_addr;
  if (out.public_url.empty()) {
    auto host = out.http_addr == "0.0.0.0" || out.http_addr == "::" ? out.advertise_addr : out.http_addr;
    if (host != "0.0.0.0" && host != "::") {
      if (host.find(':') != std::string::npos)
        host = "[" + host + "]";
      out.public_url = "http://" + host + ":" + std::to_string(out.http_port);
    }
  }
  return std::nullopt;
}

int default_threads(unsigned cores) { return static_cast<int>(std::clamp(cores / 2, 1u, 64u)); }

std::string config_usage() {
  std::string s = "usage: chatd [--flag value]...\n\n";
  for (const auto& o : options())
    s += "  --" + std::string(o.flag) + " (" + o.env + "): " + o.help + "\n";
  return s;
}

} // namespace chat
