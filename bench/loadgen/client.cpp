#include "loadgen/client.hpp"

namespace loadgen {

void client::fail(const char* what, beast::error_code ec) {
  bool was_open = open;
  open = false;
  if (!settled) {
    settled = true;
    failed = true;
    ++w.failed;
    w.connected_one();
    if (w.failed <= 5)
      std::cerr << "chat_loadgen: client " << idx << " " << what << ": " << ec.message() << "\n";
  }
  if (was_open && !w.stopping) {
    if (ec == websocket::error::closed) {
      auto r = ws.reason();
      ++w.close_reasons[std::to_string(r.code) + " " + std::string(r.reason.c_str())];
    } else {
      ++w.close_reasons[ec.message()];
    }
    ++w.closed_by_server;
  }
}

void client::start() {
  auto self = shared_from_this();
  beast::error_code ec;
  auto& sock = ws.next_layer();
  sock.open(ep.protocol(), ec);
  if (!ec && src != asio::ip::make_address("127.0.0.1")) {
#ifdef IP_BIND_ADDRESS_NO_PORT
    // Pick the port at connect time, per 4-tuple: no ephemeral exhaustion.
    sock.set_option(asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>(true), ec);
#endif
    sock.bind(tcp::endpoint(src, 0), ec);
  }
  if (ec) {
    fail("socket", ec);
    return;
  }
  sock.async_connect(ep, [self](beast::error_code err) { self->on_connect(err); });
}

void client::on_connect(beast::error_code ec) {
  if (ec) {
    fail("connect", ec);
    return;
  }
  auto self = shared_from_this();
  ws.next_layer().set_option(tcp::no_delay(true));
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(60);
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  ws.set_option(t);
  ws.read_message_max(64 << 20);
  ws.auto_fragment(false);
  ws.text(true);
  std::string host = ep.address().to_string() + ":" + std::to_string(ep.port());
  std::string query = "user=u" + std::to_string(idx) + "&rooms=" + room;
  std::string target = w.o.socketio ? "/socket.io/?EIO=4&transport=websocket&" + query : "/ws?" + query;
  ws.async_handshake(host, target, [self](beast::error_code err) {
    if (err) {
      self->fail("handshake", err);
      return;
    }
    self->open = true;
    self->do_read();
  });
}

void client::do_read() {
  ws.async_read(buf, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) {
      self->fail("read", ec);
      return;
    }
    auto d = self->buf.cdata();
    std::string_view f(static_cast<const char*>(d.data()), d.size());
    if (self->w.o.socketio)
      self->on_socketio_packet(f);
    else
      self->on_frame(f);
    self->buf.consume(self->buf.size());
    self->do_read();
  });
}

/// The value of "key":"...", a string with no escapes in it (types, codes,
/// client ids), or empty.
std::string_view plain_string(std::string_view f, std::string_view key_pattern) {
  auto p = f.find(key_pattern);
  if (p == std::string_view::npos)
    return {};
  p += key_pattern.size();
  auto e = f.find('"', p);
  if (e == std::string_view::npos)
    return {};
  return f.substr(p, e - p);
}

bool parse_int_after(std::string_view s, std::string_view key, std::size_t& pos, std::int64_t& out) {
  auto p = s.find(key, pos);
  if (p == std::string_view::npos)
    return false;
  p += key.size();
  std::int64_t v = 0;
  std::size_t digits = 0;
  while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
    v = v * 10 + (s[p] - '0');
    ++p;
    ++digits;
  }
  if (!digits)
    return false;
  pos = p;
  out = v;
  return true;
}

/// s, q, t from a message frame: the text is JSON inside a JSON string, so its
/// quotes arrive escaped: "text":"{\"s\":3,\"q\":17,\"t\":123}".
bool parse_payload(std::string_view f, std::int64_t& s, std::int64_t& q, std::int64_t& t) {
  auto p = f.find("\"text\":\"");
  if (p != std::string_view::npos) {
    if (parse_int_after(f, "s\\\":", p, s) && parse_int_after(f, "q\\\":", p, q) && parse_int_after(f, "t\\\":", p, t))
      return true;
  }
  // Someone else's key order or escaping: the slow, sure way.
  try {
    auto j = json::parse(f);
    auto inner = json::parse(j.at("text").get<std::string>());
    s = inner.at("s").get<std::int64_t>();
    q = inner.at("q").get<std::int64_t>();
    t = inner.at("t").get<std::int64_t>();
    return true;
  } catch (const std::exception&) { return false; }
}

void client::on_frame(std::string_view f) {
  auto rx = now_ns();
  w.last_rx_ns.store(rx, std::memory_order_relaxed);
  w.frames_in.fetch_add(1, std::memory_order_relaxed);
  auto type = plain_string(f, "\"type\":\"");
  if (type == "message") {
    std::int64_t s = 0, q = 0, t = 0;
    if (!parse_payload(f, s, q, t) || q <= 0 || s < 0) {
      ++w.unparsed;
      return;
    }
    ++w.deliveries;
    pair_seen* ps = nullptr;
    for (auto& x : seen)
      if (x.sender == s)
        ps = &x;
    if (!ps) {
      seen.push_back(pair_seen{static_cast<int>(s), 0, {}});
      ps = &seen.back();
    }
    if (static_cast<std::size_t>(q) >= ps->got.size())
      ps->got.resize(static_cast<std::size_t>(q) * 2 + 16, 0);
    if (ps->got[q]) {
      ++w.dups;
      return;
    }
    ps->got[q] = 1;
    if (q < ps->max_q)
      ++w.reordered;
    ps->max_q = std::max(ps->max_q, q);
    w.unique.fetch_add(1, std::memory_order_relaxed);
    if (rx >= w.t_w0 && rx < w.t_w1)
      ++w.window_deliveries;
    if (t >= w.t_w0 && t < w.t_w1)
      w.lat_ns.push_back(rx - t);
  } else if (type == "ack") {
    auto cid = plain_string(f, "\"client_id\":\"");
    auto dash = cid.rfind('-');
    if (dash == std::string_view::npos) {
      ++w.unparsed;
      return;
    }
    std::int64_t q = 0;
    std::size_t pos = dash;
    if (!parse_int_after(cid, "-", pos, q) || q <= 0 || static_cast<std::size_t>(q) >= acked.size()) {
      ++w.unparsed;
      return;
    }
    if (acked[q]) {
      ++w.dup_acks;
      return;
    }
    acked[q] = 1;
    w.acks.fetch_add(1, std::memory_order_relaxed);
    if (sent_at[q] >= w.t_w0 && sent_at[q] < w.t_w1)
      w.ack_lat_ns.push_back(rx - sent_at[q]);
  } else if (type == "history") {
    if (!ready && !settled) {
      ready = true;
      settled = true;
      w.ready.fetch_add(1);
      w.connected_one();
    }
  } else if (type == "error") {
    auto code = plain_string(f, "\"code\":\"");
    if (++w.errors[std::string(code)] <= 3 && !w.o.quiet)
      std::cerr << "chat_loadgen: client " << idx << " got " << f.substr(0, 300) << "\n";
  }
}

/// One Engine.IO packet: the transport's own (open, ping) answered here, a
/// Socket.IO event or ack unwrapped to the chat frame it carries.
void client::on_socketio_packet(std::string_view p) {
  if (p.empty())
    return;
  if (p[0] == '0') { // open: connect to the default namespace
    send_raw("40");
    return;
  }
  if (p == "2") {
    send_raw("3");
    return;
  }
  if (p.size() < 2 || p[0] != '4')
    return;
  if (p[1] == '4') { // connect_error
    ++w.errors["socketio_connect_error"];
    return;
  }
  if (p[1] != '2' && p[1] != '3')
    return; // "40" connected, "41" disconnect
  // 42["chat",{...}] or 43<id>[{...}]: the object is after the first '[' (and
  // for an event after its name), up to the last ']'.
  auto first = p.find('[');
  auto last = p.rfind(']');
  if (first == std::string_view::npos || last == std::string_view::npos || last <= first) {
    ++w.unparsed;
    return;
  }
  auto body = p.substr(first + 1, last - first - 1);
  if (p[1] == '2') {
    auto comma = body.find(',');
    if (comma == std::string_view::npos) {
      ++w.unparsed;
      return;
    }
    body.remove_prefix(comma + 1);
  }
  on_frame(body);
}

void client::send_raw(std::string frame) {
  outq.push_back(std::move(frame));
  if (!writing)
    do_write();
}

void client::send_message() {
  if (!open) {
    return;
  }
  auto q = next_q++;
  auto t = now_ns();
  if (static_cast<std::size_t>(q) >= sent_at.size()) {
    sent_at.resize(q * 2 + 16, 0);
    acked.resize(q * 2 + 16, 0);
  }
  sent_at[q] = t;
  std::string text =
    "{\\\"s\\\":" + std::to_string(sender_k) + ",\\\"q\\\":" + std::to_string(q) + ",\\\"t\\\":" + std::to_string(t);
  if (w.o.text_pad > 0)
    text += ",\\\"p\\\":\\\"" + std::string(static_cast<std::size_t>(w.o.text_pad), 'x') + "\\\"";
  text += "}";
  // client_id is unique per run: a repeated (user, room, client_id) is a
  // retry to the server, acked and never delivered again.
  std::string frame = "{\"type\":\"message\",\"room\":\"" + room + "\",\"text\":\"" + text + "\",\"client_id\":\""
    + w.run_id + "-" + std::to_string(sender_k) + "-" + std::to_string(q) + "\"}";
  outq.push_back(w.o.socketio ? "42" + std::to_string(q) + "[\"message\"," + frame + "]" : std::move(frame));
  w.sent.fetch_add(1, std::memory_order_relaxed);
  w.expected.fetch_add(w.lay.room_size(w.lay.room_of(idx)) - 1, std::memory_order_relaxed);
  w.remote_nodes_sum += w.lay.remote_nodes_with_recipients(idx);
  if (t >= w.t_w0 && t < w.t_w1)
    ++w.window_sent;
  if (!writing)
    do_write();
}

void client::do_write() {
  writing = true;
  ws.async_write(asio::buffer(outq.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->writing = false;
    if (ec) {
      self->fail("write", ec);
      return;
    }
    self->outq.pop_front();
    if (!self->outq.empty())
      self->do_write();
  });
}

} // namespace loadgen
