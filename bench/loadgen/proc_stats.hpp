#pragma once

// What the servers cost, read from the outside: CPU (/proc/PID/stat and each
// thread's schedstat), memory and fds (/proc/PID/status, /proc/PID/fd), and
// their /metrics counters.

#include "loadgen/options.hpp"

namespace loadgen {

struct proc_cpu {
  double user_s = 0;
  double sys_s = 0;
};
struct thread_cpu {
  int tid;
  std::string comm;
  std::int64_t ns;
};

std::optional<proc_cpu> read_cpu(int pid);
std::vector<thread_cpu> read_threads(int pid);
std::int64_t total_ns(const std::vector<thread_cpu>& ts);
std::int64_t read_status_kib(int pid, const char* key);
int count_fds(int pid);
std::int64_t fd_soft_limit(int pid);
proc_cpu self_cpu();
std::map<std::string, double> read_metrics(const std::string& hostport);

} // namespace loadgen
