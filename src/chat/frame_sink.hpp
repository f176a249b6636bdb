#pragma once

#include <cstdint>
#include <string>

#include "protocol/frames.hpp"

namespace chat {

/// Where a connection actor's frames go: the WebSocket session, or a test
/// double. Both calls are thread-safe and never block.
class frame_sink {
public:
  virtual ~frame_sink() = default;
  virtual void send(protocol::frame_ptr frame) = 0;
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// The connection actor finished one inbound frame: a session that paused
  /// reading at its bound of frames in flight may read again.
  virtual void frame_done() = 0;
};

} // namespace chat
