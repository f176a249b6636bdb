#include "loadgen/client.hpp"
#include "loadgen/modes.hpp"
#include "loadgen/proc_stats.hpp"
#include "loadgen/results.hpp"

namespace loadgen {

namespace {

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

} // namespace

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

} // namespace loadgen
