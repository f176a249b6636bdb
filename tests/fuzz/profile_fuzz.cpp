// The body of PUT /api/users/USER/profile: parse_profile_body never throws;
// what it accepts is a JSON object whose fields it read as they are, within
// their bounds, and written back as JSON it reads the same again; what it
// refuses has one of the three documented codes and an error body that is
// valid JSON, and bad_json exactly when the body is not JSON.

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/profile.hpp"
#include "fuzz_check.hpp"
#include "protocol/frames.hpp"
#include "protocol/names.hpp"

using namespace chat;
using nlohmann::json;

namespace {

/// The field as the route must read it, by a second road: "" when left out
/// or null, the string itself otherwise.
std::string field_of(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it == doc.end() || it->is_null() ? std::string{} : it->get<std::string>();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto read = parse_profile_body(body);
  bool is_json = json::accept(body);

  if (!read.error.empty()) {
    FUZZ_CHECK(read.error == "bad_json" || read.error == "bad_request" || read.error == "too_large");
    FUZZ_CHECK((read.error == "bad_json") == !is_json);
    FUZZ_CHECK(!read.message.empty());
    FUZZ_CHECK(read.name.empty() && read.status.empty()); // nothing half-read is handed on
    // The answer's body (json_error): JSON whatever the input held.
    FUZZ_CHECK(json::accept(protocol::dump({{"error", read.error}, {"message", read.message}})));
    return 0;
  }

  FUZZ_CHECK(is_json);
  auto doc = json::parse(body);
  FUZZ_CHECK(doc.is_object());
  FUZZ_CHECK(read.message.empty());
  FUZZ_CHECK(read.name == field_of(doc, "name"));
  FUZZ_CHECK(read.status == field_of(doc, "status"));
  FUZZ_CHECK(protocol::code_points(read.name) <= max_profile_name_chars);
  FUZZ_CHECK(protocol::code_points(read.status) <= max_profile_status_chars);
  FUZZ_CHECK(profile_fault(read.name, read.status).empty());

  // What the node stores and answers (profile_json) is JSON that reads back
  // the same: the fields came through the JSON parser as valid UTF-8.
  auto answer = protocol::dump({{"user", "ann"}, {"name", read.name}, {"status", read.status}, {"updated", nullptr}});
  auto back = parse_profile_body(answer);
  FUZZ_CHECK(back.error.empty());
  FUZZ_CHECK(back.name == read.name);
  FUZZ_CHECK(back.status == read.status);
  return 0;
}
