#include "chat/token_bucket.hpp"

#include <algorithm>

namespace chat {

token_bucket::token_bucket(double rate_per_s, double burst, clock::time_point now)
  : rate_(rate_per_s), burst_(burst), tokens_(burst), last_(now) {}

void token_bucket::refill(clock::time_point now) {
  if (now <= last_)
    return;
  std::chrono::duration<double> dt = now - last_;
  tokens_ = std::min(burst_, tokens_ + dt.count() * rate_);
  last_ = now;
}

bool token_bucket::try_take(clock::time_point now, double n) {
  refill(now);
  if (tokens_ < n)
    return false;
  tokens_ -= n;
  return true;
}

void token_bucket::refund() { tokens_ = std::min(burst_, tokens_ + 1.0); }

double token_bucket::tokens(clock::time_point now) {
  refill(now);
  return tokens_;
}

} // namespace chat
