#include "chat/profile.hpp"

#include <nlohmann/json.hpp>

#include "protocol/names.hpp"

namespace chat {

std::string profile_fault(const std::string& name, const std::string& status) {
  if (protocol::code_points(name) > max_profile_name_chars)
    return "name: at most " + std::to_string(max_profile_name_chars) + " characters";
  if (protocol::code_points(status) > max_profile_status_chars)
    return "status: at most " + std::to_string(max_profile_status_chars) + " characters";
  return {};
}

profile_body parse_profile_body(std::string_view body) {
  profile_body out;
  auto refuse = [&](const char* code, std::string message) {
    out = profile_body{};
    out.error = code;
    out.message = std::move(message);
    return out;
  };
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded())
    return refuse("bad_json", "the body is not valid JSON");
  if (!doc.is_object())
    return refuse("bad_request", "the body must be a JSON object");
  for (auto [key, field] : {std::pair{"name", &out.name}, std::pair{"status", &out.status}}) {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null())
      continue;
    if (!it->is_string())
      return refuse("bad_request", std::string(key) + " must be a string");
    *field = it->get<std::string>();
  }
  if (auto fault = profile_fault(out.name, out.status); !fault.empty())
    return refuse("too_large", fault);
  return out;
}

} // namespace chat
