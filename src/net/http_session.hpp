#pragma once

#include <memory>
#include <optional>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/server_context.hpp"

namespace chat::net {

/// Serves plain HTTP on one connection and, on a valid upgrade to /ws, hands
/// the socket to a websocket_session.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(boost::asio::ip::tcp::socket socket, server_context& ctx, port_role role);
  void run();

private:
  using request = boost::beast::http::request<boost::beast::http::string_body>;
  using response = boost::beast::http::response<boost::beast::http::string_body>;

  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t);
  void refuse_unreadable(boost::beast::error_code ec);
  void upgrade(request req);
  void health(request req);
  void write(response res, bool head = false);
  void linger();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  server_context& ctx_;
  port_role role_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::optional<boost::asio::steady_timer> health_timer_;
  bool lingering_ = false;
};

} // namespace chat::net
