#pragma once

// One WebSocket client of the load (chatd's protocol or Socket.IO's), where
// clients go (the layout over rooms and nodes), and a worker: one thread's
// io_context with its clients and its share of the senders' schedule.

#include "loadgen/options.hpp"

namespace loadgen {

struct layout {
  int clients, rooms, nodes;
  std::string placement;

  int room_of(int i) const { return static_cast<int>(static_cast<std::int64_t>(i) * rooms / clients); }
  int first_of(int r) const {
    // smallest i with room_of(i) == r
    return static_cast<int>((static_cast<std::int64_t>(r) * clients + rooms - 1) / rooms);
  }
  int room_size(int r) const { return first_of(r + 1) - first_of(r); }
  int node_of(int i) const {
    int r = room_of(i);
    if (placement == "local")
      return r % nodes;
    if (placement == "pair")
      return ((i - first_of(r)) % 2 == 0 ? r : r + 1) % nodes;
    return i % nodes;
  }
  /// Nodes other than the sender's that hold at least one recipient.
  int remote_nodes_with_recipients(int sender) const {
    std::set<int> ns;
    int r = room_of(sender);
    for (int j = first_of(r); j < first_of(r + 1); ++j)
      if (j != sender && node_of(j) != node_of(sender))
        ns.insert(node_of(j));
    return static_cast<int>(ns.size());
  }
};

// -- clients ---------------------------------------------------------------------------------

struct pair_seen {
  int sender;
  std::int64_t max_q = 0;
  std::vector<std::uint8_t> got; // index q
};

struct worker;

struct client : std::enable_shared_from_this<client> {
  int idx;
  worker& w;
  std::string room;
  tcp::endpoint ep;
  asio::ip::address src;
  websocket::stream<tcp::socket> ws;
  beast::flat_buffer buf;
  bool ready = false;
  bool open = false;
  bool failed = false;
  bool settled = false; // counted as ready or failed
  // sender side
  int sender_k = -1;
  std::int64_t next_q = 1;
  std::vector<std::int64_t> sent_at; // index q
  std::vector<std::uint8_t> acked;   // index q
  std::deque<std::string> outq;
  bool writing = false;
  // receiver side
  std::vector<pair_seen> seen;

  client(int i, worker& wk, asio::io_context& ioc) : idx(i), w(wk), ws(ioc) {}

  void start();
  void on_connect(beast::error_code ec);
  void do_read();
  void on_frame(std::string_view f);
  void on_socketio_packet(std::string_view p);
  void send_message();
  void send_raw(std::string frame);
  void do_write();
  void fail(const char* what, beast::error_code ec);
};

struct worker {
  const options& o;
  const layout& lay;
  int index;
  asio::io_context ioc{1};
  std::vector<std::shared_ptr<client>> clients;
  std::vector<client*> senders;
  std::size_t next_connect = 0;
  int connecting = 0;
  std::optional<asio::steady_timer> tick;
  std::int64_t tick_no = 0;
  std::int64_t t_start = 0, t_w0 = 0, t_w1 = 0;
  double period_ns = 0;
  double phase_ns = 0;
  bool sending = false;
  bool stopping = false;
  std::string run_id;

  // progress, read by the main thread
  std::atomic<int> ready{0};
  std::atomic<int> failed{0};
  std::atomic<std::int64_t> unique{0};
  std::atomic<std::int64_t> expected{0};
  std::atomic<std::int64_t> sent{0};
  std::atomic<std::int64_t> acks{0};
  std::atomic<std::int64_t> last_rx_ns{0};
  std::atomic<std::int64_t> frames_in{0};

  // results, read after the thread ends
  std::int64_t dups = 0, reordered = 0, window_deliveries = 0, window_sent = 0, dup_acks = 0;
  std::int64_t deliveries = 0, unparsed = 0, closed_by_server = 0;
  std::int64_t remote_nodes_sum = 0; // over sent messages
  std::vector<std::int64_t> lat_ns, ack_lat_ns;
  std::map<std::string, std::int64_t> errors;
  std::map<std::string, std::int64_t> close_reasons;

  worker(const options& opt, const layout& l, int i) : o(opt), lay(l), index(i) {}

  void connect_more() {
    while (connecting < o.inflight && next_connect < clients.size()) {
      ++connecting;
      clients[next_connect++]->start();
    }
  }

  void connected_one() {
    --connecting;
    connect_more();
  }

  void start_sending(std::int64_t start, std::int64_t w0, std::int64_t w1) {
    t_start = start;
    t_w0 = w0;
    t_w1 = w1;
    if (senders.empty())
      return;
    double my_rate = o.rate * static_cast<double>(senders.size()) / o.senders;
    period_ns = 1e9 / my_rate;
    phase_ns = period_ns * index / o.threads;
    sending = true;
    tick.emplace(ioc);
    arm();
  }

  void arm() {
    auto at = t_start + static_cast<std::int64_t>(phase_ns + period_ns * tick_no);
    if (at >= t_w1) {
      sending = false;
      return;
    }
    tick->expires_at(steady::time_point(std::chrono::nanoseconds(at)));
    tick->async_wait([this](boost::system::error_code ec) {
      if (ec)
        return;
      // Open loop: a late timer sends every message that is due.
      auto now = now_ns();
      while (sending) {
        auto due = t_start + static_cast<std::int64_t>(phase_ns + period_ns * tick_no);
        if (due > now || due >= t_w1)
          break;
        senders[tick_no % senders.size()]->send_message();
        ++tick_no;
      }
      arm();
    });
  }

  void stop() {
    stopping = true;
    sending = false;
    if (tick)
      tick->cancel();
    for (auto& c : clients) {
      beast::error_code ignored;
      c->ws.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
      c->ws.next_layer().close(ignored);
    }
  }
};

} // namespace loadgen
