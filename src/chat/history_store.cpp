#include "chat/history_store.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "protocol/names.hpp"

namespace chat {

namespace {

/// Ids order a room's messages as history does: they start with the
/// message's ts in fixed-width hex (see id_generator).
bool history_after_id(const message& m, const std::string& id) { return m.id > id; }

class memory_store final : public history_store {
public:
  memory_store(std::size_t per_room, std::int64_t overlap) : per_room_(per_room), overlap_(overlap) {}

  room_history::insert_result insert(const message& m) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = rooms_.try_emplace(m.room, per_room_).first;
    touch(m.room);
    auto r = it->second.insert(m);
    if (r == room_history::insert_result::added)
      if (auto parties = protocol::dm_parties(m.room))
        for (auto user : {parties->first, parties->second}) {
          auto& last = conversations_[std::string(user)][m.room];
          last = std::max(last, m.id);
        }
    return r;
  }

  bool contains(const std::string& room, const std::string& id) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = rooms_.find(room);
    return it != rooms_.end() && it->second.contains(id);
  }

  std::vector<conversation_ref> conversations(const std::string& user, std::size_t max) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<conversation_ref> out;
    if (auto it = conversations_.find(user); it != conversations_.end())
      for (const auto& [room, last] : it->second)
        out.push_back({room, last});
    return newest_first(std::move(out), max);
  }

  std::string read_mark_of(const std::string& room, const std::string& user) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = marks_.find({room, user});
    return it == marks_.end() ? std::string{} : it->second;
  }

  mark_result merge_read_mark(const read_mark& m) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& id = marks_[{m.room, m.user}];
    if (m.id <= id)
      return mark_result::unchanged;
    id = m.id;
    return mark_result::moved;
  }

  std::vector<read_mark> read_marks(const std::string& after_room, const std::string& after_user,
                                    std::size_t max) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<read_mark> out;
    for (auto it = marks_.upper_bound({after_room, after_user}); it != marks_.end() && out.size() < max; ++it)
      out.push_back({it->first.first, it->first.second, it->second});
    return out;
  }

  std::vector<message> window(const std::string& room) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = rooms_.find(room);
    if (it == rooms_.end())
      return {};
    touch(room);
    return it->second.window();
  }

  room_history::resume since(const std::string& room, const std::string& id) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = rooms_.find(room);
    if (it == rooms_.end())
      return {{}, true};
    touch(room);
    return it->second.since(id, overlap_);
  }

  std::optional<message> find_retry(const std::string& room, const std::string& user,
                                    const std::string& client_id) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = rooms_.find(room);
    if (it == rooms_.end())
      return std::nullopt;
    if (auto* m = it->second.find_retry(user, client_id))
      return *m;
    return std::nullopt;
  }

  scrollback before(const std::string& room, const std::string& id, std::size_t limit) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = rooms_.find(room);
    if (it == rooms_.end())
      return {};
    touch(room);
    auto page = it->second.before(id, limit);
    if (!page)
      return {};
    return {true, std::move(page->messages), page->more};
  }

  profile profile_of(const std::string& user) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = profiles_.find(user);
    return it == profiles_.end() ? profile{user, {}, {}, 0, {}} : it->second;
  }

  mark_result merge_profile(const profile& p) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& kept = profiles_[p.user];
    if (!written_after(p, kept))
      return mark_result::unchanged;
    kept = p;
    return mark_result::moved;
  }

  std::vector<profile> profiles(const std::string& after_user, std::size_t max) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<profile> out;
    for (auto it = profiles_.upper_bound(after_user); it != profiles_.end() && out.size() < max; ++it)
      out.push_back(it->second);
    return out;
  }

  room_marks marks() const override {
    std::lock_guard<std::mutex> guard{mtx_};
    room_marks out;
    for (const auto& [room, h] : rooms_)
      out.emplace(room, h.max_ts());
    return out;
  }

  // Only windows are held here: a peer gets all of each, whatever it has.
  pull_page pull(const room_marks&, const std::string& from_room, const std::string& after_id,
                 std::size_t max) const override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::map<std::string, const room_history*> sorted;
    for (const auto& [room, h] : rooms_)
      if (room >= from_room)
        sorted.emplace(room, &h);
    pull_page out;
    for (const auto& [room, h] : sorted) {
      for (const auto& m : h->window()) {
        if (room == from_room && !after_id.empty() && !history_after_id(m, after_id))
          continue;
        if (out.messages.size() == max) {
          out.done = false;
          out.next_room = room;
          out.next_id = out.messages.back().room == room ? out.messages.back().id : std::string{};
          return out;
        }
        out.messages.push_back(m);
      }
    }
    return out;
  }

  std::map<std::string, std::size_t> sizes() const override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::map<std::string, std::size_t> out;
    for (const auto& [room, h] : rooms_)
      out.emplace(room, h.size());
    return out;
  }

  std::int64_t max_ts() const override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::int64_t ts = 0;
    for (const auto& [room, h] : rooms_)
      ts = std::max(ts, h.max_ts());
    return ts;
  }

  std::size_t room_count() const override {
    std::lock_guard<std::mutex> guard{mtx_};
    return rooms_.size();
  }

  std::vector<std::string> rooms_by_last_use() const override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::pair<std::uint64_t, std::string>> by_use;
    for (const auto& [room, _] : rooms_) {
      auto t = last_use_.find(room);
      by_use.emplace_back(t == last_use_.end() ? 0 : t->second, room);
    }
    return least_recently_used_first(std::move(by_use));
  }

  void evict(const std::string& room) override {
    std::lock_guard<std::mutex> guard{mtx_};
    rooms_.erase(room);
    last_use_.erase(room);
  }

private:
  void touch(const std::string& room) const { last_use_[room] = ++use_clock_; }

  mutable std::mutex mtx_;
  mutable std::uint64_t use_clock_ = 0;
  mutable std::unordered_map<std::string, std::uint64_t> last_use_;
  std::size_t per_room_;
  std::int64_t overlap_;
  std::unordered_map<std::string, room_history> rooms_;
  /// By user: their DM rooms and each one's newest id. Kept when a room's
  /// history is evicted (its conversation then shows once it has messages again).
  std::unordered_map<std::string, std::map<std::string, std::string>> conversations_;
  std::map<std::pair<std::string, std::string>, std::string> marks_; ///< (room, user) -> id
  std::map<std::string, profile> profiles_;
};

} // namespace

std::vector<std::string> least_recently_used_first(std::vector<std::pair<std::uint64_t, std::string>> uses) {
  std::sort(uses.begin(), uses.end());
  std::vector<std::string> out;
  out.reserve(uses.size());
  for (auto& [_, room] : uses)
    out.push_back(std::move(room));
  return out;
}

std::vector<conversation_ref> newest_first(std::vector<conversation_ref> all, std::size_t max) {
  std::sort(all.begin(), all.end(), [](const conversation_ref& a, const conversation_ref& b) {
    return std::tie(a.last_id, a.room) > std::tie(b.last_id, b.room);
  });
  if (all.size() > max)
    all.resize(max);
  return all;
}

std::shared_ptr<history_store> make_memory_store(std::size_t per_room, std::int64_t resume_overlap_us) {
  return std::make_shared<memory_store>(per_room, resume_overlap_us);
}

} // namespace chat
