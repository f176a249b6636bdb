#include "protocol/frames.hpp"

#include "protocol/time_format.hpp"

namespace chat::protocol {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json message_json(const message& m) {
  return {{"room", m.room}, {"id", m.id}, {"user", m.user}, {"text", m.text}, {"ts", format_ts(m.ts)}};
}

std::string welcome_frame(const std::string& node, const std::string& session, const std::string& user,
                          const limits_info& l) {
  return dump({{"type", "welcome"},
               {"node", node},
               {"session", session},
               {"user", user},
               {"protocol", 1},
               {"features", json::array({"scrollback", "dm"})},
               {"limits",
                {{"max_frame_bytes", l.max_frame_bytes},
                 {"max_text_chars", l.max_text_chars},
                 {"max_rooms", l.max_rooms},
                 {"rate_per_s", l.rate_per_s},
                 {"burst", l.burst},
                 {"max_queue_bytes", l.max_queue_bytes}}}});
}

std::string subscribed_frame(const std::string& room, const std::vector<std::string>& members) {
  return dump({{"type", "subscribed"}, {"room", room}, {"members", members}});
}

std::string history_frame(const std::string& room, const std::vector<message>& messages, bool gap) {
  json arr = json::array();
  for (const auto& m : messages)
    arr.push_back(message_json(m));
  return dump({{"type", "history"}, {"room", room}, {"messages", std::move(arr)}, {"gap", gap}});
}

std::string scrollback_frame(const std::string& room, const std::string& before, const std::vector<message>& messages,
                             bool more) {
  json arr = json::array();
  for (const auto& m : messages)
    arr.push_back(message_json(m));
  return dump({{"type", "history"}, {"room", room}, {"before", before}, {"messages", std::move(arr)}, {"more", more}});
}

namespace {

json conversation_json(const conversation& c) {
  return {{"room", c.room}, {"user", c.user}, {"unread", c.unread}, {"last", message_json(c.last)}};
}

} // namespace

std::string inbox_frame(const std::vector<conversation>& conversations) {
  json arr = json::array();
  for (const auto& c : conversations)
    arr.push_back(conversation_json(c));
  return dump({{"type", "inbox"}, {"conversations", std::move(arr)}});
}

std::string inbox_update_frame(const conversation& c) {
  return dump({{"type", "inbox_update"}, {"conversation", conversation_json(c)}});
}

std::string unsubscribed_frame(const std::string& room) { return dump({{"type", "unsubscribed"}, {"room", room}}); }

std::string message_frame(const message& m) {
  auto j = message_json(m);
  j["type"] = "message";
  return dump(j);
}

std::string ack_frame(const json& client_id, const std::string& id, std::int64_t ts, const std::string& room) {
  return dump({{"type", "ack"}, {"client_id", client_id}, {"id", id}, {"ts", format_ts(ts)}, {"room", room}});
}

std::string typing_frame(const std::string& room, const std::string& user, bool start) {
  return dump({{"type", "typing"}, {"room", room}, {"user", user}, {"state", start ? "start" : "stop"}});
}

std::string read_receipt_frame(const std::string& room, const std::string& user, const std::string& id) {
  return dump({{"type", "read_receipt"}, {"room", room}, {"user", user}, {"id", id}});
}

std::string presence_frame(const std::string& room, const std::string& user, bool join) {
  return dump({{"type", "presence"}, {"room", room}, {"user", user}, {"state", join ? "join" : "leave"}});
}

std::string pong_frame(const json& t) { return dump({{"type", "pong"}, {"t", t}}); }

std::string error_frame(error_code code, const std::string& message, const json& ref) {
  return dump({{"type", "error"}, {"code", to_string(code)}, {"message", message}, {"ref", ref}});
}

std::string notice_frame(const std::string& code, const std::string& message) {
  return dump({{"type", "server_notice"}, {"code", code}, {"message", message}});
}

} // namespace chat::protocol
