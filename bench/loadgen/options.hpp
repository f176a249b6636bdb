#pragma once

#include "loadgen/common.hpp"

namespace loadgen {

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

tcp::endpoint parse_endpoint(const std::string& s);
options parse_options(int argc, char** argv);

} // namespace loadgen
