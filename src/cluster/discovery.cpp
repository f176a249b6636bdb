#include "cluster/discovery.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <spdlog/spdlog.h>

#include "cluster/messages.hpp"
#include "cluster/sender_checks.hpp"

namespace chat::cluster {

namespace {

using self_ptr = caf::stateful_actor<discovery_state>*;

/// For each step of meeting a peer (the cluster connection, its scope, its
/// public URL); a peer slower than this is tried again next round.
constexpr auto handshake_timeout = std::chrono::seconds(5);

caf::actor registered(self_ptr self, caf::atom_value name) { return lookup(self->system(), name); }

// CAF's middleman connects with a blocking call inside its one actor, so a
// peer that swallows SYNs (cut off, not closed) would stall every other
// connect for minutes. A short probe from this thread keeps it out of there.
bool reachable(const endpoint& ep, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(ep.host.c_str(), std::to_string(ep.port).c_str(), &hints, &res) != 0 || !res)
    return false;
  bool ok = false;
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    if (rc == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        ok = err == 0;
      }
    }
    close(fd);
  }
  freeaddrinfo(res);
  return ok;
}

void first_round_step(self_ptr self, int& outstanding) {
  auto& st = self->state;
  if (!st.first_round || st.first_round_deferred || outstanding > 0)
    return;
  st.first_round = false;
  st.stats->resolved = true;
  spdlog::info("discovery: first round done, {} peer(s) reached", st.reached.size());
  if (auto listener = registered(self, st.cfg.first_round_listener))
    self->send(listener, resolved_atom::value, st.reached);
}

void connect_to(self_ptr self, const endpoint& ep, std::shared_ptr<int> outstanding) {
  auto key = ep.key();
  self->state.pending.insert(key);
  ++*outstanding;
  auto done = [=] {
    self->state.pending.erase(key);
    --*outstanding;
    first_round_step(self, *outstanding);
  };
  bool tls = self->state.cfg.tls;
  auto mm = tls ? self->system().openssl_manager().actor_handle() : self->system().middleman().actor_handle();
  self->request(mm, handshake_timeout, caf::connect_atom::value, ep.host, ep.port)
    .then(
      [=](const caf::node_id& nid, const caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        if (nid == self->node()) {
          self->state.self_keys.insert(key);
          done();
          return;
        }
        auto portal = caf::actor_cast<caf::actor>(ptr);
        if (!portal) {
          done();
          return;
        }
        self->state.failing.erase(key);
        self->state.deferred.erase(key);
        self->state.portals[key] = portal;
        self->monitor(portal);
        self->request(portal, handshake_timeout, pg_peer_atom::value)
          .then(
            [=](const caf::actor& scope) {
              auto& st = self->state;
              st.scopes[key] = scope;
              if (st.first_round)
                st.reached.push_back(nid);
              spdlog::info("discovery: connected to {} node={}", key, to_string(nid));
              if (auto local = registered(self, registry_name::pg_scope))
                self->send(local, pg_peer_atom::value, scope);
              self->request(portal, handshake_timeout, peer_addr_atom::value)
                .then(
                  [=](const std::string& url) {
                    if (auto nm = registered(self, registry_name::node_monitor))
                      self->send(nm, peer_addr_atom::value, nid, key, url);
                  },
                  [](const caf::error&) {});
              done();
            },
            [=](const caf::error&) {
              self->state.stats->metrics.discovery_error("handshake");
              done();
            });
      },
      [=](const caf::error& err) {
        self->state.stats->metrics.discovery_error("connect");
        // With TLS a refused handshake ends here too (OpenSSL's reason is in
        // the "cluster TLS" line); say so once per endpoint, not every round.
        if (tls && self->state.failing.insert(key).second)
          spdlog::warn("discovery: TLS connect to {} failed: {}", key, self->system().render(err));
        else
          spdlog::debug("discovery: connect to {} failed: {}", key, self->system().render(err));
        done();
      });
}

void round(self_ptr self) {
  auto& st = self->state;
  std::vector<endpoint> targets;
  auto resolve = [&](const std::string& name, std::uint16_t port) {
    auto addrs = resolve_all(name);
    if (addrs.empty())
      st.stats->metrics.discovery_error("resolve");
    for (auto& addr : addrs)
      targets.push_back({addr, port});
  };
  if (!st.cfg.dns_name.empty())
    resolve(st.cfg.dns_name, st.cfg.port);
  for (const auto& p : st.cfg.peers) {
    auto ep = parse_endpoint(p, st.cfg.port);
    if (!ep.host.empty())
      resolve(ep.host, ep.port);
  }
  auto outstanding = std::make_shared<int>(0);
  auto self_key = endpoint{st.cfg.self_addr, st.cfg.self_port}.key();
  st.first_round_deferred = false;
  for (const auto& ep : targets) {
    auto key = ep.key();
    bool is_self = (ep.host == st.cfg.self_addr && ep.port == st.cfg.self_port) || st.self_keys.count(key);
    if (is_self || st.portals.count(key) || st.pending.count(key))
      continue;
    // Two nodes dialling each other at the same moment each get a connection
    // the other's BASP closes as redundant, and both lose the peer (likely
    // with TLS, whose handshake widens the window). So the node with the
    // higher address gives the lower one a few rounds to dial first; its own
    // later dial then finds the connection made (or reaches a node that does
    // not know us, e.g. one started with --peers pointing at us).
    if (!st.cfg.self_addr.empty() && key < self_key && st.deferred[key]++ < 3) {
      st.first_round_deferred = st.first_round_deferred || st.first_round;
      continue;
    }
    if (reachable(ep, st.cfg.connect_timeout))
      connect_to(self, ep, outstanding);
    else
      st.stats->metrics.discovery_error("unreachable");
  }
  // A restarted scope knows no peers: tell it again (known ones are ignored).
  if (auto local = registered(self, registry_name::pg_scope))
    for (const auto& [key, scope] : st.scopes)
      self->send(local, pg_peer_atom::value, scope);
  first_round_step(self, *outstanding);
}

} // namespace

std::string endpoint::key() const {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                             : host + ":" + std::to_string(port);
}

std::vector<std::string> resolve_all(const std::string& name) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::vector<std::string> out;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0)
    return out;
  for (auto* p = res; p; p = p->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* addr = p->ai_family == AF_INET
      ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr)
      : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr);
    if (inet_ntop(p->ai_family, addr, buf, sizeof(buf)) && std::find(out.begin(), out.end(), buf) == out.end())
      out.emplace_back(buf);
  }
  freeaddrinfo(res);
  return out;
}

endpoint parse_endpoint(const std::string& text, std::uint16_t default_port) {
  std::string host = text;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos)
      return {};
    host = text.substr(1, close - 1);
    if (close + 1 == text.size())
      return {host, default_port};
    if (text[close + 1] != ':')
      return {};
    port = text.substr(close + 2);
  } else if (auto colon = text.rfind(':'); colon != std::string::npos && text.find(':') == colon) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  } else {
    return {host, default_port};
  }
  // Digits only: stoul alone would take "9x" as 9 and "-1..." as a wrapped number.
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return {};
  auto p = std::stoul(port);
  if (p == 0 || p > 65535)
    return {};
  return {host, static_cast<std::uint16_t>(p)};
}

caf::behavior discovery(caf::stateful_actor<discovery_state>* self, discovery_config cfg,
                        std::shared_ptr<node_stats> stats) {
  self->state.cfg = std::move(cfg);
  self->state.stats = std::move(stats);
  // Reachable by registered name from any peer: drop what is not ours quietly.
  drop_strays(self);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (!genuine(self, dm))
      return;
    auto& st = self->state;
    for (auto it = st.portals.begin(); it != st.portals.end(); ++it) {
      if (it->second.address() == dm.source) {
        spdlog::info("discovery: lost {}, will reconnect when it answers", it->first);
        st.deferred.erase(it->first);
        st.scopes.erase(it->first);
        st.portals.erase(it);
        return;
      }
    }
  });
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      if (self->current_sender() != caf::actor_cast<caf::strong_actor_ptr>(self))
        return; // only our own timer drives the rounds
      round(self);
      self->delayed_send(self, self->state.cfg.interval, tick_atom::value);
    },
  };
}

} // namespace chat::cluster
