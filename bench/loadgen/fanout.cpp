#include "loadgen/client.hpp"
#include "loadgen/modes.hpp"
#include "loadgen/proc_stats.hpp"
#include "loadgen/results.hpp"

namespace loadgen {

namespace {

/// /proc readings of the servers at both edges of the measured window.
struct cpu_edges {
  const std::vector<std::optional<proc_cpu>>& cpu0;
  const std::vector<std::optional<proc_cpu>>& cpu1;
  const std::vector<std::vector<thread_cpu>>& thr0;
  const std::vector<std::vector<thread_cpu>>& thr1;
};

struct server_cpu {
  double user = 0, sys = 0, total = 0;
  json per_pid = json::array();
};

server_cpu measure_server_cpu(const options& o, const cpu_edges& edges, const std::vector<std::int64_t>& rss) {
  // Total: the scheduler's nanoseconds (schedstat, summed over threads).
  // Split into user and sys in the proportion /proc/PID/stat gives (ticks).
  server_cpu out;
  for (std::size_t i = 0; i < o.pids.size(); ++i) {
    json p{{"pid", o.pids[i]}, {"rss_kib", rss[i]}};
    double u = 0, s = 0;
    if (edges.cpu0[i] && edges.cpu1[i]) {
      u = edges.cpu1[i]->user_s - edges.cpu0[i]->user_s;
      s = edges.cpu1[i]->sys_s - edges.cpu0[i]->sys_s;
      p["stat_user_s"] = u;
      p["stat_sys_s"] = s;
    }
    double tot = (total_ns(edges.thr1[i]) - total_ns(edges.thr0[i])) / 1e9;
    if (edges.thr1[i].empty())
      tot = u + s;
    double uf = u + s > 0 ? u / (u + s) : 0.5;
    out.total += tot;
    out.user += tot * uf;
    out.sys += tot * (1 - uf);
    p["cpu_s"] = tot;
    json per_thread = json::array();
    std::vector<std::pair<double, json>> ts;
    for (const auto& t1 : edges.thr1[i]) {
      std::int64_t before = 0;
      for (const auto& t0 : edges.thr0[i])
        if (t0.tid == t1.tid)
          before = t0.ns;
      ts.emplace_back((t1.ns - before) / 1e9,
                      json{{"tid", t1.tid}, {"comm", t1.comm}, {"cpu_s", (t1.ns - before) / 1e9}});
    }
    std::sort(ts.begin(), ts.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (auto& [_, t] : ts)
      per_thread.push_back(t);
    p["threads"] = per_thread;
    out.per_pid.push_back(p);
  }
  return out;
}

using metrics_by_node = std::map<std::string, std::map<std::string, double>>;

/// The nodes' counters: deltas from the start of the window to after the
/// drain, per node and summed, and what they say per fan-out.
void add_node_counters(json& j, const options& o, metrics_by_node& m0, metrics_by_node& m1) {
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
}

/// What the workers counted, summed; read after their threads ended.
struct totals {
  std::int64_t sent = 0, acked = 0, expected = 0, unique = 0, deliveries = 0, dups = 0, reordered = 0;
  std::int64_t window_deliveries = 0, window_sent = 0, dup_acks = 0, unparsed = 0, closed = 0, remote_sum = 0;
  std::int64_t gaps = 0, frames_in = 0;
  std::vector<std::int64_t> lat, ack_lat;
  std::map<std::string, std::int64_t> errors, closes;
};

totals aggregate(const std::vector<std::unique_ptr<worker>>& workers) {
  totals t;
  for (auto& w : workers) {
    t.sent += w->sent;
    t.acked += w->acks;
    t.expected += w->expected;
    t.unique += w->unique;
    t.deliveries += w->deliveries;
    t.dups += w->dups;
    t.reordered += w->reordered;
    t.window_deliveries += w->window_deliveries;
    t.window_sent += w->window_sent;
    t.dup_acks += w->dup_acks;
    t.unparsed += w->unparsed;
    t.closed += w->closed_by_server;
    t.remote_sum += w->remote_nodes_sum;
    t.frames_in += w->frames_in;
    t.lat.insert(t.lat.end(), w->lat_ns.begin(), w->lat_ns.end());
    t.ack_lat.insert(t.ack_lat.end(), w->ack_lat_ns.begin(), w->ack_lat_ns.end());
    for (auto& [k, v] : w->errors)
      t.errors[k] += v;
    for (auto& [k, v] : w->close_reasons)
      t.closes[k] += v;
    for (auto& c : w->clients)
      for (auto& ps : c->seen)
        for (std::int64_t q = 1; q < ps.max_q; ++q)
          t.gaps += ps.got[q] ? 0 : 1;
  }
  return t;
}

using workers_t = std::vector<std::unique_ptr<worker>>;

/// The clients, spread over --threads workers; every --clients/--senders-th
/// client is a sender.
workers_t make_workers(const options& o, const layout& lay) {
  workers_t workers;
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
  return workers;
}

template <class Member>
std::int64_t sum_of(const workers_t& workers, Member member) {
  std::int64_t n = 0;
  for (auto& w : workers)
    n += ((*w).*member).load();
  return n;
}

// Settle: at least --settle, and until the presence storm of the joins is
// over (no frame for 300 ms), at most 15 s.
void settle(const options& o, const workers_t& workers) {
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
}

// The end snapshot of the counters waits for the deliveries in flight, so
// that "per fan-out" compares whole fan-outs.
// Lost means never came: wait for stragglers as long as deliveries keep
// arriving (a server that fell behind is slow, not lossy), until nothing
// has moved for --drain seconds, at most 60 s.
double drain(const options& o, const workers_t& workers) {
  auto sum = [&](auto member) { return sum_of(workers, member); };
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
  return (now_ns() - t_drain0) / 1e9;
}

} // namespace

int run_fanout(const options& o) {
  layout lay{o.clients, o.rooms, static_cast<int>(o.endpoints.size()), o.placement};
  auto workers = make_workers(o, lay);
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : workers) {
    guards.emplace_back(w->ioc.get_executor());
    asio::post(w->ioc, [wp = w.get()] { wp->connect_more(); });
    threads.emplace_back([wp = w.get()] { wp->ioc.run(); });
  }
  auto sum = [&](auto member) { return sum_of(workers, member); };
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
  settle(o, workers);
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
  auto drain_s = drain(o, workers);
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

  auto t = aggregate(workers);
  double window_s = (real1 - real0) / 1e9;
  auto cpu = measure_server_cpu(o, {cpu0, cpu1, thr0, thr1}, rss);
  double cpu_user = cpu.user, cpu_sys = cpu.sys, cpu_total = cpu.total;
  const auto& per_pid = cpu.per_pid;
  double per_del = t.window_deliveries > 0 ? 1e6 / t.window_deliveries : 0;
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
  j["sent"] = t.sent;
  j["acked"] = t.acked;
  j["expected"] = t.expected;
  j["delivered"] = t.deliveries;
  j["unique"] = t.unique;
  j["lost"] = t.expected - t.unique;
  j["duplicated"] = t.dups;
  j["gaps"] = t.gaps;
  j["reordered"] = t.reordered;
  j["dup_acks"] = t.dup_acks;
  j["unparsed"] = t.unparsed;
  j["closed_by_server"] = t.closed;
  j["close_reasons"] = t.closes;
  j["errors"] = t.errors;
  j["frames_in_before_send"] = frames_before;
  j["window"] = {{"seconds", window_s},
                 {"sent", t.window_sent},
                 {"deliveries", t.window_deliveries},
                 {"deliveries_per_s", t.window_deliveries / window_s},
                 {"offered_deliveries_per_s", o.rate * (t.sent > 0 ? double(t.expected) / t.sent : 0)}};
  j["latency_us"] = percentiles_us(t.lat);
  j["ack_latency_us"] = percentiles_us(t.ack_lat);
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
  add_node_counters(j, o, m0, m1);
  j["remote_nodes_with_recipients_per_fanout"] = t.sent > 0 ? double(t.remote_sum) / t.sent : 0.0;
  j["remote_nodes_per_fanout"] = static_cast<double>(o.endpoints.size() - 1);

  write_json(o, j);
  if (!o.quiet) {
    const auto& l = j["latency_us"];
    auto num = [](const json& v) { return v.is_null() ? std::string("-") : fmt(v.get<double>(), 0); };
    std::cout << o.label << " " << o.scenario << ": sent " << t.sent << " acked " << t.acked << " delivered "
              << t.deliveries << " (unique " << t.unique << "/" << t.expected << ") lost " << t.expected - t.unique
              << " dup " << t.dups << " gaps " << t.gaps << "\n"
              << "  window " << fmt(window_s, 2) << " s: " << fmt(t.window_deliveries / window_s, 0)
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
    if (!t.errors.empty() || t.closed)
      std::cout << "  errors " << json(t.errors).dump() << " closed " << json(t.closes).dump() << "\n";
  }
  return ready == o.clients ? 0 : 1;
}

} // namespace loadgen
