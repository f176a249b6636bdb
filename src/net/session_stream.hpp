#pragma once

// The TCP socket under a WebSocket session, and the one place every byte to
// and from it passes.
//
// Reading: the bytes the HTTP reader took past the upgrade request come
// first. A client may send its first frame in the same packet as the upgrade;
// websocket::stream's accept from a parsed request cannot be given those
// bytes, so they are read from here before anything else comes from the
// socket.
//
// Writing: a session's text frames go straight to the socket with one
// non-blocking system call when nothing else is being written (write_now),
// not through Beast's write operation: no asynchronous operation, no handler
// allocated, no trip through the reactor for the common case of a socket
// with room. A frame the socket takes only in part is finished
// asynchronously (write_rest), and Beast's own writes — its pongs, pings and
// the close — wait here until it is, so frames never interleave on the wire.
//
// A plain socket, not beast::tcp_stream: the WebSocket stream keeps its own
// timer for the handshake, idle pings and the close, and tcp_stream's state
// (its timers, about half a KiB) would be paid by every idle connection for
// timeouts that are never set.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "protocol/frames.hpp"

namespace chat::net {

/// The header of one unfragmented, unmasked WebSocket text frame (what a
/// server sends): 2, 4 or 10 bytes.
struct text_frame_header {
  std::array<unsigned char, 10> bytes{};
  std::size_t size = 0;
};
text_frame_header text_header(std::size_t payload_size);

/// A class of our own (not an alias) so that the teardown overloads below
/// are found by argument-dependent lookup from websocket::stream.
class session_stream
  : public boost::beast::buffered_read_stream<boost::asio::ip::tcp::socket, boost::beast::flat_buffer> {
public:
  using buffered_read_stream::buffered_read_stream;

  /// True while nothing is being written: no write of Beast's is
  /// outstanding and no frame of ours is partly written.
  bool idle() const { return writes_ == 0 && !rest_; }

  /// One whole text frame written to the socket in one non-blocking system
  /// call; only when idle(). Returns the bytes the socket took: all of them,
  /// some (write_rest must send the others before anything else is
  /// written), or none (it would block, or `ec` says why).
  std::size_t write_now(const text_frame_header& head, const protocol::frame_ptr& frame, boost::beast::error_code& ec);

  /// What write_now did not send of that frame, written asynchronously;
  /// `done(ec)` runs on completion. Beast's writes wait for it.
  template <class Handler>
  void write_rest(const text_frame_header& head, protocol::frame_ptr frame, std::size_t sent, Handler done) {
    rest_ = std::make_unique<rest>();
    rest_->head = head;
    rest_->frame = std::move(frame);
    auto bufs = rest_->buffers(sent);
    boost::asio::async_write(next_layer(), bufs,
                             [this, done = std::move(done)](boost::beast::error_code ec, std::size_t) mutable {
                               // Beast's writes that waited go first, in the
                               // order they came: the session's next frame
                               // (if any) then queues behind them.
                               auto finished = std::move(rest_);
                               for (auto& w : finished->waiting)
                                 w->start(*this);
                               done(ec);
                             });
  }

  /// Beast writes through this (websocket::stream calls it on its next
  /// layer): counted, so that write_now knows, and held back while a frame
  /// of ours is partly written.
  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return boost::asio::async_initiate<WriteHandler, void(boost::beast::error_code, std::size_t)>(
      [this](auto h, const ConstBufferSequence& b) {
        if (rest_)
          rest_->waiting.push_back(std::make_unique<held_write<ConstBufferSequence, decltype(h)>>(b, std::move(h)));
        else
          start_write(b, std::move(h));
      },
      handler, buffers);
  }

  /// Drops Beast's writes still waiting (they hold the session): for a
  /// session abandoned after its I/O thread stopped.
  void drop_waiting() {
    if (rest_)
      rest_->waiting.clear();
  }

private:
  struct waiting_write {
    virtual ~waiting_write() = default;
    virtual void start(session_stream& s) = 0;
  };

  template <class Buffers, class Handler>
  struct held_write final : waiting_write {
    held_write(const Buffers& b, Handler h) : buffers(b), handler(std::move(h)) {}
    void start(session_stream& s) override { s.start_write(buffers, std::move(handler)); }
    Buffers buffers;
    Handler handler;
  };

  /// A frame of ours partly written; made only then.
  struct rest {
    text_frame_header head;
    protocol::frame_ptr frame;
    std::vector<std::unique_ptr<waiting_write>> waiting;
    std::array<boost::asio::const_buffer, 2> buffers(std::size_t sent) const;
  };

  template <class Buffers, class Handler>
  void start_write(const Buffers& b, Handler h) {
    ++writes_;
    auto ex = boost::asio::get_associated_executor(h, get_executor());
    next_layer().async_write_some(
      b, boost::asio::bind_executor(ex, [this, h = std::move(h)](boost::beast::error_code ec, std::size_t n) mutable {
        --writes_;
        std::move(h)(ec, n);
      }));
  }

  std::uint32_t writes_ = 0; ///< Beast's writes outstanding on the socket
  std::unique_ptr<rest> rest_;
};

inline void teardown(boost::beast::role_type role, session_stream& s, boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, session_stream& s, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

} // namespace chat::net
