#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>

#include "net/session_stream.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using chat::net::session_stream;
using chat::net::text_header;

namespace {

/// A real WebSocket connection over loopback: our server stream, a plain
/// Beast client (its own socket buffers set by the caller before connecting).
struct ws_pair {
  asio::io_context server_ioc{1};
  asio::io_context client_ioc{1};
  websocket::stream<session_stream> server{tcp::socket(server_ioc)};
  websocket::stream<tcp::socket> client{client_ioc};

  explicit ws_pair(int client_rcvbuf = 0, int server_sndbuf = 0) {
    tcp::acceptor acceptor(server_ioc, {asio::ip::make_address("127.0.0.1"), 0});
    auto accepted = std::async(std::launch::async, [&] {
      acceptor.accept(beast::get_lowest_layer(server));
      if (server_sndbuf > 0)
        beast::get_lowest_layer(server).set_option(asio::socket_base::send_buffer_size(server_sndbuf));
      server.accept();
      beast::get_lowest_layer(server).non_blocking(true);
    });
    auto& sock = client.next_layer();
    sock.open(tcp::v4());
    if (client_rcvbuf > 0)
      sock.set_option(asio::socket_base::receive_buffer_size(client_rcvbuf));
    sock.connect(acceptor.local_endpoint());
    client.handshake("127.0.0.1", "/");
    accepted.get();
  }

  /// `frame` written as the session writes it: at once, the rest later.
  /// Returns what write_now took.
  std::size_t send(const std::string& text) {
    auto frame = std::make_shared<const std::string>(text);
    auto head = text_header(frame->size());
    beast::error_code ec;
    auto n = server.next_layer().write_now(head, frame, ec);
    REQUIRE_FALSE(ec);
    if (n < head.size + frame->size())
      server.next_layer().write_rest(head, frame, n, [](beast::error_code e) { REQUIRE_FALSE(e); });
    return n;
  }

  /// The next `n` messages the client reads; fewer when the stream broke
  /// or 30 s passed (then the client's socket is shut down, so a frame
  /// stream that went wrong fails the test instead of hanging it).
  std::vector<std::string> read(std::size_t n) {
    std::vector<std::string> got;
    auto reader = std::async(std::launch::async, [&] {
      beast::error_code ec;
      while (got.size() < n) {
        beast::flat_buffer b;
        client.read(b, ec);
        if (ec || !client.got_text())
          return;
        got.push_back(beast::buffers_to_string(b.data()));
      }
    });
    if (reader.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ::shutdown(client.next_layer().native_handle(), SHUT_RDWR);
      server_ioc.stop();
    }
    reader.get();
    return got;
  }
};

} // namespace

TEST_CASE("session_stream: text frame headers in each length form") {
  auto h = text_header(0);
  CHECK(h.size == 2);
  CHECK(h.bytes[0] == 0x81);
  CHECK(h.bytes[1] == 0);
  CHECK(text_header(125).size == 2);
  CHECK(text_header(125).bytes[1] == 125);
  h = text_header(126);
  CHECK(h.size == 4);
  CHECK(h.bytes[1] == 126);
  CHECK(h.bytes[2] == 0);
  CHECK(h.bytes[3] == 126);
  h = text_header(65535);
  CHECK(h.size == 4);
  CHECK(h.bytes[2] == 0xff);
  CHECK(h.bytes[3] == 0xff);
  h = text_header(65536);
  CHECK(h.size == 10);
  CHECK(h.bytes[1] == 127);
  CHECK(h.bytes[7] == 1);
  CHECK(h.bytes[9] == 0);
}

TEST_CASE("session_stream: frames written straight to the socket read as WebSocket messages") {
  ws_pair p;
  std::vector<std::string> texts;
  for (std::size_t size : {0, 1, 125, 126, 127, 65535, 65536, 70001})
    texts.emplace_back(size, static_cast<char>('a' + size % 26));
  auto writer = std::async(std::launch::async, [&] {
    for (const auto& t : texts)
      asio::post(p.server_ioc, [&p, &t] { p.send(t); });
    p.server_ioc.run();
  });
  CHECK(p.read(texts.size()) == texts);
  writer.get();
}

TEST_CASE("session_stream: Beast's writes wait for a frame written in part") {
  // Small buffers on both sides: a 4 MiB frame cannot go at once.
  ws_pair p(4096, 4096);
  const std::string big(4 << 20, 'x');
  std::size_t first = 0;
  asio::post(p.server_ioc, [&] {
    first = p.send(big);
    // Beast's own writes while the rest is out: a ping, then a message.
    // Written now they would land inside the big frame.
    p.server.async_ping({}, [](beast::error_code ec) { REQUIRE_FALSE(ec); });
    p.server.text(true);
    p.server.async_write(asio::buffer(std::string_view("after")),
                         [](beast::error_code ec, std::size_t) { REQUIRE_FALSE(ec); });
  });
  auto server = std::async(std::launch::async, [&] { p.server_ioc.run(); });
  int pings = 0;
  p.client.control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping)
      ++pings;
  });
  auto got = p.read(2);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == big);
  CHECK(got[1] == "after");
  CHECK(pings == 1);
  server.get();
  CHECK(first > 0);
  CHECK(first < big.size());
  CHECK(p.server.next_layer().idle());
}
