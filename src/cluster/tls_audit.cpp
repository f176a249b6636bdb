// Why this file exists: a TLS handshake that fails on the cluster port (a
// node with a certificate from another CA, a plaintext node, a port scanner)
// must be visible in the log of the node that refuses it. CAF 0.17 only
// reports such failures through its own logger, which Debian's build compiles
// out (CAF_LOG_LEVEL_QUIET), and it creates its OpenSSL context and session
// internally (caf::openssl::session), with no hook for us.
//
// And a fix: SSL_get_error reports SSL_ERROR_SSL whenever the thread's error
// queue is not empty, and only CAF's logging code (compiled out) empties it.
// One failed connection (a peer closing, a refused handshake) would leave its
// error behind, and the next SSL_read on the multiplexer thread that merely
// has no data yet would be taken for a failure: CAF closed a healthy peer
// connection ("peer scope down", then up again). Our SSL_get_error (also
// interposed) empties the queue after answering, as CAF's logging would.
//
// How: CAF calls SSL_new once per cluster connection. This executable defines
// SSL_new itself, so the dynamic linker binds libcaf_openssl's call to ours;
// ours calls the real one (dlsym RTLD_NEXT) and installs an info callback on
// the new session, which sees the end of every handshake step. A step that
// failed (not merely waiting for bytes) is logged with the peer's address and
// OpenSSL's reason, rate-limited, since anyone can cause one per connection.
//
// A connection closed before it sent a single byte is a TCP reachability
// probe (discovery's own, a load balancer's, a port scan): logged at debug.
//
// CAF has no handshake timeout either: a peer that connects and stays silent
// (a plaintext CAF node waits for the server to speak; so does a slowloris)
// would hold its socket and session for ever. Sessions are tracked from
// SSL_new to SSL_free (also interposed); one whose handshake is not done
// after handshake_deadline gets its socket shut down, which CAF sees as the
// peer closing. The fd is checked against the peer address recorded for the
// session first, so a number reused by another socket is never touched.

#include "cluster/cluster_tls.hpp"
#include "cluster/peer_cut.hpp"

#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace chat::cluster {

namespace {

std::atomic<bool> audit_on{false};

constexpr auto handshake_deadline = std::chrono::seconds(10);
std::atomic<unsigned> user_timeout_ms{0};

/// One line per (peer host, reason) a minute, and at most `burst` lines a
/// minute in all; what is held back is counted and reported with the next
/// line of the same key.
class log_limit {
public:
  bool allow(const std::string& key, std::size_t& suppressed) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = std::chrono::steady_clock::now();
    if (now - start_ >= window) {
      start_ = now;
      used_ = 0;
    }
    if (last_.size() > 4096)
      last_.clear();
    auto& k = last_[key];
    if ((k.logged && now - k.at < window) || used_ >= burst) {
      ++k.suppressed;
      return false;
    }
    ++used_;
    k.logged = true;
    k.at = now;
    suppressed = k.suppressed;
    k.suppressed = 0;
    return true;
  }

private:
  struct entry {
    bool logged = false;
    std::chrono::steady_clock::time_point at{};
    std::size_t suppressed = 0;
  };
  static constexpr std::size_t burst = 30;
  static constexpr std::chrono::seconds window{60};
  std::mutex mtx_;
  std::chrono::steady_clock::time_point start_{};
  std::size_t used_ = 0;
  std::map<std::string, entry> last_;
};

/// "1.2.3.4:567" -> "1.2.3.4": the port changes with every connection.
std::string host_of(const std::string& peer) {
  auto colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

log_limit accept_limit;
log_limit connect_limit;
log_limit stall_limit;

/// Sessions whose handshake is not done yet.
struct pending_session {
  std::chrono::steady_clock::time_point created;
  int fd = -1;
  std::string peer; ///< at the time the fd was first seen
};

std::mutex pending_mtx;
std::map<const SSL*, pending_session> pending;

void forget(const SSL* ssl) {
  std::lock_guard<std::mutex> guard{pending_mtx};
  pending.erase(ssl);
}

std::string peer_of_fd(int fd) {
  auto end = remote_end(fd);
  if (!end)
    return "?";
  bool v6 = end->first.find(':') != std::string::npos;
  return (v6 ? "[" + end->first + "]" : end->first) + ":" + std::to_string(end->second);
}

std::string peer_of(const SSL* ssl) { return peer_of_fd(SSL_get_fd(ssl)); }

std::string reason_of(unsigned long e) {
  const char* r = ERR_reason_error_string(e);
  return r ? r : "error " + std::to_string(e);
}

/// OpenSSL's reasons for the failure, without taking them off the queue: CAF
/// calls SSL_get_error next, which needs them.
std::string reasons() {
  auto first = ERR_peek_error();
  auto last = ERR_peek_last_error();
  if (first == 0)
    return "connection closed";
  return first == last ? reason_of(first) : reason_of(first) + "; " + reason_of(last);
}

void note_fd(const SSL* ssl) {
  std::lock_guard<std::mutex> guard{pending_mtx};
  auto it = pending.find(ssl);
  if (it != pending.end() && it->second.fd < 0 && SSL_get_fd(ssl) >= 0) {
    it->second.fd = SSL_get_fd(ssl);
    it->second.peer = peer_of(ssl);
    // What we queue to a peer is CAF's (an unbounded buffer inside its
    // BASP broker, out of our reach). A peer that stops reading keeps
    // answering heartbeats only as long as it reads them; the kernel bounds
    // the rest: data unacknowledged (or a zero window) for this long aborts
    // the connection, which CAF then closes like any other.
    if (auto t = user_timeout_ms.load(); t > 0)
      setsockopt(it->second.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &t, sizeof(t));
  }
}

void on_info(const SSL* ssl, int where, int ret) {
  if (where & SSL_CB_HANDSHAKE_DONE) {
    forget(ssl);
    return;
  }
  note_fd(ssl);
  if (!(where & SSL_CB_EXIT) || ret > 0)
    return;
  // Waiting for bytes is how a non-blocking handshake proceeds, not a failure.
  if (ERR_peek_error() == 0 && (SSL_want_read(ssl) || SSL_want_write(ssl)))
    return;
  bool server = SSL_is_server(const_cast<SSL*>(ssl)) == 1;
  auto peer = peer_of(ssl);
  {
    std::lock_guard<std::mutex> guard{pending_mtx};
    if (auto it = pending.find(ssl); it != pending.end()) {
      if (peer == "?")
        peer = it->second.peer.empty() ? peer : it->second.peer;
      pending.erase(it);
    }
  }
  auto why = reasons();
  auto* rbio = SSL_get_rbio(ssl);
  if (server && rbio && BIO_number_read(rbio) == 0) {
    spdlog::debug("cluster TLS: {} closed before a handshake ({})", peer, why);
    return;
  }
  std::size_t suppressed = 0;
  if (!(server ? accept_limit : connect_limit).allow(host_of(peer) + " " + why, suppressed))
    return;
  std::string more = suppressed ? fmt::format(" ({} similar message(s) suppressed)", suppressed) : "";
  if (server)
    spdlog::warn("cluster TLS: refused connection from {}: handshake failed: {}{}", peer, why, more);
  else
    spdlog::warn("cluster TLS: handshake with {} failed: {}{}", peer, why, more);
}

// Once a second: shut down the sockets of sessions past the deadline.
void reaper() {
  for (;;) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto now = std::chrono::steady_clock::now();
    std::vector<std::string> stalled;
    {
      std::lock_guard<std::mutex> guard{pending_mtx};
      for (auto it = pending.begin(); it != pending.end();) {
        const auto& p = it->second;
        if (now - p.created < handshake_deadline || p.fd < 0) {
          ++it;
          continue;
        }
        // Same socket still? (SSL_free runs after CAF closed the fd.)
        bool same = p.peer != "?" && peer_of_fd(p.fd) == p.peer;
        if (same) {
          shutdown(p.fd, SHUT_RDWR);
          stalled.push_back(p.peer);
        }
        it = pending.erase(it);
      }
    }
    for (const auto& peer : stalled) {
      std::size_t suppressed = 0;
      if (stall_limit.allow(host_of(peer), suppressed))
        spdlog::warn("cluster TLS: no TLS handshake with {} within {} s (a plaintext or stalled peer): closed{}", peer,
                     handshake_deadline.count(),
                     suppressed ? fmt::format(" ({} similar message(s) suppressed)", suppressed) : "");
    }
  }
}

} // namespace

void enable_tls_audit(std::chrono::milliseconds peer_timeout) {
  user_timeout_ms = static_cast<unsigned>(peer_timeout.count());
  static std::once_flag once;
  std::call_once(once, [] {
    audit_on = true;
    std::thread{reaper}.detach();
  });
}

} // namespace chat::cluster

extern "C" SSL* SSL_new(SSL_CTX* ctx) {
  using ssl_new_fn = SSL* (*)(SSL_CTX*);
  static const auto real = reinterpret_cast<ssl_new_fn>(dlsym(RTLD_NEXT, "SSL_new"));
  if (!real)
    return nullptr;
  SSL* ssl = real(ctx);
  if (ssl && chat::cluster::audit_on.load(std::memory_order_relaxed)) {
    SSL_set_info_callback(ssl, chat::cluster::on_info);
    std::lock_guard<std::mutex> guard{chat::cluster::pending_mtx};
    chat::cluster::pending[ssl] = {std::chrono::steady_clock::now(), -1, {}};
  }
  return ssl;
}

extern "C" int SSL_get_error(const SSL* ssl, int ret) {
  using ssl_get_error_fn = int (*)(const SSL*, int);
  static const auto real = reinterpret_cast<ssl_get_error_fn>(dlsym(RTLD_NEXT, "SSL_get_error"));
  if (!real)
    return SSL_ERROR_SSL;
  int result = real(ssl, ret);
  if (chat::cluster::audit_on.load(std::memory_order_relaxed))
    ERR_clear_error();
  return result;
}

extern "C" void SSL_free(SSL* ssl) {
  using ssl_free_fn = void (*)(SSL*);
  static const auto real = reinterpret_cast<ssl_free_fn>(dlsym(RTLD_NEXT, "SSL_free"));
  if (ssl && chat::cluster::audit_on.load(std::memory_order_relaxed))
    chat::cluster::forget(ssl);
  if (real)
    real(ssl);
}
