#include "cluster/peer_cut.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <spdlog/spdlog.h>

namespace chat::cluster {

namespace {

std::optional<std::pair<std::string, std::uint16_t>> format(const sockaddr_storage& sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    return std::make_pair(std::string{buf}, ntohs(in->sin_port));
  }
  if (sa.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
    return std::make_pair(std::string{buf}, ntohs(in6->sin6_port));
  }
  return std::nullopt;
}

std::optional<std::uint16_t> local_port(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return std::nullopt;
  auto end = format(sa);
  return end ? std::optional<std::uint16_t>{end->second} : std::nullopt;
}

} // namespace

std::optional<std::pair<std::string, std::uint16_t>> remote_end(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (fd < 0 || getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return std::nullopt;
  return format(sa);
}

std::size_t shut_down_sockets_to(const std::string& host, std::uint16_t port, std::uint16_t except_local_port) {
  std::size_t done = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir)
    return 0;
  while (auto* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir))
      continue;
    auto other = remote_end(static_cast<int>(fd));
    if (!other || other->first != host || other->second != port)
      continue;
    if (local_port(static_cast<int>(fd)) == except_local_port)
      continue;
    if (::shutdown(static_cast<int>(fd), SHUT_RDWR) == 0)
      ++done;
  }
  closedir(dir);
  return done;
}

void drop_peer(caf::actor_system& sys, const caf::node_id& node, std::uint16_t except_local_port) {
  auto mm = sys.middleman().actor_handle();
  sys.spawn<caf::detached>([=](caf::blocking_actor* self) {
    self->request(mm, std::chrono::seconds(2), caf::get_atom::value, node)
      .receive(
        [&](const caf::node_id&, const std::string& host, std::uint16_t port) {
          if (port == 0) {
            spdlog::debug("peer {}: no direct connection left to drop", to_string(node));
            return;
          }
          auto n = shut_down_sockets_to(host, port, except_local_port);
          if (n == 0)
            spdlog::warn("peer {} at {}:{}: its socket was not found, not dropped", to_string(node), host, port);
          else
            spdlog::warn("peer {} at {}:{}: connection dropped", to_string(node), host, port);
        },
        [&](const caf::error& e) {
          spdlog::warn("peer {}: cannot drop, the middleman did not answer: {}", to_string(node), to_string(e));
        });
  });
}

} // namespace chat::cluster
