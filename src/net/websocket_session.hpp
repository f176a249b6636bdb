#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <caf/actor.hpp>

#include "chat/frame_sink.hpp"
#include "net/server_context.hpp"
#include "net/upgrade.hpp"

namespace chat::net {

/// One WebSocket connection. It owns the socket and the outgoing queue (one
/// write in flight, bounded in bytes) and talks to its connection actor:
/// inbound frames go to the actor as messages, the actor's frames come back
/// through frame_sink, posted onto this session's strand.
class websocket_session : public frame_sink, public std::enable_shared_from_this<websocket_session> {
public:
  websocket_session(boost::asio::ip::tcp::socket socket, server_context& ctx, upgrade_ok who);
  ~websocket_session() override;

  void run(boost::beast::http::request<boost::beast::http::string_body> req);

  // frame_sink: thread-safe.
  void send(protocol::frame_ptr frame) override;
  void close(std::uint16_t code, std::string reason) override;
  void frame_done() override;

  const std::string& id() const { return id_; }
  const caf::actor& actor() const { return actor_; }

private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t n);
  void on_send(protocol::frame_ptr frame);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t n);
  void begin_close(std::uint16_t code, std::string reason);
  void do_close();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer close_deadline_;
  server_context& ctx_;
  upgrade_ok who_;
  std::string id_;
  caf::actor actor_;

  std::deque<protocol::frame_ptr> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false; ///< no more frames are queued
  bool close_sent_ = false;
  boost::beast::websocket::close_reason close_reason_;
};

} // namespace chat::net
