#pragma once

#include <chrono>

namespace chat {

/// A rate limit. Starts full; refills continuously at `rate`
/// tokens per second up to `burst`.
class token_bucket {
public:
  using clock = std::chrono::steady_clock;

  token_bucket(double rate_per_s, double burst, clock::time_point now);

  /// Takes `n` tokens if there are that many; else takes none.
  bool try_take(clock::time_point now, double n = 1.0);

  /// Gives back a token taken for a publish that turned out to be a retry.
  void refund();

  double tokens(clock::time_point now);

private:
  void refill(clock::time_point now);

  double rate_;
  double burst_;
  double tokens_;
  clock::time_point last_;
};

} // namespace chat
