#include "net/listener.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "net/http_session.hpp"

namespace chat::net {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds first_backoff{50};
constexpr std::chrono::milliseconds max_backoff{1000};
constexpr std::chrono::seconds log_every{1};

/// Errors that last until some resource frees up: trying again at once only spins.
bool resource_shortage(const boost::system::error_code& ec) {
  namespace errc = boost::system::errc;
  return ec == asio::error::no_descriptors || ec == errc::too_many_files_open_in_system
         || ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

} // namespace

listener::listener(asio::io_context& ioc, asio::ip::tcp::endpoint endpoint, server_context& ctx)
  : ioc_(ioc), acceptor_(asio::make_strand(ioc)), retry_(acceptor_.get_executor()), ctx_(ctx) {
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
    self->retry_.cancel();
  });
}

void listener::do_accept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [self = shared_from_this()](auto ec, auto socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void listener::on_accept(boost::system::error_code ec, asio::ip::tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open())
    return;
  if (ec) {
    on_accept_error(ec);
    return;
  }
  if (backoff_.count() > 0)
    spdlog::warn("http: accepting connections again");
  failures_ = 0;
  backoff_ = std::chrono::milliseconds{0};
  boost::system::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  std::make_shared<http_session>(std::move(socket), ctx_)->run();
  do_accept();
}

void listener::on_accept_error(const boost::system::error_code& ec) {
  ++failures_;
  auto now = std::chrono::steady_clock::now();
  bool shortage = resource_shortage(ec);
  if (shortage)
    backoff_ = backoff_.count() == 0 ? first_backoff : std::min(backoff_ * 2, max_backoff);
  if (now - last_log_ >= log_every) {
    last_log_ = now;
    spdlog::warn("http: accept failed: {} ({} time(s) since the last report){}", ec.message(), failures_,
                 shortage ? fmt::format(", next try in {} ms", backoff_.count()) : std::string{});
    failures_ = 0;
  }
  if (!shortage) {
    do_accept(); // one bad connection (reset before we took it): the next one may be fine
    return;
  }
  retry_.expires_after(backoff_);
  retry_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
    if (!wait_ec && self->acceptor_.is_open())
      self->do_accept();
  });
}

} // namespace chat::net
