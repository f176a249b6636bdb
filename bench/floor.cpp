// chat_floor: the floor reference for the chat benchmarks.
//
// The least work any server can do for the same scenario: one process, one
// thread, plain Asio. It speaks just enough of protocol v1 for the load
// generator (upgrade, welcome, subscribed, history, message, ack, ping) and
// keeps nothing but a room → sockets map. A published message is parsed once,
// its `message` frame (the same JSON fields as chatd's, WebSocket header
// included) is built once, and that one buffer is written straight to each
// recipient's socket with one non-blocking write; only what the kernel does
// not take at once is queued.
//
//   chat_floor --port 28090 [--addr 127.0.0.1]
//
// SIGTERM/SIGINT: print counters and exit.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using nlohmann::json;
using frame_ptr = std::shared_ptr<const std::string>;

namespace {

std::string ws_accept_key(std::string_view key) {
  std::string in(key);
  in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), digest, &len, EVP_sha1(), nullptr);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

/// A server frame: FIN + opcode, unmasked length, payload.
std::string ws_frame(std::string_view payload, unsigned opcode = 0x1) {
  std::string f;
  f.reserve(payload.size() + 10);
  f.push_back(static_cast<char>(0x80 | opcode));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(payload.size()));
  } else if (payload.size() < 65536) {
    f.push_back(126);
    f.push_back(static_cast<char>((payload.size() >> 8) & 0xff));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    f.push_back(127);
    for (int i = 7; i >= 0; --i)
      f.push_back(static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> (8 * i)) & 0xff));
  }
  f.append(payload);
  return f;
}

std::string rfc3339_micros(std::chrono::system_clock::time_point tp) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char b[64];
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1000000));
  return b;
}

std::string query_value(std::string_view target, std::string_view key) {
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return {};
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return std::string(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

struct conn;

struct server {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::unordered_map<std::string, std::vector<conn*>> rooms;
  std::uint64_t next_id = 0;
  std::uint64_t published = 0, deliveries = 0, queued_writes = 0, connections = 0;
  std::string node = "floor";
};

struct conn : std::enable_shared_from_this<conn> {
  server& srv;
  tcp::socket sock;
  std::vector<char> rbuf;
  std::size_t rlen = 0;
  bool upgraded = false;
  bool dead = false;
  std::string user;
  std::vector<std::string> my_rooms;
  std::deque<std::pair<frame_ptr, std::size_t>> wq; // frame, bytes already written
  bool writing = false;

  conn(server& s, tcp::socket so) : srv(s), sock(std::move(so)), rbuf(1024) {}

  void start() {
    boost::system::error_code ec;
    sock.set_option(tcp::no_delay(true), ec);
    sock.non_blocking(true, ec);
    ++srv.connections;
    do_read();
  }

  void do_read() {
    if (rbuf.size() - rlen < 512)
      rbuf.resize(rbuf.size() * 2);
    sock.async_read_some(asio::buffer(rbuf.data() + rlen, rbuf.size() - rlen),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                           if (ec) {
                             self->close();
                             return;
                           }
                           self->rlen += n;
                           if (!self->upgraded && !self->handshake())
                             return;
                           if (self->upgraded && !self->frames())
                             return;
                           self->do_read();
                         });
  }

  /// The HTTP upgrade; false when the connection is finished.
  bool handshake() {
    std::string_view in(rbuf.data(), rlen);
    auto end = in.find("\r\n\r\n");
    if (end == std::string_view::npos)
      return rlen < 16384 || (close(), false);
    auto head = in.substr(0, end);
    auto line_end = head.find("\r\n");
    auto line = head.substr(0, line_end);
    auto sp1 = line.find(' '), sp2 = line.rfind(' ');
    std::string target(line.substr(sp1 + 1, sp2 - sp1 - 1));
    std::string lower(head);
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto k = lower.find("\r\nsec-websocket-key:");
    if (k == std::string::npos || target.rfind("/ws", 0) != 0) {
      close();
      return false;
    }
    auto v0 = k + 20;
    auto v1 = head.find("\r\n", v0);
    std::string key(head.substr(v0, v1 - v0));
    key.erase(0, key.find_first_not_of(' '));
    key.erase(key.find_last_not_of(' ') + 1);
    user = query_value(target, "user");
    auto rooms = query_value(target, "rooms");
    std::size_t pos = 0;
    while (pos <= rooms.size() && !rooms.empty()) {
      auto comma = rooms.find(',', pos);
      auto r = rooms.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (!r.empty())
        my_rooms.push_back(r);
      if (comma == std::string::npos)
        break;
      pos = comma + 1;
    }
    auto consumed = end + 4;
    std::memmove(rbuf.data(), rbuf.data() + consumed, rlen - consumed);
    rlen -= consumed;
    upgraded = true;
    send(std::make_shared<const std::string>("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                             "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                                             + ws_accept_key(key) + "\r\n\r\n"));
    send_json({{"type", "welcome"},
               {"node", srv.node},
               {"session", srv.node + "-" + std::to_string(srv.connections)},
               {"user", user},
               {"protocol", 1},
               {"limits", json::object()}});
    for (const auto& r : my_rooms) {
      srv.rooms[r].push_back(this);
      send_json({{"type", "subscribed"}, {"room", r}, {"members", json::array({user})}});
      send_json({{"type", "history"}, {"room", r}, {"messages", json::array()}, {"gap", false}});
    }
    rbuf.resize(std::max<std::size_t>(512, rlen + 256));
    rbuf.shrink_to_fit();
    return true;
  }

  /// Every complete client frame in the buffer; false when the connection is finished.
  bool frames() {
    std::size_t at = 0;
    while (rlen - at >= 2) {
      auto* p = reinterpret_cast<unsigned char*>(rbuf.data() + at);
      std::size_t avail = rlen - at;
      unsigned op = p[0] & 0x0f;
      bool masked = p[1] & 0x80;
      std::uint64_t len = p[1] & 0x7f;
      std::size_t hdr = 2;
      if (len == 126) {
        if (avail < 4)
          break;
        len = (std::uint64_t{p[2]} << 8) | p[3];
        hdr = 4;
      } else if (len == 127) {
        if (avail < 10)
          break;
        len = 0;
        for (int i = 0; i < 8; ++i)
          len = (len << 8) | p[2 + i];
        hdr = 10;
      }
      std::size_t mask_at = hdr;
      if (masked)
        hdr += 4;
      if (len > (64u << 20)) {
        close();
        return false;
      }
      if (avail < hdr + len)
        break;
      auto* payload = p + hdr;
      if (masked)
        for (std::size_t i = 0; i < len; ++i)
          payload[i] ^= p[mask_at + (i & 3)];
      std::string_view body(reinterpret_cast<char*>(payload), static_cast<std::size_t>(len));
      at += hdr + len;
      if (op == 0x1) {
        on_text(body);
      } else if (op == 0x8) {
        send(std::make_shared<const std::string>(ws_frame(body.substr(0, std::min<std::size_t>(2, body.size())), 0x8)));
        dead = true;
        leave_rooms();
        return false;
      } else if (op == 0x9) {
        send(std::make_shared<const std::string>(ws_frame(body, 0xA)));
      }
    }
    if (at > 0) {
      std::memmove(rbuf.data(), rbuf.data() + at, rlen - at);
      rlen -= at;
    }
    if (rbuf.size() > rlen + 8192 && rbuf.size() > 4096) {
      rbuf.resize(std::max<std::size_t>(1024, rlen + 512));
      rbuf.shrink_to_fit();
    }
    return !dead;
  }

  void on_text(std::string_view body) {
    json req = json::parse(body, nullptr, false);
    if (!req.is_object())
      return;
    auto type = req.value("type", std::string{});
    if (type == "ping") {
      send_json({{"type", "pong"}, {"t", req.value("t", json())}});
      return;
    }
    if (type != "message" || !req.contains("room") || !req.contains("text"))
      return;
    auto room = req["room"].get<std::string>();
    auto it = srv.rooms.find(room);
    if (it == srv.rooms.end())
      return;
    auto now = std::chrono::system_clock::now();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    char idb[64];
    std::snprintf(idb, sizeof idb, "%014llx-%s-%08llx", static_cast<unsigned long long>(us), srv.node.c_str(),
                  static_cast<unsigned long long>(++srv.next_id));
    auto ts = rfc3339_micros(now);
    // Encoded once, written to every recipient.
    json m{{"type", "message"}, {"room", room}, {"id", idb}, {"user", user}, {"text", req["text"]}, {"ts", ts}};
    auto frame = std::make_shared<const std::string>(ws_frame(m.dump()));
    ++srv.published;
    for (conn* c : it->second) {
      if (c != this) {
        c->send(frame);
        ++srv.deliveries;
      }
    }
    send_json(
      {{"type", "ack"}, {"client_id", req.value("client_id", json())}, {"id", idb}, {"ts", ts}, {"room", room}});
  }

  void send_json(const json& j) { send(std::make_shared<const std::string>(ws_frame(j.dump()))); }

  /// One write straight to the socket; only the rest is queued.
  void send(const frame_ptr& f) {
    if (dead)
      return;
    if (!writing && wq.empty()) {
      boost::system::error_code ec;
      auto n = sock.write_some(asio::buffer(*f), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        n = 0;
      } else if (ec) {
        fail_later();
        return;
      }
      if (n == f->size())
        return;
      wq.emplace_back(f, n);
      ++srv.queued_writes;
      do_write();
      return;
    }
    wq.emplace_back(f, 0);
  }

  void do_write() {
    writing = true;
    auto& [f, off] = wq.front();
    asio::async_write(sock, asio::buffer(f->data() + off, f->size() - off),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing = false;
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->wq.pop_front();
                        if (!self->wq.empty())
                          self->do_write();
                      });
  }

  // Never erase from a room while a fan-out walks it.
  void fail_later() {
    dead = true;
    asio::post(srv.ioc, [self = shared_from_this()] { self->close(); });
  }

  void leave_rooms() {
    for (const auto& r : my_rooms) {
      auto it = srv.rooms.find(r);
      if (it == srv.rooms.end())
        continue;
      auto& v = it->second;
      for (std::size_t i = 0; i < v.size(); ++i)
        if (v[i] == this) {
          v[i] = v.back();
          v.pop_back();
          break;
        }
      if (v.empty())
        srv.rooms.erase(it);
    }
    my_rooms.clear();
  }

  void close() {
    dead = true;
    leave_rooms();
    boost::system::error_code ec;
    sock.close(ec);
  }
};

void do_accept(server& srv) {
  srv.acceptor.async_accept([&srv](boost::system::error_code ec, tcp::socket s) {
    if (!ec)
      std::make_shared<conn>(srv, std::move(s))->start();
    else if (ec == asio::error::operation_aborted)
      return;
    do_accept(srv);
  });
}

} // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1";
  unsigned short port = 28090;
  server srv;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      port = static_cast<unsigned short>(std::stoi(v));
    else if (k == "--addr")
      addr = v;
    else if (k == "--node-name")
      srv.node = v;
    else {
      std::cerr << "usage: chat_floor [--addr 127.0.0.1] [--port 28090] [--node-name floor]\n";
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  tcp::endpoint ep(asio::ip::make_address(addr), port);
  srv.acceptor.open(ep.protocol());
  srv.acceptor.set_option(asio::socket_base::reuse_address(true));
  srv.acceptor.bind(ep);
  srv.acceptor.listen(asio::socket_base::max_listen_connections);
  do_accept(srv);
  asio::signal_set signals(srv.ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { srv.ioc.stop(); });
  std::cerr << "chat_floor: listening on " << addr << ":" << port << "\n";
  srv.ioc.run();
  std::cerr << "chat_floor: connections " << srv.connections << " published " << srv.published << " deliveries "
            << srv.deliveries << " queued writes " << srv.queued_writes << "\n";
  return 0;
}
