#include "chat/store_scans.hpp"

#include <algorithm>

#include "chat/store_keys.hpp"

namespace chat {

namespace keys = store_keys;

namespace {

std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

/// Where a pull starts in `room` for a peer with `theirs`: its newest
/// there less the overlap, or the start of our window if that is earlier;
/// everything we keep if it has nothing of the room.
std::string first_to_send(rocksdb::Iterator& it, const std::string& room, const pull_request& req) {
  auto mark = req.theirs.find(room);
  if (mark == req.theirs.end())
    return keys::room_prefix(room);
  auto by_time = keys::ts_key(room, mark->second - req.overlap_us);
  auto prefix = keys::room_prefix(room);
  std::size_t n = 0;
  std::string window_start = keys::room_end(room);
  for (it.SeekForPrev(keys::room_end(room)); it.Valid() && it.key().starts_with(prefix) && n < req.window;
       it.Prev(), ++n)
    window_start = it.key().ToString();
  return std::min(by_time, window_start);
}

} // namespace

std::optional<message> read_message(const rocksdb::Slice& k, const rocksdb::Slice& v) {
  auto parsed = keys::parse_message_key(view(k));
  if (!parsed)
    return std::nullopt;
  message m;
  m.room = std::string(parsed->room);
  m.id = std::string(parsed->id);
  if (!keys::decode_value(view(v), m))
    return std::nullopt;
  return m;
}

std::vector<message> scan_newest(rocksdb::Iterator& it, const std::string& room, std::size_t n) {
  std::vector<message> out;
  auto prefix = keys::room_prefix(room);
  for (it.SeekForPrev(keys::room_end(room)); it.Valid() && it.key().starts_with(prefix) && out.size() < n; it.Prev())
    if (auto m = read_message(it.key(), it.value()))
      out.push_back(std::move(*m));
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<message> scan_after(rocksdb::Iterator& it, const std::string& room, std::int64_t from_ts,
                                const std::string& except) {
  std::vector<message> out;
  auto end = keys::room_end(room);
  for (it.Seek(keys::ts_key(room, from_ts)); it.Valid() && it.key().compare(end) < 0; it.Next()) {
    auto m = read_message(it.key(), it.value());
    if (m && m->id != except)
      out.push_back(std::move(*m));
  }
  return out;
}

scrollback scan_before(rocksdb::Iterator& it, const std::string& room, const std::string& id, std::size_t limit) {
  scrollback out;
  out.found = true;
  auto prefix = keys::room_prefix(room);
  it.Seek(keys::message_key(room, id));
  for (it.Prev(); it.Valid() && it.key().starts_with(prefix); it.Prev()) {
    if (out.messages.size() == limit) {
      out.more = true;
      break;
    }
    if (auto m = read_message(it.key(), it.value()))
      out.messages.push_back(std::move(*m));
  }
  std::reverse(out.messages.begin(), out.messages.end());
  return out;
}

room_marks scan_marks(rocksdb::Iterator& it) {
  room_marks out;
  for (it.Seek("m"); it.Valid() && it.key().starts_with("m");) {
    auto parsed = keys::parse_message_key(view(it.key()));
    if (!parsed)
      break;
    auto room = std::string(parsed->room);
    auto end = keys::room_end(room);
    it.SeekForPrev(end);
    if (auto m = read_message(it.key(), it.value()))
      out.emplace(room, m->ts);
    it.Seek(end);
  }
  return out;
}

pull_page scan_pull(rocksdb::Iterator& it, const pull_request& req) {
  pull_page out;
  bool first = true;
  for (it.Seek(req.from_room.empty() ? std::string("m") : keys::room_prefix(req.from_room));
       it.Valid() && it.key().starts_with("m");) {
    auto parsed = keys::parse_message_key(view(it.key()));
    if (!parsed)
      break;
    auto room = std::string(parsed->room);
    auto end = keys::room_end(room);
    auto start = first_to_send(it, room, req);
    if (first && room == req.from_room && !req.after_id.empty())
      start = std::max(start, keys::message_key(room, req.after_id) + '\0');
    first = false;
    for (it.Seek(start); it.Valid() && it.key().compare(end) < 0; it.Next()) {
      if (out.messages.size() == req.max) {
        out.done = false;
        out.next_room = room;
        out.next_id = out.messages.back().room == room ? out.messages.back().id : std::string{};
        return out;
      }
      if (auto m = read_message(it.key(), it.value()))
        out.messages.push_back(std::move(*m));
    }
    it.Seek(end);
  }
  return out;
}

std::size_t scan_trim(rocksdb::Iterator& it, const std::string& room, std::size_t keep, rocksdb::WriteBatch& batch) {
  auto prefix = keys::room_prefix(room);
  std::size_t n = 0;
  for (it.SeekForPrev(keys::room_end(room)); it.Valid() && it.key().starts_with(prefix) && n < keep; it.Prev())
    ++n;
  if (!it.Valid() || !it.key().starts_with(prefix))
    return 0;
  auto last_dropped = it.key().ToString();
  std::size_t dropped = 0;
  for (it.Seek(prefix); it.Valid() && it.key().compare(last_dropped) <= 0; it.Next()) {
    if (auto m = read_message(it.key(), it.value()); m && !m->client_id.empty())
      batch.Delete(keys::retry_key(room, m->user, m->client_id));
    batch.Delete(it.key());
    ++dropped;
  }
  return dropped;
}

std::vector<conversation_ref> scan_conversations(rocksdb::Iterator& it, const std::string& user) {
  auto prefix = keys::conversation_prefix(user);
  std::vector<conversation_ref> all;
  for (it.Seek(prefix); it.Valid() && it.key().starts_with(prefix); it.Next())
    all.push_back({it.key().ToString().substr(prefix.size()), it.value().ToString()});
  return all;
}

std::vector<read_mark> scan_read_marks(rocksdb::Iterator& it, const std::string& after_room,
                                       const std::string& after_user, std::size_t max) {
  std::vector<read_mark> out;
  auto from = after_room.empty() ? std::string(1, keys::read_mark_tag) : keys::read_mark_key(after_room, after_user);
  for (it.Seek(from); it.Valid() && out.size() < max; it.Next()) {
    auto parsed = keys::parse_read_mark_key(it.key().ToStringView());
    if (!parsed)
      break; // past the read marks
    if (parsed->first == after_room && parsed->second == after_user)
      continue;
    out.push_back({std::string(parsed->first), std::string(parsed->second), it.value().ToString()});
  }
  return out;
}

std::vector<profile> scan_profiles(rocksdb::Iterator& it, const std::string& after_user, std::size_t max) {
  std::vector<profile> out;
  for (it.Seek(after_user.empty() ? std::string(1, keys::profile_tag) : keys::profile_key(after_user));
       it.Valid() && out.size() < max; it.Next()) {
    auto parts = keys::split_tagged(it.key().ToStringView(), keys::profile_tag);
    if (!parts)
      break; // past the profiles
    profile p;
    p.user = std::string(parts->first);
    if (p.user == after_user || !parts->second.empty() || !keys::decode_profile(it.value().ToStringView(), p))
      continue;
    out.push_back(std::move(p));
  }
  return out;
}

} // namespace chat
