#include "chat/room_history.hpp"

#include <algorithm>

namespace chat {

namespace {

std::size_t footprint(const message& m) {
  return sizeof(message) + m.room.size() + m.id.size() + m.user.size() + m.text.size() + m.client_id.size();
}

} // namespace

room_history::room_history(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {
  entries_.reserve(capacity_ + 1);
}

room_history::insert_result room_history::insert(const message& m) {
  for (const auto& e : entries_)
    if (e.msg.id == m.id)
      return insert_result::duplicate;
  // Two copies of one retry (same user and client_id under two ids) can
  // exist when a stalled node accepts a frame its client already retried
  // elsewhere. Every node keeps the earlier copy, so histories still agree.
  if (!m.client_id.empty()) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->msg.client_id != m.client_id || it->msg.user != m.user)
        continue;
      if (!history_before(m, it->msg))
        return insert_result::duplicate;
      bytes_ -= footprint(it->msg);
      entries_.erase(it);
      break;
    }
  }
  auto pos = std::upper_bound(entries_.begin(), entries_.end(), m,
                              [](const message& x, const entry& e) { return history_before(x, e.msg); });
  if (entries_.size() >= capacity_ && pos == entries_.begin())
    return insert_result::too_old;
  entries_.insert(pos, entry{m, next_arrival_++});
  bytes_ += footprint(m);
  if (entries_.size() > capacity_) {
    bytes_ -= footprint(entries_.front().msg);
    entries_.erase(entries_.begin());
  }
  return insert_result::added;
}

std::vector<message> room_history::window() const {
  std::vector<message> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_)
    out.push_back(e.msg);
  return out;
}

room_history::resume room_history::since(const std::string& id, std::int64_t overlap_us) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.msg.id == id; });
  if (it == entries_.end())
    return {window(), true};
  const auto& mark = *it;
  resume out;
  for (const auto& e : entries_) {
    if (e.msg.id == mark.msg.id)
      continue;
    bool after = history_before(mark.msg, e.msg);
    bool arrived_later = e.arrival > mark.arrival;
    bool near = e.msg.ts + overlap_us >= mark.msg.ts;
    if (after || arrived_later || near)
      out.messages.push_back(e.msg);
  }
  return out;
}

std::optional<room_history::page> room_history::before(const std::string& id, std::size_t limit) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.msg.id == id; });
  if (it == entries_.end())
    return std::nullopt;
  auto n = std::min<std::size_t>(limit, static_cast<std::size_t>(it - entries_.begin()));
  page out;
  for (auto from = it - static_cast<std::ptrdiff_t>(n); from != it; ++from)
    out.messages.push_back(from->msg);
  out.more = it - entries_.begin() > static_cast<std::ptrdiff_t>(n);
  return out;
}

bool room_history::contains(const std::string& id) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const entry& e) { return e.msg.id == id; });
}

void room_history::erase(const std::string& id) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.msg.id == id; });
  if (it != entries_.end()) {
    bytes_ -= footprint(it->msg);
    entries_.erase(it);
  }
}

const message* room_history::find_retry(const std::string& user, const std::string& client_id) const {
  if (client_id.empty())
    return nullptr;
  for (const auto& e : entries_)
    if (e.msg.client_id == client_id && e.msg.user == user)
      return &e.msg;
  return nullptr;
}

} // namespace chat
