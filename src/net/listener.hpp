#pragma once

#include <memory>

#include <boost/asio.hpp>

#include "net/accept_backoff.hpp"
#include "net/io_lanes.hpp"
#include "net/server_context.hpp"

namespace chat::net {

/// Accepts TCP connections on the main lane and hands each to an http_session
/// on the next lane, round robin.
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(io_lanes& lanes, boost::asio::ip::tcp::endpoint endpoint, server_context& ctx,
           port_role role = port_role::public_port);
  void run();
  void stop();

private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  void on_accept_error(const boost::system::error_code& ec);

  io_lanes& lanes_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  server_context& ctx_;
  port_role role_;
  accept_backoff backoff_;
};

} // namespace chat::net
