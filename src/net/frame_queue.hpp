#pragma once

#include <cstddef>
#include <vector>

#include "protocol/frames.hpp"

namespace chat::net {

/// A session's outgoing frames, first in first out. Not a std::deque: that
/// allocates its 512-byte block and its map when it is made, so every idle
/// connection paid for them. This holds nothing until a frame waits, and
/// gives back what a burst made it grow once it has drained.
class frame_queue {
public:
  bool empty() const { return head_ == frames_.size(); }
  std::size_t size() const { return frames_.size() - head_; }

  const protocol::frame_ptr& front() const { return frames_[head_]; }
  const protocol::frame_ptr& back() const { return frames_.back(); }

  void push_back(protocol::frame_ptr frame) { frames_.push_back(std::move(frame)); }

  void pop_front() {
    frames_[head_++].reset();
    if (empty())
      drained();
    else if (head_ >= kept_capacity && head_ * 2 >= frames_.size())
      compact();
  }

  void pop_back() {
    frames_.pop_back();
    if (empty())
      drained();
  }

  std::size_t capacity() const { return frames_.capacity(); }

  /// Frames a queue may keep room for once empty: the few a busy room
  /// keeps coming, not a burst's worth.
  static constexpr std::size_t kept_capacity = 16;

private:
  /// A queue that never empties (a steady stream to a busy client) would
  /// otherwise grow by every frame it ever held: the written half goes, in
  /// one move of the rest, so each frame is moved at most once on average.
  void compact() {
    frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }

  void drained() {
    frames_.clear();
    head_ = 0;
    if (frames_.capacity() > kept_capacity)
      std::vector<protocol::frame_ptr>().swap(frames_);
  }

  std::vector<protocol::frame_ptr> frames_;
  std::size_t head_ = 0; ///< frames before it are written and released
};

} // namespace chat::net
