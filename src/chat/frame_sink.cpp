#include "chat/frame_sink.hpp"

#include <mutex>
#include <thread>

#include "chat/messages.hpp"

namespace chat {

void frame_sink::spin_lock::lock() {
  while (flag_.test_and_set(std::memory_order_acquire))
    std::this_thread::yield();
}

bool frame_sink::hold(const std::string& room, std::size_t seen_per_room) {
  std::lock_guard<spin_lock> guard(lock_);
  return rooms_.try_emplace(room, seen_per_room).second;
}

bool frame_sink::release(const std::string& room) {
  std::lock_guard<spin_lock> guard(lock_);
  return rooms_.erase(room) > 0;
}

bool frame_sink::holds(const std::string& room) const {
  std::lock_guard<spin_lock> guard(lock_);
  return rooms_.count(room) > 0;
}

std::size_t frame_sink::rooms_held() const {
  std::lock_guard<spin_lock> guard(lock_);
  return rooms_.size();
}

void frame_sink::deliver(const std::string& room, const std::string& id, const protocol::frame_ptr& frame) {
  std::lock_guard<spin_lock> guard(lock_);
  auto it = rooms_.find(room);
  if (it != rooms_.end() && it->second.add(id))
    send(frame);
}

void frame_sink::push(const std::string& room, const protocol::frame_ptr& frame) {
  std::lock_guard<spin_lock> guard(lock_);
  if (rooms_.count(room))
    send(frame);
}

void frame_sink::mark_sent(const std::string& room, const std::string& id) {
  std::lock_guard<spin_lock> guard(lock_);
  if (auto it = rooms_.find(room); it != rooms_.end())
    it->second.add(id);
}

void frame_sink::open(const std::string& room, const std::vector<message>& history,
                      const protocol::frame_ptr& subscribed, const protocol::frame_ptr& history_frame) {
  std::lock_guard<spin_lock> guard(lock_);
  auto it = rooms_.find(room);
  if (it == rooms_.end())
    return; // unsubscribed meanwhile
  for (const auto& m : history)
    it->second.add(m.id);
  send(subscribed);
  send(history_frame);
}

void open_rooms(frame_sink& sink, const std::vector<room_snapshot>& snaps) {
  for (const auto& snap : snaps)
    sink.open(snap.room, snap.messages,
              std::make_shared<const std::string>(protocol::subscribed_frame(snap.room, snap.members)),
              std::make_shared<const std::string>(protocol::history_frame(snap.room, snap.messages, snap.gap)));
}

} // namespace chat
