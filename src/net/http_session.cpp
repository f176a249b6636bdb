#include "net/http_session.hpp"

#include <chrono>

#include <boost/asio/dispatch.hpp>
#include <boost/beast/websocket.hpp>

#include "chat/clock.hpp"
#include "net/routes.hpp"
#include "net/upgrade.hpp"
#include "net/websocket_session.hpp"

namespace chat::net {

namespace beast = boost::beast;
namespace http = beast::http;

http_session::http_session(boost::asio::ip::tcp::socket socket, server_context& ctx)
  : stream_(std::move(socket)), ctx_(ctx) {}

void http_session::run() {
  boost::asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void http_session::do_read() {
  parser_.emplace();
  parser_->body_limit(64 * 1024);
  stream_.expires_after(std::chrono::seconds(30));
  // Read with parser_ itself: async_read on parser_->get() would use a parser
  // of its own with Beast's default 1 MiB body limit.
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](auto ec, auto n) { self->on_read(ec, n); });
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::body_limit) {
    auto res = json_error(parser_->get(), http::status::payload_too_large, "too_large", "request body over 64 KiB");
    res.keep_alive(false);
    write(std::move(res));
    return;
  }
  if (ec) {
    // end_of_stream, timeout, or garbage: nothing to answer, the socket closes.
    if (ec != http::error::end_of_stream) {
      beast::error_code ignored;
      stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    }
    return;
  }
  // Beast reads a Transfer-Encoding that does not end in chunked as "no
  // body" and what follows as the next request; a proxy in front may frame
  // it otherwise (request smuggling). RFC 9112 6.3 asks for a 400.
  if (parser_->get().count(http::field::transfer_encoding) && !parser_->chunked()) {
    auto res = json_error(parser_->get(), http::status::bad_request, "bad_request", "unsupported Transfer-Encoding");
    res.keep_alive(false);
    write(std::move(res));
    return;
  }
  auto req = parser_->release();
  if (beast::websocket::is_upgrade(req) && target_path(req.target()) == "/ws") {
    upgrade(std::move(req));
    return;
  }
  write(handle_request(ctx_, req));
}

void http_session::upgrade(request req) {
  upgrade_rules rules{ctx_.cfg.max_rooms, ctx_.cfg.auth_secret};
  auto checked = check_upgrade(req.target(), rules, wall_micros() / 1000000);
  if (auto* no = std::get_if<upgrade_refusal>(&checked)) {
    auto res = json_error(req, static_cast<http::status>(no->status), no->code, no->message);
    res.keep_alive(false);
    write(std::move(res));
    return;
  }
  if (ctx_.stats->draining) {
    auto res = json_error(req, http::status::service_unavailable, "draining", "node is draining, use another");
    res.keep_alive(false);
    write(std::move(res));
    return;
  }
  stream_.expires_never();
  std::make_shared<websocket_session>(stream_.release_socket(), ctx_, std::get<upgrade_ok>(std::move(checked)))
    ->run(std::move(req));
}

void http_session::write(response res) {
  auto keep = res.keep_alive();
  auto sp = std::make_shared<response>(std::move(res));
  http::async_write(stream_, *sp, [self = shared_from_this(), sp, keep](beast::error_code ec, std::size_t) {
    if (ec || !keep) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
      return;
    }
    self->do_read();
  });
}

} // namespace chat::net
