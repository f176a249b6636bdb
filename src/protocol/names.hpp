#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chat::protocol {

/// 1 to 32 characters from [A-Za-z0-9_.-].
bool valid_user(std::string_view s);

/// Longest user name, and longest room name but for direct messages.
constexpr std::size_t max_user_chars = 32;
constexpr std::size_t max_room_chars = 64;

/// 1 to 64 characters from [A-Za-z0-9_.:-]; a name starting with "dm:" only
/// when it is a canonical direct-message room (dm_parties), up to 68.
bool valid_room(std::string_view s);

// -- direct messages (protocol 1.1) --------------------------------------------

/// The conversation of users A and B is the room "dm:A:B", A < B byte-wise.
constexpr std::string_view dm_prefix = "dm:";
/// "dm:" and two user names of the longest length.
constexpr std::size_t max_dm_room_chars = 3 + 2 * max_user_chars + 1;

/// Whether `room` is in the dm: namespace (canonical or not).
bool is_dm_room(std::string_view room);

/// The two users of a canonical DM room, smaller first; nullopt for any other
/// name, non-canonical dm: names included.
std::optional<std::pair<std::string_view, std::string_view>> dm_parties(std::string_view room);

/// The DM room of two different valid users.
std::string dm_room(std::string_view a, std::string_view b);

/// Whether `user` may hold `room`: any user an ordinary room, only its two
/// parties a DM room.
bool may_hold(std::string_view user, std::string_view room);

/// Whether `room` is a DM room of `user`'s own (a token's room list does not
/// restrict these).
bool own_dm_room(std::string_view user, std::string_view room);

/// Number of Unicode code points in valid UTF-8 (continuation bytes skipped).
std::size_t code_points(std::string_view utf8);

/// Splits "a,b,c" on commas; an empty string gives no element.
std::vector<std::string> split_commas(std::string_view s);

} // namespace chat::protocol
