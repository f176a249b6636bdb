#pragma once

// Client-to-server frames: parsing and validation of protocol v1.
// Pure functions: no sockets, no actors, so the parser can be unit tested and
// fuzzed on its own.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace chat::protocol {

/// Error codes of the wire protocol, in the order of precedence a frame that
/// is wrong in several ways is judged by.
enum class error_code {
  bad_json,
  bad_request,
  too_large,
  not_subscribed,
  rate_limited,
  too_many_rooms,
  unauthorized,
  forbidden,
  not_found,
  internal,
};

const char* to_string(error_code c);

struct subscribe_req {
  std::vector<std::string> rooms;
  std::map<std::string, std::string> since;
};

struct unsubscribe_req {
  std::vector<std::string> rooms;
};

struct message_req {
  std::string room;
  std::string text;
  std::optional<std::string> client_id;
};

struct typing_req {
  std::string room;
  bool start = false;
};

struct read_req {
  std::string room;
  std::string id;
};

/// Scrollback (protocol 1.1): older messages of a subscribed room.
struct history_req {
  std::string room;
  std::string before;
  std::size_t limit = 50;
};

/// Most messages one scrollback request may ask for.
constexpr std::size_t max_history_limit = 100;

struct ping_req {
  nlohmann::json t;
};

using request = std::variant<subscribe_req, unsubscribe_req, message_req, typing_req, read_req, history_req, ping_req>;

/// A refused frame: the error to send back.
struct wire_error {
  error_code code;
  std::string message;
  /// The request's client_id if it had one, else its type; null when unknown.
  nlohmann::json ref;
};

/// Longest message id a client may name (`read.id`, `since` values): ids the
/// nodes make are about 60 bytes; anything longer names no message.
constexpr std::size_t max_id_bytes = 128;

/// Limits the parser enforces itself (the rest are enforced by their owners).
struct parse_limits {
  std::size_t max_text_chars = 4000;
};

/// Parses one text frame. Checks everything that can be known from the frame
/// alone: JSON syntax, shape, names and text length. Never throws.
std::variant<request, wire_error> parse_request(std::string_view frame, const parse_limits& limits);

/// The `ref` the protocol asks for: client_id when the request had one, else its type.
nlohmann::json ref_of(const request& r);

} // namespace chat::protocol
