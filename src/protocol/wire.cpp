#include "protocol/wire.hpp"

#include "protocol/names.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace chat::protocol {

using nlohmann::json;

const char* to_string(error_code c) {
  switch (c) {
  case error_code::bad_json: return "bad_json";
  case error_code::bad_request: return "bad_request";
  case error_code::too_large: return "too_large";
  case error_code::not_subscribed: return "not_subscribed";
  case error_code::rate_limited: return "rate_limited";
  case error_code::too_many_rooms: return "too_many_rooms";
  case error_code::unauthorized: return "unauthorized";
  case error_code::forbidden: return "forbidden";
  case error_code::not_found: return "not_found";
  case error_code::internal: return "internal";
  }
  return "internal";
}

namespace {

// Deeper nesting has no meaning in protocol v1 and only costs stack.
constexpr int max_depth = 32;

/// Follows a scan of JSON text in and out of string literals.
class string_tracker {
public:
  /// True when `c` stands outside every string (quotes count as inside).
  bool outside(char c) {
    if (in_string_) {
      if (escaped_)
        escaped_ = false;
      else if (c == '\\')
        escaped_ = true;
      else if (c == '"')
        in_string_ = false;
      return false;
    }
    if (c == '"') {
      in_string_ = true;
      return false;
    }
    return true;
  }

private:
  bool in_string_ = false;
  bool escaped_ = false;
};

bool too_deep(std::string_view s) {
  int depth = 0;
  string_tracker strings;
  for (char c : s) {
    if (!strings.outside(c))
      continue;
    if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

/// Length of the JSON number grammar's match at the start of `s` (0: none).
std::size_t number_length(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    auto start = i;
    while (i < s.size() && digit(s[i]))
      ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-')
    ++i;
  if (i < s.size() && s[i] == '0')
    ++i;
  else if (!digits())
    return 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits())
      return 0;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-'))
      ++i;
    if (!digits())
      return 0;
  }
  return i;
}

// JSON puts no bound on numbers, but nlohmann refuses those beyond a double
// ("number overflow"). Such a frame is valid JSON, so instead of bad_json each
// of those numbers saturates to the largest finite double of its sign. Only
// frames that failed to parse pay for this scan.
std::optional<std::string> saturate_huge_numbers(std::string_view s) {
  std::string out;
  bool changed = false;
  string_tracker strings;
  std::size_t copied = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!strings.outside(c) || (c != '-' && !digit(c)))
      continue;
    auto n = number_length(s.substr(i));
    if (n == 0)
      return std::nullopt;
    std::string token(s.substr(i, n));
    errno = 0;
    double v = std::strtod(token.c_str(), nullptr);
    if (errno == ERANGE && (v > 1.0 || v < -1.0)) {
      out.append(s.substr(copied, i - copied));
      out += token[0] == '-' ? "-1.7976931348623157e308" : "1.7976931348623157e308";
      copied = i + n;
      changed = true;
    }
    i += n - 1;
  }
  if (!changed)
    return std::nullopt;
  out.append(s.substr(copied));
  return out;
}

struct refusal {
  error_code code;
  std::string message;
};

// Field readers throw `refusal`; parse_request turns it into a wire_error
// carrying the right ref.

const json& field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end())
    throw refusal{error_code::bad_request, std::string("missing field '") + name + "'"};
  return *it;
}

std::string string_field(const json& obj, const char* name) {
  const auto& v = field(obj, name);
  if (!v.is_string())
    throw refusal{error_code::bad_request, std::string("field '") + name + "' must be a string"};
  return v.get<std::string>();
}

bool valid_id(const std::string& id) { return !id.empty() && id.size() <= max_id_bytes; }

std::string room_field(const json& obj) {
  auto room = string_field(obj, "room");
  if (!valid_room(room))
    throw refusal{error_code::bad_request, "invalid room name '" + room + "'"};
  return room;
}

std::vector<std::string> rooms_field(const json& obj) {
  const auto& v = field(obj, "rooms");
  if (!v.is_array())
    throw refusal{error_code::bad_request, "field 'rooms' must be an array of room names"};
  std::vector<std::string> rooms;
  for (const auto& r : v) {
    if (!r.is_string() || !valid_room(r.get_ref<const std::string&>()))
      throw refusal{error_code::bad_request, "invalid room name in 'rooms': " + r.dump()};
    const auto& name = r.get_ref<const std::string&>();
    if (std::find(rooms.begin(), rooms.end(), name) == rooms.end())
      rooms.push_back(name);
  }
  return rooms;
}

subscribe_req parse_subscribe(const json& obj) {
  subscribe_req req;
  req.rooms = rooms_field(obj);
  if (auto it = obj.find("since"); it != obj.end() && !it->is_null()) {
    if (!it->is_object())
      throw refusal{error_code::bad_request, "field 'since' must be an object of room to message id"};
    for (const auto& [room, id] : it->items()) {
      if (!valid_room(room) || !id.is_string() || !valid_id(id.get_ref<const std::string&>()))
        throw refusal{error_code::bad_request, "invalid 'since' entry for '" + room + "'"};
      req.since.emplace(room, id.get<std::string>());
    }
  }
  return req;
}

message_req parse_message(const json& obj, const parse_limits& limits) {
  message_req req;
  req.room = room_field(obj);
  req.text = string_field(obj, "text");
  if (req.text.empty())
    throw refusal{error_code::bad_request, "field 'text' must not be empty"};
  if (code_points(req.text) > limits.max_text_chars)
    throw refusal{error_code::too_large, "text longer than " + std::to_string(limits.max_text_chars) + " characters"};
  return req;
}

typing_req parse_typing(const json& obj) {
  typing_req req;
  req.room = room_field(obj);
  auto state = string_field(obj, "state");
  if (state != "start" && state != "stop")
    throw refusal{error_code::bad_request, "field 'state' must be \"start\" or \"stop\""};
  req.start = state == "start";
  return req;
}

read_req parse_read(const json& obj) {
  read_req req;
  req.room = room_field(obj);
  req.id = string_field(obj, "id");
  if (!valid_id(req.id))
    throw refusal{error_code::bad_request,
                  "field 'id' must be a message id of 1 to " + std::to_string(max_id_bytes) + " bytes"};
  return req;
}

history_req parse_history(const json& obj) {
  history_req req;
  req.room = room_field(obj);
  req.before = string_field(obj, "before");
  if (!valid_id(req.before))
    throw refusal{error_code::bad_request,
                  "field 'before' must be a message id of 1 to " + std::to_string(max_id_bytes) + " bytes"};
  if (auto it = obj.find("limit"); it != obj.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1
        || it->get<std::int64_t>() > static_cast<std::int64_t>(max_history_limit))
      throw refusal{error_code::bad_request,
                    "field 'limit' must be an integer from 1 to " + std::to_string(max_history_limit)};
    req.limit = it->get<std::size_t>();
  }
  return req;
}

} // namespace

std::variant<request, wire_error> parse_request(std::string_view frame, const parse_limits& limits) {
  // accept() parses without building anything and without recursion, so
  // syntax is judged first and deep nesting costs no stack.
  std::optional<std::string> saturated;
  if (!json::accept(frame.begin(), frame.end())) {
    saturated = saturate_huge_numbers(frame);
    if (!saturated || !json::accept(saturated->begin(), saturated->end()))
      return wire_error{error_code::bad_json, "frame is not valid JSON", nullptr};
    frame = *saturated;
  }
  if (too_deep(frame))
    return wire_error{error_code::bad_request, "JSON nested too deeply", nullptr};
  json obj = json::parse(frame.begin(), frame.end(), nullptr, false);
  if (obj.is_discarded())
    return wire_error{error_code::bad_json, "frame is not valid JSON", nullptr};
  if (!obj.is_object())
    return wire_error{error_code::bad_request, "frame must be a JSON object", nullptr};
  auto type_it = obj.find("type");
  if (type_it == obj.end() || !type_it->is_string())
    return wire_error{error_code::bad_request, "missing or non-string 'type'", nullptr};
  const auto& type = type_it->get_ref<const std::string&>();
  json ref = type;
  try {
    if (type == "message") {
      // A retry is identified by client_id, so it is checked before anything
      // else: every later refusal can then name it in `ref`.
      std::optional<std::string> client_id;
      if (auto it = obj.find("client_id"); it != obj.end() && !it->is_null()) {
        if (!it->is_string() || code_points(it->get_ref<const std::string&>()) > 64
            || it->get_ref<const std::string&>().empty())
          throw refusal{error_code::bad_request, "field 'client_id' must be a string of 1 to 64 characters"};
        client_id = it->get<std::string>();
        ref = *client_id;
      }
      auto req = parse_message(obj, limits);
      req.client_id = std::move(client_id);
      return request{std::move(req)};
    }
    if (type == "subscribe")
      return request{parse_subscribe(obj)};
    if (type == "unsubscribe")
      return request{unsubscribe_req{rooms_field(obj)}};
    if (type == "typing")
      return request{parse_typing(obj)};
    if (type == "read")
      return request{parse_read(obj)};
    if (type == "history")
      return request{parse_history(obj)};
    if (type == "ping") {
      auto it = obj.find("t");
      return request{ping_req{it == obj.end() ? json(nullptr) : *it}};
    }
    return wire_error{error_code::bad_request, "unknown type '" + type + "'", ref};
  } catch (const refusal& r) { return wire_error{r.code, r.message, ref}; } catch (const json::exception& e) {
    return wire_error{error_code::bad_request, e.what(), ref};
  }
}

json ref_of(const request& r) {
  struct visitor {
    json operator()(const subscribe_req&) const { return "subscribe"; }
    json operator()(const unsubscribe_req&) const { return "unsubscribe"; }
    json operator()(const message_req& m) const { return m.client_id ? json(*m.client_id) : json("message"); }
    json operator()(const typing_req&) const { return "typing"; }
    json operator()(const read_req&) const { return "read"; }
    json operator()(const history_req&) const { return "history"; }
    json operator()(const ping_req&) const { return "ping"; }
  };
  return std::visit(visitor{}, r);
}

} // namespace chat::protocol
