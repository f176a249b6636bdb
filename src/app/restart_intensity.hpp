#pragma once

#include <chrono>
#include <cstddef>
#include <deque>

namespace chat {

/// OTP's restart intensity: at most `max_restarts` in any `window`. One more
/// means something is broken for good, and the supervisor gives up.
class restart_intensity {
public:
  using clock = std::chrono::steady_clock;

  restart_intensity(std::size_t max_restarts, clock::duration window) : max_(max_restarts), window_(window) {}

  /// Records a restart at `now`; false when it exceeds the intensity.
  bool allow(clock::time_point now) {
    while (!times_.empty() && now - times_.front() > window_)
      times_.pop_front();
    times_.push_back(now);
    return times_.size() <= max_;
  }

private:
  std::size_t max_;
  clock::duration window_;
  std::deque<clock::time_point> times_;
};

} // namespace chat
