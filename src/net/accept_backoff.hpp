#pragma once

// How the accept loop waits and reports when accept() keeps failing. Out of
// descriptors (or memory), accept fails at once for as long as it lasts:
// trying again at once only spins and floods the log.

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace chat::net {

class accept_backoff {
public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds first{50};
  static constexpr std::chrono::milliseconds max{1000};
  static constexpr std::chrono::seconds log_every{1};

  struct step {
    std::chrono::milliseconds wait; ///< before the next accept; 0: at once
    bool log;                       ///< report now, with `count`
    std::uint64_t count;            ///< failures since the last report, this one included
  };

  /// One failed accept at `now`; `shortage`: a lack of descriptors or memory
  /// (waits, doubling from `first` to `max`), else one bad connection (no wait).
  step failed(clock::time_point now, bool shortage) {
    ++count_;
    if (shortage)
      wait_ = wait_.count() == 0 ? first : std::min(wait_ * 2, max);
    step s{shortage ? wait_ : std::chrono::milliseconds{0}, false, count_};
    if (!logged_ || now - last_log_ >= log_every) {
      logged_ = true;
      last_log_ = now;
      s.log = true;
      count_ = 0;
    }
    return s;
  }

  /// An accepted connection: the wait starts over. True when it had been
  /// waiting (worth saying that accepting works again).
  bool succeeded() {
    bool was = wait_.count() > 0;
    wait_ = std::chrono::milliseconds{0};
    count_ = 0;
    return was;
  }

private:
  std::chrono::milliseconds wait_{0};
  std::uint64_t count_ = 0;
  bool logged_ = false;
  clock::time_point last_log_{};
};

} // namespace chat::net
