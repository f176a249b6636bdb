#include <iostream>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "app/config.hpp"
#include "app/node.hpp"
#include "base/build_info.hpp"

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--version") {
    std::cout << "chatd " << chat::build_version << " (commit " << chat::build_commit << ")\n";
    return 0;
  }
  chat::config cfg;
  bool help = false;
  if (auto err = chat::parse_config(argc, argv, cfg, help)) {
    std::cerr << "chatd: " << *err << "\n\n" << chat::config_usage();
    return 2;
  }
  if (help) {
    std::cout << chat::config_usage();
    return 0;
  }
  auto logger = spdlog::stderr_logger_mt("chatd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l node=" + cfg.node_name + " %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  return chat::run_node(cfg);
}
