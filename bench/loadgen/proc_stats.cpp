#include "loadgen/proc_stats.hpp"

namespace loadgen {

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

} // namespace loadgen
