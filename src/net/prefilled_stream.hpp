#pragma once

// The TCP socket under a WebSocket session, with the bytes the HTTP reader
// took past the upgrade request in front of it. A client may send its first
// frame in the same packet as the upgrade; websocket::stream's accept from a
// parsed request cannot be given those bytes, so they are read from here
// before anything else comes from the socket.
//
// A plain socket, not beast::tcp_stream: the WebSocket stream keeps its own
// timer for the handshake, idle pings and the close, and tcp_stream's state
// (its timers, about half a KiB) would be paid by every idle connection for
// timeouts that are never set.

#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace chat::net {

/// A class of our own (not an alias) so that the teardown overloads below
/// are found by argument-dependent lookup from websocket::stream.
class prefilled_stream
  : public boost::beast::buffered_read_stream<boost::asio::ip::tcp::socket, boost::beast::flat_buffer> {
public:
  using buffered_read_stream::buffered_read_stream;
};

inline void teardown(boost::beast::role_type role, prefilled_stream& s, boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, prefilled_stream& s, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

} // namespace chat::net
