#include "loadgen/options.hpp"

namespace loadgen {

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

} // namespace loadgen
