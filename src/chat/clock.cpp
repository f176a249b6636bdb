#include "chat/clock.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

namespace chat {

std::int64_t wall_micros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t hlc::now() {
  last_ = std::max(wall_(), last_ + 1);
  return last_;
}

void hlc::observe(std::int64_t ts) { last_ = std::max(last_, ts); }

id_generator::id_generator(std::string node, std::uint32_t nonce) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%06x", nonce & 0xffffffu);
  suffix_ = "-" + node + "-" + buf;
}

std::string id_generator::next(std::int64_t ts) const {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%014llx", static_cast<unsigned long long>(ts));
  return buf + suffix_;
}

std::uint32_t random_nonce() {
  std::random_device rd;
  return rd();
}

} // namespace chat
