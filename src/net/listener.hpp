#pragma once

#include <memory>

#include <boost/asio.hpp>

#include "net/accept_backoff.hpp"
#include "net/server_context.hpp"

namespace chat::net {

/// Accepts TCP connections and hands each to an http_session on its own strand.
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint endpoint, server_context& ctx);
  void run();
  void stop();

private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  void on_accept_error(const boost::system::error_code& ec);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  server_context& ctx_;
  accept_backoff backoff_;
};

} // namespace chat::net
