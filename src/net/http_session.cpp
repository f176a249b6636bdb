#include "net/http_session.hpp"

#include <array>
#include <chrono>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>

#include "chat/clock.hpp"
#include "net/health_probe.hpp"
#include "net/origin_check.hpp"
#include "net/routes.hpp"
#include "net/upgrade.hpp"
#include "net/websocket_session.hpp"

namespace chat::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t max_body = 64 * 1024;
constexpr std::size_t max_header = 16 * 1024; ///< request line and headers together
constexpr std::size_t max_target = 8 * 1024;
constexpr auto health_timeout = std::chrono::seconds(2);
// The probe's own timeout, plus this, answers /healthz even when no CAF
// thread is free to run the probe's timeout.
constexpr auto health_backstop = std::chrono::milliseconds(500);
// For a whole request (headers and body) to arrive.
constexpr auto request_read_timeout = std::chrono::seconds(30);
// How long a closing connection's unread input is read and dropped: closing
// with unread bytes sends a reset, which can destroy our answer in flight.
constexpr auto linger_timeout = std::chrono::seconds(2);

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == beast::http::make_error_code(http::error::end_of_stream).category();
}

} // namespace

http_session::http_session(asio::ip::tcp::socket socket, server_context& ctx, port_role role)
  : stream_(std::move(socket)), ctx_(ctx), role_(role) {}

void http_session::run() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void http_session::do_read() {
  parser_.emplace();
  parser_->body_limit(max_body);
  parser_->header_limit(max_header);
  stream_.expires_after(request_read_timeout);
  // Read with parser_ itself: async_read on parser_->get() would use a parser
  // of its own with Beast's default 1 MiB body limit.
  http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](auto ec, auto n) { self->on_read(ec, n); });
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::body_limit) {
    auto res = json_error(parser_->get(), http::status::payload_too_large, "too_large", "request body over 64 KiB");
    res.keep_alive(false);
    write(std::move(res));
    return;
  }
  if (ec) {
    refuse_unreadable(ec);
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
  if (req.target().size() > max_target) {
    request none{http::verb::get, "/", req.version()};
    auto res = json_error(none, http::status::uri_too_long, "bad_request",
                          "request target longer than " + std::to_string(max_target) + " bytes");
    res.keep_alive(false);
    write(std::move(res));
    return;
  }
  if (role_ == port_role::public_port && beast::websocket::is_upgrade(req) && target_path(req.target()) == "/ws") {
    upgrade(std::move(req));
    return;
  }
  bool head = req.method() == http::verb::head;
  if ((req.method() == http::verb::get || head) && target_path(req.target()) == "/healthz") {
    health(std::move(req));
    return;
  }
  write(handle_request(ctx_, req, role_), head);
}

// A request we could not parse still gets a status, so that a client (or a
// proxy in front) can tell a refusal from a crash.
void http_session::refuse_unreadable(beast::error_code ec) {
  // The peer left, went quiet or broke the connection: nobody to answer.
  if (!is_http_error(ec) || ec == http::error::end_of_stream || ec == http::error::partial_message) {
    beast::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return;
  }
  request none{http::verb::get, "/", 11};
  none.keep_alive(false);
  http::status status = http::status::bad_request;
  std::string code = "bad_request", message = "malformed HTTP request: " + ec.message();
  if (ec == http::error::header_limit) {
    // Beast only knows the header as a whole did not fit: if the request
    // line alone did not, it is the URL that is too long.
    auto data = buffer_.data();
    std::string_view seen(static_cast<const char*>(data.data()), data.size());
    auto eol = seen.find("\r\n");
    if (eol == std::string_view::npos || eol > max_target) {
      status = http::status::uri_too_long;
      message = "request target longer than " + std::to_string(max_target) + " bytes";
    } else {
      status = http::status::request_header_fields_too_large;
      message = "request headers larger than " + std::to_string(max_header) + " bytes";
    }
  } else if (ec == http::error::body_limit) {
    status = http::status::payload_too_large;
    code = "too_large";
    message = "request body larger than " + std::to_string(max_body) + " bytes";
  }
  write(json_error(none, status, code, message));
}

void http_session::upgrade(request req) {
  auto deny = [&](http::status status, const std::string& code, const std::string& message) {
    ctx_.stats->metrics.upgrade_refused(code);
    auto res = json_error(req, status, code, message);
    res.keep_alive(false);
    write(std::move(res));
  };
  // First: a page of another site learns nothing else about this node.
  std::optional<std::string_view> origin;
  if (auto it = req.find(http::field::origin); it != req.end())
    origin = it->value();
  if (!origin_allowed(origin, req[http::field::host], ctx_.cfg.allowed_origins)) {
    deny(http::status::forbidden, "forbidden", "origin '" + std::string(*origin) + "' may not open /ws on this node");
    return;
  }
  upgrade_rules rules{ctx_.cfg.max_rooms, ctx_.cfg.auth_secret};
  auto checked = check_upgrade(req.target(), rules, wall_micros() / 1000000);
  if (auto* no = std::get_if<upgrade_refusal>(&checked)) {
    deny(static_cast<http::status>(no->status), no->code, no->message);
    return;
  }
  if (ctx_.stats->draining) {
    deny(http::status::service_unavailable, "draining", "node is draining, use another");
    return;
  }
  // Reserved before anything is upgraded, released when the session is
  // gone: a burst of handshakes cannot overshoot the cap.
  auto max = static_cast<std::int64_t>(ctx_.cfg.max_connections);
  if (++ctx_.ws_sessions > max) {
    --ctx_.ws_sessions;
    deny(http::status::service_unavailable, "overloaded", "node has its maximum of connections, use another");
    return;
  }
  stream_.expires_never();
  std::shared_ptr<websocket_session> ws(
    new websocket_session(stream_.release_socket(), std::move(buffer_), ctx_, std::get<upgrade_ok>(std::move(checked))),
    [ctx = &ctx_](websocket_session* s) {
      delete s;
      --ctx->ws_sessions;
    });
  ws->run(std::move(req));
}

// /healthz is 200 only after a round trip through the chat server. The answer
// comes back on this session's lane from the probe or from a timer that
// answers even when no CAF thread is free to run the probe's own timeout.
void http_session::health(request req) {
  bool head = req.method() == http::verb::head;
  auto answered = std::make_shared<bool>(false);
  auto finish = [self = shared_from_this(), req = std::make_shared<request>(std::move(req)), answered,
                 head](std::string error) {
    if (*answered)
      return;
    *answered = true;
    self->health_timer_->cancel();
    self->write(health_response(self->ctx_, *req, error), head);
  };
  health_timer_.emplace(stream_.get_executor());
  health_timer_->expires_after(health_timeout + health_backstop);
  health_timer_->async_wait([finish](beast::error_code ec) {
    if (!ec)
      finish("the chat server did not answer in time");
  });
  probe_health(ctx_.sys, health_timeout, [finish, ex = stream_.get_executor()](std::string error) {
    asio::post(ex, [finish, error = std::move(error)] { finish(error); });
  });
}

void http_session::write(response res, bool head) {
  auto keep = res.keep_alive();
  auto sp = std::make_shared<response>(std::move(res));
  auto done = [self = shared_from_this(), sp, keep](beast::error_code ec, std::size_t) {
    if (ec)
      return;
    if (!keep) {
      self->linger();
      return;
    }
    self->do_read();
  };
  if (head) {
    // The GET's headers, Content-Length included, and no body.
    auto sr = std::make_shared<http::response_serializer<http::string_body>>(*sp);
    http::async_write_header(stream_, *sr, [sr, done](beast::error_code ec, std::size_t n) { done(ec, n); });
  } else {
    http::async_write(stream_, *sp, std::move(done));
  }
}

void http_session::linger() {
  if (!lingering_) {
    lingering_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    stream_.expires_after(linger_timeout); // for the whole drain, however much comes
  }
  auto scratch = std::make_shared<std::array<char, 4096>>();
  stream_.async_read_some(asio::buffer(*scratch),
                          [self = shared_from_this(), scratch](beast::error_code ec, std::size_t) {
                            if (!ec)
                              self->linger();
                          });
}

} // namespace chat::net
