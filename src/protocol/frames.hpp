#pragma once

// Server-to-client frames. Each function returns the encoded JSON text, so a
// broadcast frame is built once and its buffer shared by every recipient.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/message.hpp"
#include "protocol/wire.hpp"

namespace chat::protocol {

using frame_ptr = std::shared_ptr<const std::string>;

struct limits_info {
  std::size_t max_frame_bytes;
  std::size_t max_text_chars;
  std::size_t max_rooms;
  double rate_per_s;
  double burst;
  std::size_t max_queue_bytes;
};

/// One DM conversation as a user sees it (protocol 1.1, inbox).
struct conversation {
  std::string room;
  std::string user; ///< the other party
  std::size_t unread = 0;
  message last; ///< the newest message
};

/// The message object as it appears in `message` and inside `history`.
nlohmann::json message_json(const message& m);

std::string welcome_frame(const std::string& node, const std::string& session, const std::string& user,
                          const limits_info& limits);
std::string subscribed_frame(const std::string& room, const std::vector<std::string>& members);
std::string history_frame(const std::string& room, const std::vector<message>& messages, bool gap);
/// The answer to a scrollback request (protocol 1.1).
std::string scrollback_frame(const std::string& room, const std::string& before, const std::vector<message>& messages,
                             bool more);
std::string unsubscribed_frame(const std::string& room);
std::string message_frame(const message& m);
std::string ack_frame(const nlohmann::json& client_id, const std::string& id, std::int64_t ts, const std::string& room);
std::string typing_frame(const std::string& room, const std::string& user, bool start);
std::string read_receipt_frame(const std::string& room, const std::string& user, const std::string& id);
std::string presence_frame(const std::string& room, const std::string& user, bool join);
/// The user's conversations, newest activity first: right after `welcome`.
std::string inbox_frame(const std::vector<conversation>& conversations);
std::string inbox_update_frame(const conversation& c);
std::string pong_frame(const nlohmann::json& t);
std::string error_frame(error_code code, const std::string& message, const nlohmann::json& ref);
std::string notice_frame(const std::string& code, const std::string& message);

/// JSON text that never throws on bad UTF-8 (it is replaced).
std::string dump(const nlohmann::json& j);

} // namespace chat::protocol
