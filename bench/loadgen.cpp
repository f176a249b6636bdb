// chat_loadgen: load generator for the chat cluster, protocol v1 (see
// docs/protocol.md and docs/benchmarks.md).
//
//   chat_loadgen fanout --endpoints 127.0.0.1:28081,127.0.0.1:28082 --clients 600 --rooms 1
//       --senders 6 --rate 60 --warmup 3 --duration 7 --pids 123,456 --json out.json
//   chat_loadgen idle --endpoints 127.0.0.1:28081 --clients 20000 --procs 2 --pids 123 --json out.json
//
// fanout: N clients spread over the endpoints, R rooms, S senders publishing at
// a fixed total rate (open loop: the schedule never waits for the server).
// Every text is {"s":sender,"q":seq,"t":send_time_ns} (steady clock, so the
// receiver in this same process computes the end-to-end latency). Receivers
// count deliveries, duplicates, gaps and latency; the CPU time (user+sys,
// /proc/PID/stat) of the server processes is read at the edges of the
// measured window, as are their /metrics counters.
//
// idle: N connections that only hold their room, opened in --procs child
// processes (each process has its own RLIMIT_NOFILE); the server's RSS is
// read before and after each stage.
//
// --protocol socketio speaks Socket.IO 4 over its WebSocket transport
// (Engine.IO v4) to bench/socketio/server.mjs, the reference: the handshake
// is GET /socket.io/?EIO=4&transport=websocket; the server opens with
// "0{...}", the client connects to the default namespace with "40"; events
// are "42["name",data]", a message is sent as "42<q>["message",{...}]" and
// acknowledged with "43<q>[{...}]"; the server's ping "2" is answered "3".
// The data objects are chatd's JSON frames, so the rest is shared.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

void sleep_until_ns(std::int64_t t) {
  auto d = t - now_ns();
  if (d > 0)
    std::this_thread::sleep_for(std::chrono::nanoseconds(d));
}

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "chat_loadgen: " << msg << "\n";
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty())
      out.push_back(cur);
  return out;
}

// -- options --------------------------------------------------------------------

struct options {
  std::string mode;
  std::vector<tcp::endpoint> endpoints;
  int clients = 600;
  int rooms = 1;
  int senders = 6;
  double rate = 60;    // messages per second, all senders together
  double warmup = 3;   // seconds of sending before the measured window
  double duration = 7; // seconds of the measured window
  double drain = 3;    // stop waiting for stragglers after this long without one
  double settle = 1;   // after every client has its history, before sending
  double connect_timeout = 120;
  std::string placement = "spread"; // spread | local | pair: which endpoint a client uses
  std::vector<int> pids;            // server processes to measure
  std::vector<std::string> metrics; // host:port of each node's /metrics
  int src_base = 1;                 // bind clients to 127.0.0.(src_base .. src_base+src_count-1)
  int src_count = 1;
  int threads = 1;
  int inflight = 256; // concurrent connection handshakes per thread
  int text_pad = 0;   // extra bytes in each text
  std::string label = "chat";
  bool socketio = false; // --protocol socketio: Socket.IO 4 / Engine.IO v4 framing
  std::string scenario;
  std::string json_out;
  std::string room_prefix = "bench";
  std::string on_window; // shell command started at the start of the measured window (profilers)
  // idle
  int procs = 2;
  int room_size = 10;
  double stage_settle = 2;
  int fd_margin = 32;
  bool quiet = false;
};

tcp::endpoint parse_endpoint(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos)
    die("endpoint needs host:port: " + s);
  auto addr = asio::ip::make_address(s.substr(0, colon));
  if (!addr.is_loopback())
    die("only 127.0.0.0/8 endpoints are allowed: " + s);
  return {addr, static_cast<unsigned short>(std::stoi(s.substr(colon + 1)))};
}

options parse_options(int argc, char** argv) {
  if (argc < 2)
    die("usage: chat_loadgen fanout|idle [--option value]... (see docs/benchmarks.md)");
  options o;
  o.mode = argv[1];
  if (o.mode != "fanout" && o.mode != "idle")
    die("mode must be fanout or idle");
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (i + 1 >= argc)
      die("missing value for " + k);
    std::string v = argv[++i];
    if (k == "--endpoints") {
      for (auto& e : split(v, ','))
        o.endpoints.push_back(parse_endpoint(e));
    } else if (k == "--clients")
      o.clients = std::stoi(v);
    else if (k == "--rooms")
      o.rooms = std::stoi(v);
    else if (k == "--senders")
      o.senders = std::stoi(v);
    else if (k == "--rate")
      o.rate = std::stod(v);
    else if (k == "--warmup")
      o.warmup = std::stod(v);
    else if (k == "--duration")
      o.duration = std::stod(v);
    else if (k == "--drain")
      o.drain = std::stod(v);
    else if (k == "--settle")
      o.settle = std::stod(v);
    else if (k == "--connect-timeout")
      o.connect_timeout = std::stod(v);
    else if (k == "--placement")
      o.placement = v;
    else if (k == "--pids") {
      for (auto& p : split(v, ','))
        o.pids.push_back(std::stoi(p));
    } else if (k == "--metrics")
      o.metrics = split(v, ',');
    else if (k == "--src-base")
      o.src_base = std::stoi(v);
    else if (k == "--src-count")
      o.src_count = std::stoi(v);
    else if (k == "--threads")
      o.threads = std::stoi(v);
    else if (k == "--inflight")
      o.inflight = std::stoi(v);
    else if (k == "--text-pad")
      o.text_pad = std::stoi(v);
    else if (k == "--label")
      o.label = v;
    else if (k == "--protocol") {
      if (v != "chat" && v != "socketio")
        die("protocol must be chat or socketio");
      o.socketio = v == "socketio";
    } else if (k == "--scenario")
      o.scenario = v;
    else if (k == "--json")
      o.json_out = v;
    else if (k == "--room-prefix")
      o.room_prefix = v;
    else if (k == "--on-window")
      o.on_window = v;
    else if (k == "--procs")
      o.procs = std::stoi(v);
    else if (k == "--room-size")
      o.room_size = std::stoi(v);
    else if (k == "--stage-settle")
      o.stage_settle = std::stod(v);
    else if (k == "--fd-margin")
      o.fd_margin = std::stoi(v);
    else
      die("unknown option " + k);
  }
  if (o.endpoints.empty())
    die("--endpoints is required");
  if (o.clients < 1 || o.rooms < 1 || o.senders < 0 || o.threads < 1 || o.procs < 1)
    die("bad counts");
  if (o.mode == "fanout" && (o.senders > o.clients || o.rooms > o.clients))
    die("more senders or rooms than clients");
  if (o.src_base < 1 || o.src_base + o.src_count > 255)
    die("source addresses must stay within 127.0.0.1..127.0.0.254");
  if (o.placement != "spread" && o.placement != "local" && o.placement != "pair")
    die("placement must be spread, local or pair");
  return o;
}

// -- /proc and /metrics -------------------------------------------------------------

struct proc_cpu {
  double user_s = 0;
  double sys_s = 0;
};

std::optional<proc_cpu> read_cpu(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  std::istringstream rest(s.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (rest >> tok)
    f.push_back(tok);
  if (f.size() < 13)
    return std::nullopt;
  static const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  // f[0] is field 3 (state); utime is field 14, stime field 15.
  return proc_cpu{std::stod(f[11]) / hz, std::stod(f[12]) / hz};
}

/// CPU time of every thread of a process, nanoseconds, from
/// /proc/PID/task/TID/schedstat (the scheduler's own accounting: precise,
/// where /proc/PID/stat counts in clock ticks).
struct thread_cpu {
  int tid;
  std::string comm;
  std::int64_t ns;
};

std::vector<thread_cpu> read_threads(int pid) {
  std::vector<thread_cpu> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (auto* d = opendir(dir.c_str())) {
    while (auto* e = readdir(d)) {
      if (e->d_name[0] == '.')
        continue;
      std::ifstream ss(dir + "/" + e->d_name + "/schedstat");
      std::ifstream cs(dir + "/" + e->d_name + "/comm");
      thread_cpu t{std::atoi(e->d_name), {}, 0};
      if (!(ss >> t.ns))
        continue;
      std::getline(cs, t.comm);
      out.push_back(t);
    }
    closedir(d);
  }
  return out;
}

std::int64_t total_ns(const std::vector<thread_cpu>& ts) {
  std::int64_t n = 0;
  for (const auto& t : ts)
    n += t.ns;
  return n;
}

std::int64_t read_status_kib(int pid, const char* key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  std::string k = std::string(key) + ":";
  while (std::getline(in, line))
    if (line.rfind(k, 0) == 0)
      return std::stoll(line.substr(k.size()));
  return -1;
}

int count_fds(int pid) {
  int n = 0;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  // A tiny readdir without <filesystem> exceptions.
  if (auto* d = opendir(dir.c_str())) {
    while (auto* e = readdir(d))
      if (e->d_name[0] != '.')
        ++n;
    closedir(d);
  }
  return n;
}

std::int64_t fd_soft_limit(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream f(line.substr(14));
      std::string soft;
      f >> soft;
      return soft == "unlimited" ? (1 << 30) : std::stoll(soft);
    }
  return -1;
}

proc_cpu self_cpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6};
}

/// Counters of one node's /metrics (lines without labels).
std::map<std::string, double> read_metrics(const std::string& hostport) {
  std::map<std::string, double> out;
  try {
    asio::io_context ioc;
    tcp::socket sock(ioc);
    sock.connect(parse_endpoint(hostport));
    http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
    req.set(http::field::host, hostport);
    http::write(sock, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(sock, buf, res);
    std::istringstream in(res.body());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#' || line.find('{') != std::string::npos)
        continue;
      auto sp = line.find(' ');
      if (sp != std::string::npos)
        out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
    }
  } catch (const std::exception& e) {
    std::cerr << "chat_loadgen: metrics from " << hostport << ": " << e.what() << "\n";
  }
  return out;
}

// -- layout: who is where --------------------------------------------------------------

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

// -- statistics ---------------------------------------------------------------------------------

json percentiles_us(std::vector<std::int64_t>& v) {
  json j;
  j["count"] = v.size();
  if (v.empty()) {
    for (auto k : {"p50", "p90", "p99", "p999", "max", "mean"})
      j[k] = nullptr;
    return j;
  }
  std::sort(v.begin(), v.end());
  auto at = [&](double p) {
    auto i = static_cast<std::size_t>(std::ceil(p * v.size())) - 1;
    return v[std::min(i, v.size() - 1)] / 1000.0;
  };
  j["p50"] = at(0.50);
  j["p90"] = at(0.90);
  j["p99"] = at(0.99);
  j["p999"] = at(0.999);
  j["max"] = v.back() / 1000.0;
  j["mean"] = std::accumulate(v.begin(), v.end(), 0.0) / v.size() / 1000.0;
  return j;
}

void write_json(const options& o, const json& j) {
  if (o.json_out.empty())
    return;
  std::ofstream out(o.json_out);
  out << j.dump(2) << "\n";
  if (!out)
    die("cannot write " + o.json_out);
}

std::string fmt(double v, int prec = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// -- fanout ---------------------------------------------------------------------------------------

int run_fanout(const options& o) {
  layout lay{o.clients, o.rooms, static_cast<int>(o.endpoints.size()), o.placement};
  std::vector<std::unique_ptr<worker>> workers;
  auto run_id = std::to_string(getpid()) + "." + std::to_string(now_ns() % 1000000007);
  for (int t = 0; t < o.threads; ++t) {
    workers.push_back(std::make_unique<worker>(o, lay, t));
    workers.back()->run_id = run_id;
  }
  std::vector<bool> is_sender(o.clients, false);
  std::vector<int> sender_k(o.clients, -1);
  for (int k = 0; k < o.senders; ++k) {
    int i = static_cast<int>(static_cast<std::int64_t>(k) * o.clients / o.senders);
    is_sender[i] = true;
    sender_k[i] = k;
  }
  for (int i = 0; i < o.clients; ++i) {
    auto& w = *workers[i % o.threads];
    auto c = std::make_shared<client>(i, w, w.ioc);
    c->room = o.room_prefix + std::to_string(lay.room_of(i));
    c->ep = o.endpoints[lay.node_of(i)];
    c->src = asio::ip::make_address("127.0.0." + std::to_string(o.src_base + i % o.src_count));
    c->sender_k = sender_k[i];
    if (is_sender[i])
      w.senders.push_back(c.get());
    w.clients.push_back(std::move(c));
  }
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : workers) {
    guards.emplace_back(w->ioc.get_executor());
    asio::post(w->ioc, [wp = w.get()] { wp->connect_more(); });
    threads.emplace_back([wp = w.get()] { wp->ioc.run(); });
  }
  auto sum = [&](auto member) {
    std::int64_t n = 0;
    for (auto& w : workers)
      n += ((*w).*member).load();
    return n;
  };
  auto t_conn0 = now_ns();
  while (sum(&worker::ready) + sum(&worker::failed) < o.clients) {
    if (now_ns() - t_conn0 > o.connect_timeout * 1e9)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto connect_s = (now_ns() - t_conn0) / 1e9;
  auto ready = sum(&worker::ready);
  if (!o.quiet)
    std::cerr << "chat_loadgen: " << ready << "/" << o.clients << " clients have their history after "
              << fmt(connect_s, 2) << " s\n";
  // Settle: at least --settle, and until the presence storm of the joins is
  // over (no frame for 300 ms), at most 15 s.
  auto t_settle0 = now_ns();
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::int64_t last = 0;
    for (auto& w : workers)
      last = std::max(last, w->last_rx_ns.load());
    auto now = now_ns();
    if (now - t_settle0 >= o.settle * 1e9 && now - last > 300'000'000)
      break;
    if (now - t_settle0 > 15e9)
      break;
  }
  std::int64_t frames_before = sum(&worker::frames_in);

  auto t_start = now_ns() + 50'000'000;
  auto t_w0 = t_start + static_cast<std::int64_t>(o.warmup * 1e9);
  auto t_w1 = t_w0 + static_cast<std::int64_t>(o.duration * 1e9);
  for (auto& w : workers)
    asio::post(w->ioc, [wp = w.get(), t_start, t_w0, t_w1] { wp->start_sending(t_start, t_w0, t_w1); });

  std::map<std::string, std::map<std::string, double>> m0, m1;
  std::thread metrics_thread;
  auto read_all_metrics = [&](std::map<std::string, std::map<std::string, double>>& into) {
    for (const auto& hp : o.metrics)
      into[hp] = read_metrics(hp);
  };

  sleep_until_ns(t_w0);
  std::vector<std::optional<proc_cpu>> cpu0, cpu1;
  std::vector<std::vector<thread_cpu>> thr0, thr1;
  for (int pid : o.pids) {
    cpu0.push_back(read_cpu(pid));
    thr0.push_back(read_threads(pid));
  }
  auto self0 = self_cpu();
  auto real0 = now_ns();
  metrics_thread = std::thread([&] { read_all_metrics(m0); });
  std::thread hook_thread;
  if (!o.on_window.empty())
    hook_thread = std::thread([&] {
      if (std::system(o.on_window.c_str()) != 0)
        std::cerr << "chat_loadgen: --on-window command failed\n";
    });

  sleep_until_ns(t_w1);
  for (int pid : o.pids) {
    cpu1.push_back(read_cpu(pid));
    thr1.push_back(read_threads(pid));
  }
  auto self1 = self_cpu();
  auto real1 = now_ns();
  std::vector<std::int64_t> rss;
  for (int pid : o.pids)
    rss.push_back(read_status_kib(pid, "VmRSS"));
  metrics_thread.join();
  // The end snapshot of the counters waits for the deliveries in flight, so
  // that "per fan-out" compares whole fan-outs.
  // Lost means never came: wait for stragglers as long as deliveries keep
  // arriving (a server that fell behind is slow, not lossy), until nothing
  // has moved for --drain seconds, at most 60 s.
  auto t_drain0 = now_ns();
  auto t_progress = t_drain0;
  std::int64_t progress = -1;
  while (true) {
    auto got = sum(&worker::unique), acks = sum(&worker::acks);
    if (got >= sum(&worker::expected) && acks >= sum(&worker::sent))
      break;
    auto now = now_ns();
    if (got + acks != progress) {
      progress = got + acks;
      t_progress = now;
    }
    if (now - t_progress > o.drain * 1e9 || now - t_drain0 > 60e9)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto drain_s = (now_ns() - t_drain0) / 1e9;
  read_all_metrics(m1);

  for (auto& w : workers)
    asio::post(w->ioc, [wp = w.get()] { wp->stop(); });
  guards.clear();
  for (auto& w : workers)
    asio::post(w->ioc, [wp = w.get()] { wp->ioc.stop(); });
  for (auto& t : threads)
    t.join();
  if (hook_thread.joinable())
    hook_thread.join();

  // -- aggregate
  std::int64_t sent = 0, acked = 0, expected = 0, unique = 0, deliveries = 0, dups = 0, reordered = 0;
  std::int64_t window_deliveries = 0, window_sent = 0, dup_acks = 0, unparsed = 0, closed = 0, remote_sum = 0;
  std::int64_t gaps = 0, frames_in = 0;
  std::vector<std::int64_t> lat, ack_lat;
  std::map<std::string, std::int64_t> errors, closes;
  for (auto& w : workers) {
    sent += w->sent;
    acked += w->acks;
    expected += w->expected;
    unique += w->unique;
    deliveries += w->deliveries;
    dups += w->dups;
    reordered += w->reordered;
    window_deliveries += w->window_deliveries;
    window_sent += w->window_sent;
    dup_acks += w->dup_acks;
    unparsed += w->unparsed;
    closed += w->closed_by_server;
    remote_sum += w->remote_nodes_sum;
    frames_in += w->frames_in;
    lat.insert(lat.end(), w->lat_ns.begin(), w->lat_ns.end());
    ack_lat.insert(ack_lat.end(), w->ack_lat_ns.begin(), w->ack_lat_ns.end());
    for (auto& [k, v] : w->errors)
      errors[k] += v;
    for (auto& [k, v] : w->close_reasons)
      closes[k] += v;
    for (auto& c : w->clients)
      for (auto& ps : c->seen)
        for (std::int64_t q = 1; q < ps.max_q; ++q)
          gaps += ps.got[q] ? 0 : 1;
  }
  double window_s = (real1 - real0) / 1e9;
  // Total: the scheduler's nanoseconds (schedstat, summed over threads).
  // Split into user and sys in the proportion /proc/PID/stat gives (ticks).
  double cpu_user = 0, cpu_sys = 0, cpu_total = 0;
  json per_pid = json::array();
  for (std::size_t i = 0; i < o.pids.size(); ++i) {
    json p{{"pid", o.pids[i]}, {"rss_kib", rss[i]}};
    double u = 0, s = 0;
    if (cpu0[i] && cpu1[i]) {
      u = cpu1[i]->user_s - cpu0[i]->user_s;
      s = cpu1[i]->sys_s - cpu0[i]->sys_s;
      p["stat_user_s"] = u;
      p["stat_sys_s"] = s;
    }
    double tot = (total_ns(thr1[i]) - total_ns(thr0[i])) / 1e9;
    if (thr1[i].empty())
      tot = u + s;
    double uf = u + s > 0 ? u / (u + s) : 0.5;
    cpu_total += tot;
    cpu_user += tot * uf;
    cpu_sys += tot * (1 - uf);
    p["cpu_s"] = tot;
    json per_thread = json::array();
    std::vector<std::pair<double, json>> ts;
    for (const auto& t1 : thr1[i]) {
      std::int64_t before = 0;
      for (const auto& t0 : thr0[i])
        if (t0.tid == t1.tid)
          before = t0.ns;
      ts.emplace_back((t1.ns - before) / 1e9,
                      json{{"tid", t1.tid}, {"comm", t1.comm}, {"cpu_s", (t1.ns - before) / 1e9}});
    }
    std::sort(ts.begin(), ts.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (auto& [_, t] : ts)
      per_thread.push_back(t);
    p["threads"] = per_thread;
    per_pid.push_back(p);
  }
  double per_del = window_deliveries > 0 ? 1e6 / window_deliveries : 0;
  json j;
  j["label"] = o.label;
  j["scenario"] = o.scenario;
  j["mode"] = "fanout";
  j["nodes"] = o.endpoints.size();
  j["clients"] = o.clients;
  j["rooms"] = o.rooms;
  j["senders"] = o.senders;
  j["rate"] = o.rate;
  j["placement"] = o.placement;
  j["warmup_s"] = o.warmup;
  j["duration_s"] = o.duration;
  j["threads"] = o.threads;
  j["connected"] = ready;
  j["connect_s"] = connect_s;
  j["drain_s"] = drain_s;
  j["sent"] = sent;
  j["acked"] = acked;
  j["expected"] = expected;
  j["delivered"] = deliveries;
  j["unique"] = unique;
  j["lost"] = expected - unique;
  j["duplicated"] = dups;
  j["gaps"] = gaps;
  j["reordered"] = reordered;
  j["dup_acks"] = dup_acks;
  j["unparsed"] = unparsed;
  j["closed_by_server"] = closed;
  j["close_reasons"] = closes;
  j["errors"] = errors;
  j["frames_in_before_send"] = frames_before;
  j["window"] = {{"seconds", window_s},
                 {"sent", window_sent},
                 {"deliveries", window_deliveries},
                 {"deliveries_per_s", window_deliveries / window_s},
                 {"offered_deliveries_per_s", o.rate * (sent > 0 ? double(expected) / sent : 0)}};
  j["latency_us"] = percentiles_us(lat);
  j["ack_latency_us"] = percentiles_us(ack_lat);
  j["server_cpu"] = {{"total_s", cpu_total},
                     {"user_s", cpu_user},
                     {"sys_s", cpu_sys},
                     {"cores", cpu_total / window_s},
                     {"us_per_delivery", cpu_total * per_del},
                     {"user_us_per_delivery", cpu_user * per_del},
                     {"sys_us_per_delivery", cpu_sys * per_del},
                     {"processes", per_pid}};
  std::int64_t rss_total = 0;
  for (auto r : rss)
    rss_total += std::max<std::int64_t>(r, 0);
  j["rss_kib_total"] = rss_total;
  j["loadgen_cpu"] = {{"user_s", self1.user_s - self0.user_s},
                      {"sys_s", self1.sys_s - self0.sys_s},
                      {"cores", (self1.user_s - self0.user_s + self1.sys_s - self0.sys_s) / window_s}};
  // Node counters: deltas from the start of the window to after the drain.
  if (!o.metrics.empty()) {
    json nodes = json::object();
    std::map<std::string, double> total;
    for (const auto& hp : o.metrics) {
      json n = json::object();
      for (const auto& [k, v1] : m1[hp]) {
        auto it = m0[hp].find(k);
        if (it == m0[hp].end())
          continue;
        bool counter = k.size() > 6 && k.compare(k.size() - 6, 6, "_total") == 0;
        n[k] = counter ? v1 - it->second : v1;
        if (counter)
          total[k] += v1 - it->second;
      }
      nodes[hp] = n;
    }
    j["node_metrics"] = nodes;
    j["node_metrics_total"] = total;
    double published = total["chat_messages_published_total"];
    if (published > 0) {
      j["node_msgs_per_fanout"] = total["chat_node_messages_out_total"] / published;
      j["deliveries_per_fanout_metrics"] = total["chat_deliveries_total"] / published;
    }
  }
  j["remote_nodes_with_recipients_per_fanout"] = sent > 0 ? double(remote_sum) / sent : 0.0;
  j["remote_nodes_per_fanout"] = static_cast<double>(o.endpoints.size() - 1);

  write_json(o, j);
  if (!o.quiet) {
    const auto& l = j["latency_us"];
    auto num = [](const json& v) { return v.is_null() ? std::string("-") : fmt(v.get<double>(), 0); };
    std::cout << o.label << " " << o.scenario << ": sent " << sent << " acked " << acked << " delivered " << deliveries
              << " (unique " << unique << "/" << expected << ") lost " << expected - unique << " dup " << dups
              << " gaps " << gaps << "\n"
              << "  window " << fmt(window_s, 2) << " s: " << fmt(window_deliveries / window_s, 0)
              << " deliveries/s, latency us p50 " << num(l["p50"]) << " p90 " << num(l["p90"]) << " p99 "
              << num(l["p99"]) << " max " << num(l["max"]) << "\n"
              << "  server cpu " << fmt((cpu_user + cpu_sys) * per_del, 2) << " us/delivery (user "
              << fmt(cpu_user * per_del, 2) << ", sys " << fmt(cpu_sys * per_del, 2) << "), "
              << fmt((cpu_user + cpu_sys) / window_s, 2) << " cores; rss " << rss_total << " KiB; loadgen "
              << fmt(j["loadgen_cpu"]["cores"].get<double>(), 2) << " cores\n";
    if (j.contains("node_msgs_per_fanout"))
      std::cout << "  node messages per fan-out " << fmt(j["node_msgs_per_fanout"].get<double>(), 3)
                << " (remote nodes with recipients "
                << fmt(j["remote_nodes_with_recipients_per_fanout"].get<double>(), 3) << ")\n";
    if (!errors.empty() || closed)
      std::cout << "  errors " << json(errors).dump() << " closed " << json(closes).dump() << "\n";
  }
  return ready == o.clients ? 0 : 1;
}

// -- idle ------------------------------------------------------------------------------------------

/// A child process: opens clients [from, to), says "ready N FAILED" on `out`
/// when each has its history or failed, then holds them until `in` closes.
[[noreturn]] void idle_child(const options& o, int from, int to, int out_fd, int in_fd) {
  layout lay{o.clients, std::max(1, o.clients / o.room_size), static_cast<int>(o.endpoints.size()), "spread"};
  options copy = o;
  worker w(copy, lay, 0);
  for (int i = from; i < to; ++i) {
    auto c = std::make_shared<client>(i, w, w.ioc);
    c->room = o.room_prefix + std::to_string(lay.room_of(i));
    c->ep = o.endpoints[lay.node_of(i)];
    c->src = asio::ip::make_address("127.0.0." + std::to_string(o.src_base + i % o.src_count));
    w.clients.push_back(std::move(c));
  }
  auto guard = asio::make_work_guard(w.ioc);
  asio::post(w.ioc, [&] { w.connect_more(); });
  std::thread io([&] { w.ioc.run(); });
  auto t0 = now_ns();
  while (w.ready + w.failed < to - from && now_ns() - t0 < o.connect_timeout * 1e9)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::string msg = "ready " + std::to_string(w.ready.load()) + " " + std::to_string(w.failed.load()) + " "
    + fmt((now_ns() - t0) / 1e9, 2) + "\n";
  if (write(out_fd, msg.data(), msg.size()) < 0)
    _exit(3);
  char b;
  while (read(in_fd, &b, 1) > 0) {}
  _exit(0);
}

int run_idle(const options& o) {
  if (o.pids.empty())
    die("idle needs --pids of the server processes");
  // The node's own descriptor limit caps how many connections it can hold.
  int requested = o.clients;
  int n = requested;
  std::string capped_by;
  for (int pid : o.pids) {
    auto lim = fd_soft_limit(pid);
    auto used = count_fds(pid);
    if (lim > 0 && n > lim - used - o.fd_margin) {
      n = static_cast<int>(lim - used - o.fd_margin);
      capped_by =
        "server RLIMIT_NOFILE " + std::to_string(lim) + " with " + std::to_string(used) + " descriptors in use";
    }
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  int per_proc = (n + o.procs - 1) / o.procs;
  if (static_cast<rlim_t>(per_proc + 64) > rl.rlim_cur)
    die("each of the " + std::to_string(o.procs) + " processes needs " + std::to_string(per_proc + 64)
        + " descriptors; raise ulimit -n or --procs");
  if (!capped_by.empty() && !o.quiet)
    std::cerr << "chat_loadgen: " << n << " connections instead of " << requested << " (" << capped_by << ")\n";

  auto sample = [&](int conns, double connect_s) {
    json s{{"connections", conns}, {"connect_s", connect_s}};
    std::int64_t rss = 0, anon = 0;
    for (int pid : o.pids) {
      rss += read_status_kib(pid, "VmRSS");
      anon += read_status_kib(pid, "RssAnon");
    }
    s["rss_kib"] = rss;
    s["rss_anon_kib"] = anon;
    return s;
  };
  std::this_thread::sleep_for(std::chrono::duration<double>(o.stage_settle));
  json stages = json::array();
  stages.push_back(sample(0, 0));
  std::vector<std::pair<pid_t, int>> kids; // pid, write end of its control pipe
  int total = 0, failed = 0;
  for (int p = 0; p < o.procs; ++p) {
    int from = p * per_proc, to = std::min(n, (p + 1) * per_proc);
    if (from >= to)
      break;
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0)
      die("pipe");
    std::cout.flush();
    std::cerr.flush();
    pid_t pid = fork();
    if (pid < 0)
      die("fork");
    if (pid == 0) {
      close(up[0]);
      close(down[1]);
      for (auto& [_, fd] : kids)
        close(fd);
      idle_child(o, from, to, up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    kids.emplace_back(pid, down[1]);
    std::string line;
    char c;
    while (read(up[0], &c, 1) == 1 && c != '\n')
      line += c;
    close(up[0]);
    int r = 0, f = 0;
    double secs = 0;
    if (std::sscanf(line.c_str(), "ready %d %d %lf", &r, &f, &secs) != 3)
      die("child " + std::to_string(p) + " said '" + line + "'");
    total += r;
    failed += f;
    if (!o.quiet)
      std::cerr << "chat_loadgen: stage " << p + 1 << ": " << total << " connections (" << f << " failed) in "
                << fmt(secs, 2) << " s\n";
    std::this_thread::sleep_for(std::chrono::duration<double>(o.stage_settle));
    stages.push_back(sample(total, secs));
  }
  for (auto& [pid, fd] : kids) {
    close(fd);
    int st = 0;
    waitpid(pid, &st, 0);
  }
  const auto& first = stages.front();
  const auto& last = stages.back();
  json j;
  j["label"] = o.label;
  j["scenario"] = o.scenario;
  j["mode"] = "idle";
  j["requested"] = requested;
  j["connections"] = total;
  j["failed"] = failed;
  j["capped_by"] = capped_by;
  j["room_size"] = o.room_size;
  j["stages"] = stages;
  double per =
    total > 0 ? double(last["rss_kib"].get<std::int64_t>() - first["rss_kib"].get<std::int64_t>()) / total : 0;
  j["rss_kib_per_connection"] = per;
  if (stages.size() >= 3) {
    const auto& prev = stages[stages.size() - 2];
    auto dc = last["connections"].get<int>() - prev["connections"].get<int>();
    if (dc > 0)
      j["rss_kib_per_connection_last_stage"] =
        double(last["rss_kib"].get<std::int64_t>() - prev["rss_kib"].get<std::int64_t>()) / dc;
  }
  write_json(o, j);
  if (!o.quiet)
    std::cout << o.label << " " << o.scenario << ": " << total << " idle connections, rss " << first["rss_kib"]
              << " -> " << last["rss_kib"] << " KiB: " << fmt(per, 2) << " KiB per connection\n";
  return total == n ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  auto o = parse_options(argc, argv);
  try {
    return o.mode == "fanout" ? run_fanout(o) : run_idle(o);
  } catch (const std::exception& e) { die(e.what()); }
}
