#include "chat/window_cache.hpp"

#include "chat/history_store.hpp"

namespace chat {

window_cache::room& window_cache::get(const std::string& name) {
  auto [it, fresh] = rooms_.try_emplace(name, window_);
  it->second.last_use = ++use_clock_;
  if (fresh) {
    for (const auto& m : load_(name, window_))
      it->second.history.insert(m);
    bytes_ += it->second.history.bytes();
    shrink(name);
  }
  return it->second;
}

void window_cache::changed(const std::string& name, std::size_t bytes_before) {
  auto it = rooms_.find(name);
  if (it == rooms_.end())
    return;
  bytes_ += it->second.history.bytes();
  bytes_ -= bytes_before;
  shrink(name);
}

void window_cache::forget(const std::string& name) {
  auto it = rooms_.find(name);
  if (it == rooms_.end())
    return;
  bytes_ -= it->second.history.bytes();
  rooms_.erase(it);
}

std::map<std::string, std::size_t> window_cache::sizes() const {
  std::map<std::string, std::size_t> out;
  for (const auto& [name, r] : rooms_)
    out.emplace(name, r.history.size());
  return out;
}

std::vector<std::string> window_cache::by_last_use() const {
  std::vector<std::pair<std::uint64_t, std::string>> uses;
  for (const auto& [name, r] : rooms_)
    uses.emplace_back(r.last_use, name);
  return least_recently_used_first(std::move(uses));
}

void window_cache::shrink(const std::string& keep) {
  while (bytes_ > max_bytes_ && rooms_.size() > 1) {
    auto victim = rooms_.end();
    for (auto it = rooms_.begin(); it != rooms_.end(); ++it)
      if (it->first != keep && (victim == rooms_.end() || it->second.last_use < victim->second.last_use))
        victim = it;
    if (victim == rooms_.end())
      return;
    bytes_ -= victim->second.history.bytes();
    rooms_.erase(victim);
  }
}

} // namespace chat
