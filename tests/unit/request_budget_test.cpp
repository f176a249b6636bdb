// chat/request_budget: per-type rate budgets of a connection.

#include <doctest/doctest.h>

#include "chat/request_budget.hpp"

using chat::budget_kind;
using chat::budget_rates;
using chat::request_budget;
using chat::token_bucket;
using namespace std::chrono_literals;

namespace {

const token_bucket::clock::time_point t0{std::chrono::seconds(1000)};

int take_all(request_budget& b, budget_kind k, token_bucket::clock::time_point at) {
  int n = 0;
  while (b.take(k, at) && n < 1'000'000)
    ++n;
  return n;
}

double burst_of(budget_kind k) { return budget_rates[static_cast<std::size_t>(k)].burst; }

} // namespace

TEST_CASE("each frame type has its own budget, starting full") {
  for (auto k :
       {budget_kind::subscribe, budget_kind::unsubscribe, budget_kind::typing, budget_kind::read, budget_kind::ping}) {
    request_budget b{t0};
    CAPTURE(static_cast<int>(k));
    CHECK(take_all(b, k, t0) == static_cast<int>(burst_of(k)));
    CHECK_FALSE(b.take(k, t0));
  }
}

TEST_CASE("spending one type leaves the others untouched") {
  request_budget b{t0};
  take_all(b, budget_kind::typing, t0);
  CHECK_FALSE(b.take(budget_kind::typing, t0));
  CHECK(b.take(budget_kind::read, t0));
  CHECK(b.take(budget_kind::ping, t0));
  CHECK(b.take(budget_kind::subscribe, t0));
}

TEST_CASE("a subscribe of n rooms costs n, all or nothing") {
  request_budget b{t0};
  double burst = burst_of(budget_kind::subscribe);
  CHECK(b.take(budget_kind::subscribe, t0, burst - 5));
  CHECK_FALSE(b.take(budget_kind::subscribe, t0, 6)); // more rooms than tokens: none taken
  CHECK(b.take(budget_kind::subscribe, t0, 5));
  CHECK_FALSE(b.take(budget_kind::subscribe, t0, 1));
}

TEST_CASE("budgets refill at their rate") {
  request_budget b{t0};
  take_all(b, budget_kind::typing, t0);
  auto per_s = budget_rates[static_cast<std::size_t>(budget_kind::typing)].per_s;
  CHECK(take_all(b, budget_kind::typing, t0 + 1s) == static_cast<int>(per_s));
}

// Scrollback reads up to 100 messages from disk per request: its budget is
// documented (docs/protocol.md, "Rate limits") as 5 per second, burst 20.
TEST_CASE("history (scrollback): a burst of 20, then 5 per second, apart from the other budgets") {
  request_budget b{t0};
  CHECK(take_all(b, budget_kind::history, t0) == 20);
  CHECK_FALSE(b.take(budget_kind::history, t0 + 100ms));
  CHECK(b.take(budget_kind::read, t0));
  CHECK(b.take(budget_kind::ping, t0));
  CHECK(take_all(b, budget_kind::history, t0 + 1s) == 5);
  CHECK(take_all(b, budget_kind::history, t0 + 1s + 250ms) == 1);
  // Idle for long, it holds a burst again, not more.
  CHECK(take_all(b, budget_kind::history, t0 + 1h) == 20);
}

TEST_CASE("the rates let a person through and stop a script") {
  // The page sends typing at most every 3 s; a script cycling rooms or
  // typing in a loop meets the bound within a second.
  for (const auto& r : budget_rates) {
    CHECK(r.per_s >= 1);
    CHECK(r.per_s <= 50);
    CHECK(r.burst >= r.per_s);
  }
}
