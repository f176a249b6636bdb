#include "chat/request_budget.hpp"

namespace chat {

namespace {

token_bucket bucket(std::size_t i, token_bucket::clock::time_point now) {
  return token_bucket{budget_rates[i].per_s, budget_rates[i].burst, now};
}

} // namespace

request_budget::request_budget(token_bucket::clock::time_point now)
  : buckets_{bucket(0, now), bucket(1, now), bucket(2, now), bucket(3, now), bucket(4, now), bucket(5, now)} {}

bool request_budget::take(budget_kind k, token_bucket::clock::time_point now, double n) {
  return buckets_[static_cast<std::size_t>(k)].try_take(now, n);
}

} // namespace chat
