#include "net/origin_check.hpp"

#include <algorithm>
#include <cctype>

namespace chat::net {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::optional<std::uint16_t> port_of(std::string_view digits) {
  if (digits.empty() || digits.size() > 5)
    return std::nullopt;
  unsigned v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

/// "host[:port]" (host may be a bracketed IPv6 literal) into host and port.
std::optional<std::pair<std::string, std::uint16_t>> split_authority(std::string_view a, std::uint16_t default_port) {
  if (a.empty() || a.find('@') != std::string_view::npos)
    return std::nullopt;
  std::string_view host = a, port;
  if (a.front() == '[') {
    auto close = a.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    host = a.substr(0, close + 1);
    auto rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return std::nullopt;
      port = rest.substr(1);
      if (port.empty())
        return std::nullopt;
    }
  } else {
    auto colon = a.rfind(':');
    if (colon != std::string_view::npos) {
      host = a.substr(0, colon);
      port = a.substr(colon + 1);
      if (port.empty())
        return std::nullopt;
    }
  }
  if (host.empty())
    return std::nullopt;
  for (unsigned char c : host)
    if (c <= ' ' || c == '/' || c == '?' || c == '#' || c == '\\' || c >= 0x7f)
      return std::nullopt;
  std::uint16_t p = default_port;
  if (!port.empty()) {
    auto parsed = port_of(port);
    if (!parsed)
      return std::nullopt;
    p = *parsed;
  }
  return std::make_pair(lower(host), p);
}

} // namespace

std::optional<std::string> normalize_origin(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return std::nullopt;
  auto scheme = lower(url.substr(0, sep));
  std::uint16_t default_port;
  if (scheme == "http" || scheme == "ws")
    default_port = 80;
  else if (scheme == "https" || scheme == "wss")
    default_port = 443;
  else
    return std::nullopt;
  auto rest = url.substr(sep + 3);
  auto end = rest.find_first_of("/?#");
  auto hp = split_authority(rest.substr(0, end), default_port);
  if (!hp)
    return std::nullopt;
  return scheme + "://" + hp->first + ":" + std::to_string(hp->second);
}

bool origin_allowed(const std::optional<std::string_view>& origin, std::string_view host,
                    const std::vector<std::string>& allowed) {
  if (!origin)
    return true;
  if (std::find(allowed.begin(), allowed.end(), "*") != allowed.end())
    return true;
  auto o = normalize_origin(*origin);
  if (!o)
    return false; // "null" (sandboxed frames, file: pages) or garbage
  if (allowed.empty()) {
    // This node speaks plain HTTP: its own pages are http:// (a ws:// Origin
    // is what some non-browser clients send).
    auto h = split_authority(host, 80);
    if (!h)
      return false;
    auto port = ":" + std::to_string(h->second);
    return *o == "http://" + h->first + port || *o == "ws://" + h->first + port;
  }
  for (const auto& a : allowed)
    if (normalize_origin(a) == o)
      return true;
  return false;
}

bool peer_url_allowed(std::string_view url, const std::vector<std::string>& allowed) {
  auto o = normalize_origin(url);
  if (!o || o->compare(0, 4, "http") != 0)
    return false;
  if (std::find(allowed.begin(), allowed.end(), "*") != allowed.end())
    return true;
  for (const auto& a : allowed)
    if (normalize_origin(a) == o)
      return true;
  return false;
}

} // namespace chat::net
