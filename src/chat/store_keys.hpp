#pragma once

// How the on-disk store lays out its keys and values (chat/durable_store.cpp).
//
//   'm' room-length(2) room id          -> ts(8) user text client_id (each length-prefixed)
//   'r' room-length(2) room user-length(2) user client_id -> id    (retry keys)
//   'c' user-length(2) user room        -> id of the room's newest message (a DM conversation of user)
//   'k' room-length(2) room user        -> id (the user's read mark in a DM room)
//   'p' user-length(2) user             -> ts(8) node name status (each length-prefixed; a profile)
//   'v'                                 -> format name and version
//
// A room's messages sort by id, which is history order (an id starts with
// its ts in fixed-width hex), so a room's newest messages are the last keys
// of its prefix and "before an id" is a backwards walk.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "chat/profile.hpp"
#include "protocol/message.hpp"

namespace chat::store_keys {

inline constexpr std::string_view format = "chatd-history 1";
inline constexpr std::string_view version_key = "v";

inline void put_u16(std::string& out, std::size_t n) {
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
}

/// A key kind's tag, then a length-prefixed name: how every kind of key
/// but the version starts.
inline std::string tagged(char tag, std::string_view name) {
  std::string k;
  k.reserve(3 + name.size());
  k.push_back(tag);
  put_u16(k, name.size());
  k.append(name);
  return k;
}

/// The name of a key `tagged` with `tag`, and what follows it; nullopt for
/// a key of another kind.
inline std::optional<std::pair<std::string_view, std::string_view>> split_tagged(std::string_view k, char tag) {
  if (k.size() < 3 || k[0] != tag)
    return std::nullopt;
  auto len = (static_cast<std::size_t>(static_cast<unsigned char>(k[1])) << 8) | static_cast<unsigned char>(k[2]);
  if (k.size() < 3 + len)
    return std::nullopt;
  return std::pair{k.substr(3, len), k.substr(3 + len)};
}

/// Every key of one room's messages starts with this.
inline std::string room_prefix(std::string_view room) { return tagged('m', room); }

/// Sorts after every message key of the room (ids are printable ASCII).
inline std::string room_end(std::string_view room) { return room_prefix(room) + '\xff'; }

inline std::string message_key(std::string_view room, std::string_view id) { return room_prefix(room).append(id); }

/// The first key of a message with this ts or later.
inline std::string ts_key(std::string_view room, std::int64_t ts) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%014llx", static_cast<unsigned long long>(ts < 0 ? 0 : ts));
  return room_prefix(room).append(buf);
}

inline std::string retry_key(std::string_view room, std::string_view user, std::string_view client_id) {
  auto k = tagged('r', room);
  put_u16(k, user.size());
  k.append(user);
  k.append(client_id);
  return k;
}

/// Every key of one user's conversation index starts with this.
inline std::string conversation_prefix(std::string_view user) { return tagged('c', user); }

inline std::string conversation_key(std::string_view user, std::string_view room) {
  return conversation_prefix(user).append(room);
}

inline constexpr char read_mark_tag = 'k';

inline std::string read_mark_key(std::string_view room, std::string_view user) {
  return tagged(read_mark_tag, room).append(user);
}

/// The (room, user) of a read mark key; nullopt for any other key.
inline std::optional<std::pair<std::string_view, std::string_view>> parse_read_mark_key(std::string_view k) {
  return split_tagged(k, read_mark_tag);
}

/// The room and id of a message key; nullopt for any other key.
struct parsed_key {
  std::string_view room;
  std::string_view id;
};

inline std::optional<parsed_key> parse_message_key(std::string_view k) {
  auto parts = split_tagged(k, 'm');
  if (!parts)
    return std::nullopt;
  return parsed_key{parts->first, parts->second};
}

inline void put_field(std::string& out, std::string_view s) {
  auto n = static_cast<std::uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(s);
}

inline void put_u64(std::string& out, std::uint64_t n) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
}

/// Reads what put_u64 wrote at `pos`, and moves past it.
inline bool get_u64(std::string_view v, std::size_t& pos, std::uint64_t& n) {
  if (v.size() < pos + 8)
    return false;
  n = 0;
  for (int i = 0; i < 8; ++i)
    n = (n << 8) | static_cast<unsigned char>(v[pos++]);
  return true;
}

/// Reads what put_field wrote at `pos`, and moves past it.
inline bool get_field(std::string_view v, std::size_t& pos, std::string& out) {
  if (v.size() < pos + 4)
    return false;
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i)
    n = (n << 8) | static_cast<unsigned char>(v[pos++]);
  if (v.size() < pos + n)
    return false;
  out.assign(v.substr(pos, n));
  pos += n;
  return true;
}

inline std::string encode_value(const message& m) {
  std::string v;
  v.reserve(8 + 12 + m.user.size() + m.text.size() + m.client_id.size());
  put_u64(v, static_cast<std::uint64_t>(m.ts));
  put_field(v, m.user);
  put_field(v, m.text);
  put_field(v, m.client_id);
  return v;
}

/// Fills everything but room and id; false for a value this format did not
/// write (a corrupt store).
inline bool decode_value(std::string_view v, message& m) {
  std::size_t pos = 0;
  std::uint64_t ts = 0;
  if (!get_u64(v, pos, ts))
    return false;
  m.ts = static_cast<std::int64_t>(ts);
  for (auto* field : {&m.user, &m.text, &m.client_id})
    if (!get_field(v, pos, *field))
      return false;
  return pos == v.size();
}

inline constexpr char profile_tag = 'p';

inline std::string profile_key(std::string_view user) { return tagged(profile_tag, user); }

inline std::string encode_profile(const profile& p) {
  std::string v;
  put_u64(v, static_cast<std::uint64_t>(p.ts));
  put_field(v, p.node);
  put_field(v, p.name);
  put_field(v, p.status);
  return v;
}

/// Fills everything but the user; false for a value this format did not write.
inline bool decode_profile(std::string_view v, profile& p) {
  std::size_t pos = 0;
  std::uint64_t ts = 0;
  if (!get_u64(v, pos, ts))
    return false;
  p.ts = static_cast<std::int64_t>(ts);
  for (auto* field : {&p.node, &p.name, &p.status})
    if (!get_field(v, pos, *field))
      return false;
  return pos == v.size();
}

} // namespace chat::store_keys
