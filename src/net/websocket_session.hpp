#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <caf/actor.hpp>

#include "chat/frame_sink.hpp"
#include "chat/messages.hpp"
#include "net/frame_queue.hpp"
#include "net/io_lanes.hpp"
#include "net/server_context.hpp"
#include "net/session_stream.hpp"
#include "net/upgrade.hpp"

namespace chat::net {

/// Inbound text frames handed to the connection actor and not yet done; at
/// this many the session stops reading the socket, so a client that sends
/// faster than its actor works is held back by TCP, not by our memory.
constexpr std::size_t max_frames_in_flight = 8;

/// One WebSocket connection. It owns the socket and the outgoing queue (one
/// write in flight, bounded in bytes per connection and node-wide) and talks
/// to its connection actor: inbound frames go to the actor as messages (at
/// most max_frames_in_flight at a time), the actor's frames come back
/// through frame_sink, in batches through its I/O thread's frame_outbox.
class websocket_session : public frame_sink,
                          public outbox_target,
                          public std::enable_shared_from_this<websocket_session> {
public:
  /// `leftover`: bytes the HTTP reader received after the upgrade request
  /// (the client's first frames), read before the socket.
  websocket_session(boost::asio::ip::tcp::socket socket, boost::beast::flat_buffer leftover, server_context& ctx,
                    upgrade_ok who);
  ~websocket_session() override;

  void run(boost::beast::http::request<boost::beast::http::string_body> req);

  // frame_sink: thread-safe.
  void send(protocol::frame_ptr frame) override;
  void close(std::uint16_t code, std::string reason) override;
  void frame_done() override;
  /// From the outbox, on this session's I/O thread: a frame, a close.
  void deliver(protocol::frame_ptr frame) override;
  void end(std::uint16_t code, std::string reason) override;

  /// After the I/O threads stopped: drops the self-reference a paused read
  /// loop keeps, so the session can be destroyed. Not thread-safe.
  void abandon() {
    paused_.reset();
    ws_.next_layer().drop_waiting();
  }

  const std::string& id() const { return id_; }
  const connection_actor& actor() const { return actor_; }

private:
  void on_accept(boost::beast::error_code ec);
  void arm_expiry();
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t n);
  void on_frame_done();
  void push(protocol::frame_ptr frame);
  /// `frame` straight to the socket when nothing is queued or being
  /// written (session_stream::write_now); false when it must be queued.
  bool write_now(const protocol::frame_ptr& frame);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t n);
  void begin_close(std::uint16_t code, std::string reason, protocol::frame_ptr last = nullptr);
  void do_close();
  void close_slow_consumer(const char* why);
  void closing_because(chat::close_reason why);
  void count_queued(std::int64_t delta);

  boost::beast::websocket::stream<session_stream> ws_;
  boost::beast::flat_buffer buffer_;
  /// What only a closing session needs, made when it begins to close: most
  /// connections are idle most of their life, and these cost about 250
  /// bytes each.
  struct closing_state {
    explicit closing_state(const boost::asio::any_io_executor& ex) : deadline(ex) {}
    boost::asio::steady_timer deadline; ///< for the peer's answer to our close frame
    boost::beast::websocket::close_reason reason;
  };
  /// The token's exp, when the node checks tokens and the token has one.
  std::unique_ptr<boost::asio::steady_timer> expiry_;
  server_context& ctx_;
  frame_outbox& outbox_;
  lane_unit* actors_; ///< runs the connection actor here when a frame wakes it (io_lanes with actors)
  std::string user_;
  std::optional<std::int64_t> expires_at_s_; ///< the token's exp, when a token was checked
  /// The upgrade's rooms and the token's allowed rooms, handed to the
  /// connection actor when it starts.
  std::unique_ptr<upgrade_ok> start_;
  std::string id_;
  connection_actor actor_;

  /// Text frames sent to the actor, not yet done. Atomic so that the actor's
  /// frame_done wakes this I/O thread only when it must resume a paused
  /// read: a post per inbound frame was one more wake-up per message.
  std::atomic<std::uint32_t> in_flight_{0};
  /// Set while reading is paused: no read handler holds the session then, and
  /// it must outlive the pause. Released when reading resumes or the
  /// session closes.
  std::shared_ptr<websocket_session> paused_;

  frame_queue queue_;
  std::size_t queued_bytes_ = 0; ///< also counted in node_stats::queued_bytes
  bool writing_ = false;
  bool closing_ = false; ///< no more frames are queued
  bool close_sent_ = false;
  std::unique_ptr<closing_state> closing_state_;
  /// Why it ends, the first cause seen (chat_connections_closed_total).
  std::optional<chat::close_reason> why_closed_;
};

} // namespace chat::net
