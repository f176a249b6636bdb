#include "net/server_context.hpp"

namespace chat::net {

void session_registry::add(const std::string& id, std::weak_ptr<websocket_session> s) {
  std::lock_guard<std::mutex> guard{mtx_};
  sessions_[id] = std::move(s);
}

void session_registry::remove(const std::string& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  sessions_.erase(id);
}

std::shared_ptr<websocket_session> session_registry::find(const std::string& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.lock();
}

std::vector<std::shared_ptr<websocket_session>> session_registry::all() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::shared_ptr<websocket_session>> out;
  for (const auto& [id, w] : sessions_)
    if (auto s = w.lock())
      out.push_back(std::move(s));
  return out;
}

} // namespace chat::net
