#include "loadgen/modes.hpp"

using namespace loadgen;

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  auto o = parse_options(argc, argv);
  try {
    return o.mode == "fanout" ? run_fanout(o) : run_idle(o);
  } catch (const std::exception& e) { die(e.what()); }
}
