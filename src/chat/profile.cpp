#include "chat/profile.hpp"

#include "protocol/names.hpp"

namespace chat {

std::string profile_fault(const std::string& name, const std::string& status) {
  if (protocol::code_points(name) > max_profile_name_chars)
    return "name: at most " + std::to_string(max_profile_name_chars) + " characters";
  if (protocol::code_points(status) > max_profile_status_chars)
    return "status: at most " + std::to_string(max_profile_status_chars) + " characters";
  return {};
}

} // namespace chat
