// cluster/peer_cut: finding one TCP connection of this process by its other
// end and shutting it down, on real loopback sockets.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/peer_cut.hpp"

using chat::cluster::remote_end;
using chat::cluster::shut_down_sockets_to;

namespace {

/// A listener, a client connected to it and the accepted end, closed on scope exit.
struct loopback_pair {
  int listener = -1;
  int client = -1;
  int accepted = -1;
  std::uint16_t port = 0;

  loopback_pair() {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(listen(listener, 4) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    client = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    accepted = accept(listener, nullptr, nullptr);
    REQUIRE(accepted >= 0);
  }
  ~loopback_pair() {
    for (int fd : {listener, client, accepted})
      if (fd >= 0)
        close(fd);
  }
};

/// True when `fd` reads end-of-stream (its peer or itself shut it down).
bool reads_eof(int fd) {
  char c = 0;
  return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

/// True when nothing has happened to `fd`: no data, no end-of-stream.
bool still_open(int fd) {
  char c = 0;
  return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

} // namespace

TEST_CASE("peer_cut: remote_end names the other end as CAF does, and nothing for a non-socket") {
  loopback_pair p;
  auto end = remote_end(p.client);
  REQUIRE(end);
  CHECK(end->first == "127.0.0.1");
  CHECK(end->second == p.port);
  CHECK_FALSE(remote_end(p.listener)); // listening, not connected
  CHECK_FALSE(remote_end(STDIN_FILENO + 1000));
}

TEST_CASE("peer_cut: shuts down exactly the socket whose other end is host:port") {
  loopback_pair p;
  loopback_pair other;
  auto client_end = remote_end(p.accepted); // the client's address and port, seen from the server side
  REQUIRE(client_end);
  CHECK(shut_down_sockets_to(client_end->first, client_end->second, 0) == 1);
  CHECK(reads_eof(p.accepted));
  // The client sees the server side close; the other pair is untouched.
  char c = 0;
  CHECK(recv(p.client, &c, 1, 0) == 0);
  CHECK(still_open(other.client));
  CHECK(still_open(other.accepted));
}

TEST_CASE("peer_cut: a socket on the excepted local port is left alone") {
  loopback_pair p;
  auto client_end = remote_end(p.accepted);
  REQUIRE(client_end);
  // p.accepted's own port is the listener's: the "client port" case.
  CHECK(shut_down_sockets_to(client_end->first, client_end->second, p.port) == 0);
  CHECK(still_open(p.accepted));
  CHECK(still_open(p.client));
}

TEST_CASE("peer_cut: nothing matches an address no socket has") {
  loopback_pair p;
  CHECK(shut_down_sockets_to("127.0.0.2", p.port, 0) == 0);
  CHECK(shut_down_sockets_to("127.0.0.1", 1, 0) == 0);
  CHECK(still_open(p.client));
}
