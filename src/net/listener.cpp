#include "net/listener.hpp"

#include <spdlog/spdlog.h>

#include "net/http_session.hpp"

namespace chat::net {

namespace asio = boost::asio;

namespace {

/// Errors that last until some resource frees up.
bool resource_shortage(const boost::system::error_code& ec) {
  namespace errc = boost::system::errc;
  return ec == asio::error::no_descriptors || ec == errc::too_many_files_open_in_system
    || ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

} // namespace

listener::listener(io_lanes& lanes, asio::ip::tcp::endpoint endpoint, server_context& ctx, port_role role)
  : lanes_(lanes), acceptor_(lanes.main()), retry_(acceptor_.get_executor()), ctx_(ctx), role_(role) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void listener::run() { do_accept(); }

void listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_.cancel();
  });
}

void listener::do_accept() {
  acceptor_.async_accept(lanes_.next(),
                         [self = shared_from_this()](auto ec, auto socket) { self->on_accept(ec, std::move(socket)); });
}

void listener::on_accept(boost::system::error_code ec, asio::ip::tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open())
    return;
  if (ec) {
    on_accept_error(ec);
    return;
  }
  if (backoff_.succeeded())
    spdlog::warn("http: accepting connections again");
  boost::system::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  std::make_shared<http_session>(std::move(socket), ctx_, role_)->run();
  do_accept();
}

void listener::on_accept_error(const boost::system::error_code& ec) {
  auto step = backoff_.failed(std::chrono::steady_clock::now(), resource_shortage(ec));
  if (step.log)
    spdlog::warn("http: accept failed: {} ({} time(s) since the last report){}", ec.message(), step.count,
                 step.wait.count() ? fmt::format(", next try in {} ms", step.wait.count()) : std::string{});
  if (step.wait.count() == 0) {
    do_accept(); // one bad connection (reset before we took it): the next one may be fine
    return;
  }
  retry_.expires_after(step.wait);
  retry_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
    if (!wait_ec && self->acceptor_.is_open())
      self->do_accept();
  });
}

} // namespace chat::net
