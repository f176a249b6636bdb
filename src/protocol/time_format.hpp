#pragma once

#include <cstdint>
#include <string>

namespace chat::protocol {

/// Microseconds since the Unix epoch as RFC 3339 UTC, e.g.
/// "2025-11-19T12:41:14.139022Z".
std::string format_ts(std::int64_t micros);

} // namespace chat::protocol
