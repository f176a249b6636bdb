// Peer endpoints ("host:port", "[v6]:port", a bare host or bare IPv6):
// parse_endpoint never throws, and whatever it accepts (non-empty host) a
// strict reading of that grammar accepts too, with the same host and port.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "cluster/discovery.hpp"
#include "fuzz_check.hpp"

using chat::cluster::endpoint;

namespace {

std::optional<std::uint16_t> strict_port(const std::string& s) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  auto v = std::stoul(s);
  if (v == 0 || v > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::optional<endpoint> strict(const std::string& text, std::uint16_t default_port) {
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos)
      return std::nullopt;
    auto host = text.substr(1, close - 1);
    auto tail = text.substr(close + 1);
    if (tail.empty())
      return endpoint{host, default_port};
    if (tail.front() != ':')
      return std::nullopt;
    auto port = strict_port(tail.substr(1));
    if (!port)
      return std::nullopt;
    return endpoint{host, *port};
  }
  auto colon = text.find(':');
  if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos)
    return endpoint{text, default_port}; // a host, or a bare IPv6 address
  auto port = strict_port(text.substr(colon + 1));
  if (!port)
    return std::nullopt;
  return endpoint{text.substr(0, colon), *port};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  std::uint16_t default_port = data[0] == 0 ? 9100 : data[0];
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto ep = chat::cluster::parse_endpoint(text, default_port);
  if (ep.host.empty())
    return 0;
  FUZZ_CHECK(ep.port != 0);
  auto want = strict(text, default_port);
  FUZZ_CHECK(want.has_value());
  FUZZ_CHECK(want->host == ep.host && want->port == ep.port);
  // The key names the same endpoint again.
  if (ep.host.find_first_of("[]") == std::string::npos) {
    auto back = chat::cluster::parse_endpoint(ep.key(), 1);
    FUZZ_CHECK(back.host == ep.host && back.port == ep.port);
  }
  return 0;
}
