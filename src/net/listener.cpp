#include "net/listener.hpp"

#include <spdlog/spdlog.h>

#include "net/http_session.hpp"

namespace chat::net {

namespace asio = boost::asio;

listener::listener(asio::io_context& ioc, asio::ip::tcp::endpoint endpoint, server_context& ctx)
  : ioc_(ioc), acceptor_(asio::make_strand(ioc)), ctx_(ctx) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void listener::run() {
  do_accept();
}

void listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

void listener::do_accept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [self = shared_from_this()](auto ec, auto socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void listener::on_accept(boost::system::error_code ec, asio::ip::tcp::socket socket) {
  if (ec == asio::error::operation_aborted)
    return;
  if (ec) {
    spdlog::warn("http: accept failed: {}", ec.message());
  } else {
    socket.set_option(asio::ip::tcp::no_delay(true));
    std::make_shared<http_session>(std::move(socket), ctx_)->run();
  }
  do_accept();
}

} // namespace chat::net
