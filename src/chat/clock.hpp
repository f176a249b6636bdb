#pragma once

// Message timestamps and ids. A hybrid logical clock keeps a node's
// timestamps strictly increasing and never behind anything it has seen from a
// peer, so a reply is always ordered after what it answers, on every node.

#include <cstdint>
#include <functional>
#include <string>

namespace chat {

/// Microseconds since the Unix epoch from the system clock.
std::int64_t wall_micros();

class hlc {
public:
  using wall_fn = std::function<std::int64_t()>;

  explicit hlc(wall_fn wall = wall_micros) : wall_(std::move(wall)) {}

  /// A timestamp greater than every one returned or observed before.
  std::int64_t now();

  /// Takes in a timestamp from elsewhere (a peer's message).
  void observe(std::int64_t ts);

private:
  wall_fn wall_;
  std::int64_t last_ = 0;
};

/// Message ids: the timestamp in fixed-width hex, then the node name and a
/// per-process nonce, so ids stay unique across nodes and restarts.
class id_generator {
public:
  explicit id_generator(std::string node, std::uint32_t nonce);
  std::string next(std::int64_t ts) const;

private:
  std::string suffix_;
};

std::uint32_t random_nonce();

} // namespace chat
