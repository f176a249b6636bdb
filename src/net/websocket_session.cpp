#include "net/websocket_session.hpp"

#include <spdlog/spdlog.h>

#include "chat/clock.hpp"
#include "chat/connection.hpp"
#include "chat/messages.hpp"
#include "net/queue_admission.hpp"

namespace chat::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

// A reader that will not take the close frame within this time loses the
// socket without one.
constexpr auto close_timeout = std::chrono::seconds(5);

// The first read of a message takes at most this many bytes. Beast sets
// aside in our buffer all it may take before a byte arrives, so this is what
// an idle connection holds for reading (1536 bytes, a TCP frame, when
// unbounded). Small frames (ping, typing, read) fit; longer ones take more
// reads, from bytes Beast has already received.
constexpr std::size_t first_read_bytes = 128;

// Token expiries further away than this are not timed (a timer that far out
// would overflow the clock's range, and the token is as good as unlimited).
constexpr std::int64_t max_timed_expiry_s = std::int64_t{10} * 365 * 24 * 3600;

constexpr auto policy_error = static_cast<std::uint16_t>(websocket::close_code::policy_error);

/// For the upgrade's answer to be written: the request has been read.
constexpr auto handshake_timeout = std::chrono::seconds(10);

/// The I/O lane a socket runs on.
template <class Stream>
asio::io_context& lane_context(Stream& s) {
  return static_cast<asio::io_context&>(asio::query(s.get_executor(), asio::execution::context));
}

} // namespace

websocket_session::websocket_session(asio::ip::tcp::socket socket, beast::flat_buffer leftover, server_context& ctx,
                                     upgrade_ok who)
  : ws_(std::move(socket)),
    ctx_(ctx),
    outbox_(ctx.lanes->outbox_of(lane_context(ws_))),
    actors_(ctx.lanes->actors_of(lane_context(ws_))),
    user_(who.user),
    expires_at_s_(who.expires_at_s),
    start_(std::make_unique<upgrade_ok>(std::move(who))),
    id_(ctx.cfg.node_name + "-" + std::to_string(++ctx.next_session)) {
  ws_.next_layer().buffer() = std::move(leftover);
  // Only the leftover bytes are kept, not the room the HTTP reader grew.
  ws_.next_layer().buffer().shrink_to_fit();
  // For write_now: a full send buffer answers at once rather than blocking
  // the I/O thread. Asio's asynchronous operations work the same either way.
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).non_blocking(true, ignored);
}

websocket_session::~websocket_session() {
  if (actor_) {
    caf::anon_send(actor_, closed_atom::value, local_proof{});
    --ctx_.stats->connections;
    ctx_.stats->metrics.connection_closed(why_closed_.value_or(close_reason::network));
  }
  count_queued(-static_cast<std::int64_t>(queued_bytes_));
  ctx_.sessions.remove(id_);
}

void websocket_session::run(beast::http::request<beast::http::string_body> req) {
  auto idle = std::chrono::milliseconds(ctx_.cfg.idle_ping_ms);
  websocket::stream_base::timeout t;
  t.handshake_timeout = handshake_timeout;
  // Beast pings after half the idle time and drops the peer if nothing at all
  // came back by the full idle time.
  t.idle_timeout = idle * 2;
  t.keep_alive_pings = true;
  ws_.set_option(t);
  ws_.read_message_max(ctx_.cfg.max_frame_bytes);
  ws_.set_option(websocket::stream_base::decorator(
    [](websocket::response_type& res) { res.set(beast::http::field::server, "chatd"); }));
  ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
}

void websocket_session::on_accept(beast::error_code ec) {
  if (ec)
    return;
  const auto& cfg = ctx_.cfg;
  connection_config cc;
  cc.node = cfg.node_name;
  cc.session = id_;
  cc.user = user_;
  // The actor keeps the rooms; the session needs only the user and the expiry.
  cc.rooms = std::move(start_->rooms);
  if (start_->allowed_rooms)
    cc.allowed_rooms = std::make_shared<const std::set<std::string>>(std::move(*start_->allowed_rooms));
  start_.reset();
  cc.limits = {cfg.max_frame_bytes, cfg.max_text_chars, cfg.max_rooms, cfg.rate_per_s, cfg.burst, cfg.max_queue_bytes};
  cc.seen_per_room = std::max<std::size_t>(200, cfg.history * 4);
  actor_ = ctx_.sys.spawn(connection, std::move(cc), std::weak_ptr<frame_sink>(shared_from_this()), ctx_.stats);
  ++ctx_.stats->connections;
  ctx_.stats->metrics.connections_opened.Increment();
  ctx_.sessions.add(id_, shared_from_this());
  // A connection actor that dies (a bug, or the debug hook) takes only its
  // own connection with it.
  std::weak_ptr<websocket_session> weak = shared_from_this();
  actor_->attach_functor([weak](const caf::error& reason) {
    if (reason)
      if (auto s = weak.lock())
        s->close(static_cast<std::uint16_t>(websocket::close_code::internal_error), "internal error");
  });
  arm_expiry();
  do_read();
}

void websocket_session::arm_expiry() {
  if (!expires_at_s_)
    return;
  auto now_us = wall_micros();
  if (*expires_at_s_ - now_us / 1000000 > max_timed_expiry_s)
    return;
  expiry_ = std::make_unique<asio::steady_timer>(ws_.get_executor());
  expiry_->expires_after(std::chrono::microseconds(*expires_at_s_ * 1000000 - now_us));
  // Weak: a closed session must not wait for its token's expiry to be freed.
  expiry_->async_wait([weak = std::weak_ptr<websocket_session>(shared_from_this())](beast::error_code ec) {
    auto self = weak.lock();
    if (ec || !self)
      return;
    spdlog::info("ws: session={} user={} closed: token expired", self->id_, self->user_);
    self->closing_because(close_reason::token_expired);
    self->begin_close(policy_error, "token expired",
                      std::make_shared<const std::string>(
                        protocol::notice_frame("token_expired", "your token has expired; reconnect with a fresh one")));
  });
}

void websocket_session::do_read() {
  // Within a message Beast chooses how much (limit 0).
  auto limit = buffer_.size() == 0 ? first_read_bytes : 0;
  ws_.async_read_some(buffer_, limit,
                      [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
}

void websocket_session::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    // Closed, timed out, too big (Beast has already sent 1009) or broken:
    // the session ends and the destructor tells the actor.
    if (ec == websocket::error::closed)
      closing_because(close_reason::client);
    else if (ec == beast::error::timeout)
      closing_because(close_reason::idle_timeout);
    else if (ec == websocket::error::message_too_big)
      closing_because(close_reason::too_big);
    else
      closing_because(close_reason::network);
    if (closing_state_)
      closing_state_->deadline.cancel();
    if (expiry_)
      expiry_->cancel();
    return;
  }
  if (auto& early = ws_.next_layer().buffer(); early.size() == 0 && early.capacity() != 0)
    early.shrink_to_fit();
  if (!ws_.is_message_done()) {
    do_read();
    return;
  }
  if (closing_) {
    // Our close frame is out: what the peer sends until its answer is
    // dropped, not handed to an actor that is about to stop.
  } else if (ws_.got_text()) {
    ++in_flight_;
    auto msg = caf::make_message(
      frame_atom::value,
      protocol::frame_ptr{std::make_shared<const std::string>(beast::buffers_to_string(buffer_.data()))},
      local_proof{});
    // Parsed on this thread, by the actor, when the frame wakes it: no
    // scheduler thread is woken per message a client sends.
    actors_->tell(*caf::actor_cast<caf::abstract_actor*>(actor_), std::move(msg));
  } else {
    // Answered here rather than by the actor: a flood of tiny binary frames
    // then costs the queue bound, not an unbounded mailbox.
    ++ctx_.stats->bad_frames;
    deliver(std::make_shared<const std::string>(protocol::error_frame(
      protocol::error_code::bad_request, "binary frames are not supported; send JSON text", nullptr)));
  }
  buffer_.consume(buffer_.size());
  if (buffer_.capacity() > first_read_bytes)
    buffer_.shrink_to_fit();
  if (in_flight_.load() >= max_frames_in_flight && !closing_) {
    // No read until the actor catches up: the client's further frames wait
    // in its own socket buffers, and TCP slows it down.
    paused_ = shared_from_this();
    return;
  }
  do_read();
}

void websocket_session::send(protocol::frame_ptr frame) { outbox_.push(shared_from_this(), std::move(frame)); }

void websocket_session::close(std::uint16_t code, std::string reason) {
  outbox_.push_close(shared_from_this(), code, std::move(reason));
}

void websocket_session::end(std::uint16_t code, std::string reason) {
  switch (static_cast<websocket::close_code>(code)) {
  case websocket::close_code::going_away: closing_because(close_reason::shutdown); break;
  case websocket::close_code::internal_error: closing_because(close_reason::internal_error); break;
  default: closing_because(close_reason::policy);
  }
  begin_close(code, std::move(reason));
}

void websocket_session::frame_done() {
  // Only the step down from the bound can find reading paused: on_read
  // pauses when it sees the bound, and only the I/O thread counts up.
  if (in_flight_.fetch_sub(1) == max_frames_in_flight)
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->on_frame_done(); });
}

void websocket_session::on_frame_done() {
  if (paused_ && in_flight_.load() < max_frames_in_flight) {
    auto self = std::move(paused_); // do_read's handler holds the session from here
    do_read();
  }
}

void websocket_session::deliver(protocol::frame_ptr frame) {
  if (closing_)
    return;
  auto node_total = static_cast<std::size_t>(std::max<std::int64_t>(0, ctx_.stats->queued_bytes.load()));
  switch (admit(frame->size(), queued_bytes_, node_total, ctx_.cfg.max_queue_bytes, ctx_.cfg.max_node_queue_bytes)) {
  case admission::queue: break;
  case admission::over_own_bound: close_slow_consumer("its queue is full"); return;
  case admission::behind_on_full_node: close_slow_consumer("the node's queues are full"); return;
  }
  if (!writing_ && write_now(frame))
    return;
  push(std::move(frame));
  if (!writing_)
    do_write();
}

bool websocket_session::write_now(const protocol::frame_ptr& frame) {
  // Not while Beast writes (a pong, a ping) or the stream is closing: its
  // frames and ours must not interleave, and nothing follows a close frame.
  auto& stream = ws_.next_layer();
  if (!ws_.is_open() || !stream.idle())
    return false;
  auto head = text_header(frame->size());
  beast::error_code ec;
  auto n = stream.write_now(head, frame, ec);
  if (n == head.size + frame->size()) {
    ++ctx_.stats->frames_out;
    return true;
  }
  if (n == 0)
    return false; // the socket is full or failed: the queue's way, Beast sees the same
  // In part: the rest goes asynchronously, as the frame in flight.
  push(frame);
  writing_ = true;
  stream.write_rest(head, frame, n, [self = shared_from_this()](beast::error_code e) { self->on_write(e, 0); });
  return true;
}

void websocket_session::push(protocol::frame_ptr frame) {
  queued_bytes_ += frame->size();
  count_queued(static_cast<std::int64_t>(frame->size()));
  queue_.push_back(std::move(frame));
}

void websocket_session::count_queued(std::int64_t delta) {
  if (delta != 0)
    ctx_.stats->queued_bytes += delta;
}

void websocket_session::closing_because(close_reason why) {
  if (!why_closed_)
    why_closed_ = why;
}

void websocket_session::close_slow_consumer(const char* why) {
  closing_because(close_reason::slow_consumer);
  ++ctx_.stats->drops_slow;
  spdlog::info("ws: session={} user={} closed as slow consumer: {} ({} bytes queued)", id_, user_, why, queued_bytes_);
  begin_close(policy_error, "slow consumer");
}

void websocket_session::do_write() {
  writing_ = true;
  ws_.text(true);
  ws_.async_write(asio::buffer(*queue_.front()),
                  [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_write(ec, n); });
}

void websocket_session::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec)
    return;
  ++ctx_.stats->frames_out;
  auto size = queue_.front()->size();
  queued_bytes_ -= size;
  count_queued(-static_cast<std::int64_t>(size));
  queue_.pop_front();
  if (!queue_.empty())
    do_write();
  else if (closing_)
    do_close();
}

void websocket_session::begin_close(std::uint16_t code, std::string reason, protocol::frame_ptr last) {
  if (closing_)
    return;
  closing_ = true;
  closing_state_ = std::make_unique<closing_state>(ws_.get_executor());
  closing_state_->reason = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
  // Drop what is not yet being written; the frame in flight must finish
  // before the close frame can go.
  while (queue_.size() > (writing_ ? 1u : 0u)) {
    queued_bytes_ -= queue_.back()->size();
    count_queued(-static_cast<std::int64_t>(queue_.back()->size()));
    queue_.pop_back();
  }
  if (last)
    push(std::move(last));
  // The close handshake reads the peer's frames itself; a paused read loop
  // stays paused.
  paused_.reset();
  if (expiry_)
    expiry_->cancel();
  closing_state_->deadline.expires_after(close_timeout);
  closing_state_->deadline.async_wait([self = shared_from_this()](beast::error_code ec) {
    beast::error_code ignored;
    if (!ec)
      beast::get_lowest_layer(self->ws_).close(ignored);
  });
  if (writing_)
    return;
  if (queue_.empty())
    do_close();
  else
    do_write();
}

void websocket_session::do_close() {
  if (close_sent_)
    return;
  close_sent_ = true;
  ws_.async_close(closing_state_->reason, [self = shared_from_this()](beast::error_code) {
    // The read loop, when it runs, sees the peer's answer too; when it is
    // paused nothing else waits, and the session ends here.
    self->closing_state_->deadline.cancel();
  });
}

} // namespace chat::net
