#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio.hpp>

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
  /// Out of descriptors (or memory), accept fails at once for as long as it
  /// lasts: we wait between tries, and say so at most once a second.
  std::chrono::milliseconds backoff_{0};
  std::uint64_t failures_ = 0; ///< since the last log line
  std::chrono::steady_clock::time_point last_log_{};
};

} // namespace chat::net
