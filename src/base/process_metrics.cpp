#include "base/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

namespace chat {

namespace {

prometheus::MetricFamily one(const char* name, const char* help, prometheus::MetricType type, double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  return {name, help, type, {m}};
}

/// The fields of /proc/self/stat after the command name, from field 3
/// (state) on: the name is in parentheses and may hold spaces.
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> out;
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return out;
  std::istringstream rest(line.substr(close + 1));
  for (std::string f; rest >> f;)
    out.push_back(f);
  return out;
}

/// Seconds since the epoch when this process started: its start in clock
/// ticks after boot, plus the boot time.
double start_time_seconds() {
  auto fields = stat_fields();
  constexpr std::size_t starttime = 22 - 3; // field 22, counted from field 3
  if (fields.size() <= starttime)
    return 0;
  std::ifstream in("/proc/stat");
  double boot = 0;
  for (std::string key; in >> key;) {
    if (key == "btime") {
      in >> boot;
      break;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return boot + std::stod(fields[starttime]) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec))
    ++n;
  return n > 0 ? n - 1 : 0; // less the one this listing holds open
}

} // namespace

std::vector<prometheus::MetricFamily> process_metrics() {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  out.push_back(one("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", MetricType::Counter,
                    secs(ru.ru_utime) + secs(ru.ru_stime)));
  double pages_virtual = 0, pages_resident = 0;
  std::ifstream("/proc/self/statm") >> pages_virtual >> pages_resident;
  auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  out.push_back(
    one("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge, pages_resident * page));
  out.push_back(
    one("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge, pages_virtual * page));
  out.push_back(one("process_open_fds", "Open file descriptors.", MetricType::Gauge, open_fds()));
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  out.push_back(one("process_max_fds", "The limit on open file descriptors.", MetricType::Gauge,
                    static_cast<double>(nofile.rlim_cur)));
  static const double started = start_time_seconds();
  out.push_back(one("process_start_time_seconds", "Start time of the process since the epoch, in seconds.",
                    MetricType::Gauge, started));
  return out;
}

} // namespace chat
