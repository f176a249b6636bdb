#pragma once

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
//
// Files: options.* (the command line), proc_stats.* (/proc and /metrics of
// the servers), client.* (a WebSocket client, the layout of clients over
// rooms and nodes, a worker thread's clients), results.* (percentiles and
// JSON), fanout.cpp and idle.cpp (the two modes), main.cpp.

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

namespace loadgen {

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

inline void sleep_until_ns(std::int64_t t) {
  auto d = t - now_ns();
  if (d > 0)
    std::this_thread::sleep_for(std::chrono::nanoseconds(d));
}

[[noreturn]] inline void die(const std::string& msg) {
  std::cerr << "chat_loadgen: " << msg << "\n";
  std::exit(2);
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty())
      out.push_back(cur);
  return out;
}

} // namespace loadgen
