#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chat::protocol {

/// 1 to 32 characters from [A-Za-z0-9_.-].
bool valid_user(std::string_view s);

/// 1 to 64 characters from [A-Za-z0-9_.:-].
bool valid_room(std::string_view s);

/// Number of Unicode code points in valid UTF-8 (continuation bytes skipped).
std::size_t code_points(std::string_view utf8);

/// Splits "a,b,c" on commas; an empty string gives no element.
std::vector<std::string> split_commas(std::string_view s);

} // namespace chat::protocol
