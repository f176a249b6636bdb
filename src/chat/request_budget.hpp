#pragma once

// Rate budgets of one connection for the frames other than `message` (whose
// budget is the protocol's `rate_per_s`/`burst`). Each type that makes the
// node work has its own bucket, sized so that a person using the page never
// meets it and a script cannot turn one connection into cluster-wide load:
// subscribe/unsubscribe change cluster-wide groups (a broadcast to every
// node) and count per room; typing and read fan out to a whole room.

#include <array>

#include "chat/token_bucket.hpp"

namespace chat {

enum class budget_kind { subscribe, unsubscribe, typing, read, history, ping };

struct budget_rate {
  double per_s;
  double burst;
};

/// The rates, in budget_kind order (documented in docs/protocol.md).
constexpr std::array<budget_rate, 6> budget_rates = {{
  {10, 60},  // subscribe, per room
  {10, 60},  // unsubscribe, per room
  {5, 10},   // typing
  {20, 40},  // read
  {5, 20},   // history (scrollback): reads up to 100 messages from disk
  {50, 200}, // ping: answered to the sender only, so generous
}};

class request_budget {
public:
  explicit request_budget(token_bucket::clock::time_point now);

  /// Takes `n` tokens of kind `k`; false (nothing taken) when there are fewer.
  bool take(budget_kind k, token_bucket::clock::time_point now, double n = 1.0);

private:
  std::array<token_bucket, budget_rates.size()> buckets_;
};

} // namespace chat
