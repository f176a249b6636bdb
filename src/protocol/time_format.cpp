#include "protocol/time_format.hpp"

#include <cstdio>
#include <ctime>

namespace chat::protocol {

std::string format_ts(std::int64_t micros) {
  auto secs = static_cast<std::time_t>(micros / 1000000);
  auto frac = static_cast<long>(micros % 1000000);
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96]; // room for any int the fields could hold, so nothing is cut
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

} // namespace chat::protocol
