// Command-line flags: the input is argv, one argument per line. parse_config
// never throws, and a configuration it accepts is one a node can run with.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

#include "app/config.hpp"
#include "fuzz_check.hpp"
#include "protocol/names.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Only the input decides: no CHAT_* variable of the fuzzing shell.
  for (char** e = environ; *e;)
    if (std::string(*e).rfind("CHAT_", 0) == 0)
      unsetenv(std::string(*e, std::string(*e).find('=')).c_str());
    else
      ++e;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"chatd"};
  for (std::size_t start = 0; start <= in.size() && args.size() < 64;) {
    auto nl = in.find('\n', start);
    args.push_back(in.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos)
      break;
    start = nl + 1;
  }
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  chat::config cfg;
  bool help = false;
  auto err = chat::parse_config(static_cast<int>(args.size()), argv.data(), cfg, help);
  if (err) {
    FUZZ_CHECK(!err->empty());
    return 0;
  }
  if (help)
    return 0;
  FUZZ_CHECK(chat::protocol::valid_user(cfg.node_name));
  FUZZ_CHECK(cfg.http_port != 0 && cfg.cluster_port != 0);
  FUZZ_CHECK(cfg.threads >= 1 && cfg.threads <= 64);
  FUZZ_CHECK(cfg.history >= 1 && cfg.max_rooms >= 1 && cfg.max_text_chars >= 1);
  FUZZ_CHECK(cfg.max_frame_bytes >= 256 && cfg.max_queue_bytes >= 1024);
  FUZZ_CHECK(cfg.rate_per_s > 0 && cfg.burst >= 1);
  FUZZ_CHECK(cfg.discovery_interval_ms >= 50 && cfg.peer_timeout_ms >= 500 && cfg.drain_grace_ms >= 0);
  FUZZ_CHECK(cfg.max_connections >= 1 && cfg.max_node_rooms >= 1);
  int tls = !cfg.cluster_tls_cert.empty() + !cfg.cluster_tls_key.empty() + !cfg.cluster_tls_ca.empty();
  FUZZ_CHECK(tls == 0 || tls == 3);
  FUZZ_CHECK(!cfg.advertise_addr.empty() || cfg.cluster_addr.empty());
  return 0;
}
